/**
 * The response cache on its own, with a fake clock: time to live, Age,
 * coalescing, invalidation, configuration versions, bypass and the byte
 * bound. `tests/http/tab_cache_test.ts` runs it behind real plugin processes.
 */
import assert from "node:assert/strict";
import { type CacheScope, TabCache } from "../core/tab_cache.ts";

const NODE: CacheScope = { node: "node-1", version: "v1" };

function fakeClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

/** A load that counts its calls and answers `value-<n>`. */
function counter() {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    load: () => Promise.resolve(`value-${++calls}`),
  };
}

/** A load held until `resolve` or `reject` is called. */
function deferred<T>() {
  let calls = 0;
  const { promise, resolve, reject } = Promise.withResolvers<T>();
  return {
    promise,
    resolve,
    reject,
    get calls() {
      return calls;
    },
    load: () => (calls++, promise),
  };
}

Deno.test("TabCache.read() answers from the entry within the TTL, with its age, and calls again after it", async () => {
  const clock = fakeClock();
  const cache = new TabCache({ ttlMs: 30_000, maxBytes: 1024, clock: clock.now });
  const upstream = counter();
  assert.deepEqual(await cache.read(NODE, "k", upstream.load), { value: "value-1", hit: false, ageSeconds: 0 });
  clock.advance(2_500);
  assert.deepEqual(await cache.read(NODE, "k", upstream.load), { value: "value-1", hit: true, ageSeconds: 2 });
  clock.advance(27_499);
  assert.equal((await cache.read(NODE, "k", upstream.load)).ageSeconds, 29);
  clock.advance(1);
  assert.deepEqual(await cache.read(NODE, "k", upstream.load), { value: "value-2", hit: false, ageSeconds: 0 });
  assert.equal(upstream.calls, 2);
  assert.deepEqual(
    { hits: cache.stats.hits, misses: cache.stats.misses, entries: cache.stats.entries },
    { hits: 2, misses: 2, entries: 1 },
  );
});

Deno.test("TabCache.read() lets the manifest's TTL lower the operator's, never raise it", async () => {
  const clock = fakeClock();
  const cache = new TabCache({ ttlMs: 10_000, maxBytes: 1024, clock: clock.now });
  const upstream = counter();
  const short = { ...NODE, ttlMs: 1_000 };
  await cache.read(short, "k", upstream.load);
  clock.advance(999);
  assert.equal((await cache.read(short, "k", upstream.load)).hit, true);
  clock.advance(1);
  assert.equal((await cache.read(short, "k", upstream.load)).hit, false);

  const long = { node: "node-2", version: "v1", ttlMs: 60_000 };
  await cache.read(long, "k", upstream.load);
  clock.advance(10_000);
  assert.equal((await cache.read(long, "k", upstream.load)).hit, false, "the operator's 10 s still bound it");
});

Deno.test("TabCache.read() makes one call for concurrent misses of one key, and stores no failure", async () => {
  const cache = new TabCache({ ttlMs: 30_000, maxBytes: 1024, clock: fakeClock().now });
  const held = deferred<string>();
  const reads = Array.from({ length: 10 }, () => cache.read(NODE, "k", held.load));
  const other = cache.read(NODE, "other key", held.load);
  held.resolve("shared");
  const answers = await Promise.all(reads);
  assert.equal(held.calls, 2, "one call for the ten reads of k, one for the other key");
  assert.ok(answers.every((a) => a.value === "shared" && a.hit === false));
  assert.equal((await other).value, "shared");
  assert.equal(cache.stats.coalesced, 9);

  const failing = deferred<string>();
  const failed = Array.from({ length: 3 }, () => cache.read(NODE, "bad", failing.load));
  failing.reject(new Error("upstream down"));
  for (const read of failed) await assert.rejects(read, /upstream down/);
  assert.equal(failing.calls, 1);
  const after = counter();
  assert.equal((await cache.read(NODE, "bad", after.load)).value, "value-1", "the failure was not stored");
});

Deno.test("TabCache.invalidate() drops a node's entries, and a read in flight across it stores nothing", async () => {
  const cache = new TabCache({ ttlMs: 30_000, maxBytes: 4096, clock: fakeClock().now });
  const upstream = counter();
  const neighbour = { node: "node-2", version: "v1" };
  await cache.read(NODE, "a", upstream.load);
  await cache.read(neighbour, "a", upstream.load);
  cache.invalidate(NODE.node);
  assert.equal((await cache.read(NODE, "a", upstream.load)).hit, false);
  assert.equal((await cache.read(neighbour, "a", upstream.load)).hit, true, "other nodes keep theirs");

  const before = deferred<string>();
  const started = cache.read(NODE, "b", before.load);
  cache.invalidate(NODE.node); // a write lands while the read is in flight
  const fresh = counter();
  const later = await cache.read(NODE, "b", fresh.load);
  assert.deepEqual([later.value, later.hit], ["value-1", false], "a read after the write does not join the old call");
  before.resolve("pre-write");
  assert.equal((await started).value, "pre-write");
  assert.equal((await cache.read(NODE, "b", fresh.load)).value, "value-1", "the pre-write answer was not stored");
  assert.ok(cache.stats.invalidations >= 1);
});

Deno.test("TabCache.read() under a new configuration version drops the node's old entries", async () => {
  const cache = new TabCache({ ttlMs: 30_000, maxBytes: 4096, clock: fakeClock().now });
  const upstream = counter();
  await cache.read(NODE, "k", upstream.load);
  assert.equal(cache.stats.entries, 1);
  const changed = { ...NODE, version: "v2" };
  assert.deepEqual(await cache.read(changed, "k", upstream.load), { value: "value-2", hit: false, ageSeconds: 0 });
  assert.equal(cache.stats.entries, 1, "the v1 entry is gone, not just shadowed");
  assert.equal((await cache.read(changed, "k", upstream.load)).hit, true);
});

Deno.test("TabCache.read() with bypass calls the plugin and stores its fresh answer", async () => {
  const cache = new TabCache({ ttlMs: 30_000, maxBytes: 4096, clock: fakeClock().now });
  const upstream = counter();
  await cache.read(NODE, "k", upstream.load);
  const bypassed = await cache.read(NODE, "k", upstream.load, { bypass: true });
  assert.deepEqual(bypassed, { value: "value-2", hit: false, ageSeconds: 0 });
  assert.deepEqual(await cache.read(NODE, "k", upstream.load), { value: "value-2", hit: true, ageSeconds: 0 });
  assert.equal(cache.stats.bypasses, 1);
});

Deno.test("TabCache keeps its entries within the byte bound, evicting the least recently used", async () => {
  // Each entry is its key ("node-1\n" + 1 character) plus its JSON text (102 characters): 110 bytes.
  const cache = new TabCache({ ttlMs: 30_000, maxBytes: 350, clock: fakeClock().now });
  const value = (name: string) => () => Promise.resolve(name.repeat(100));
  await cache.read(NODE, "a", value("a"));
  await cache.read(NODE, "b", value("b"));
  await cache.read(NODE, "c", value("c"));
  assert.deepEqual([cache.stats.entries, cache.stats.bytes], [3, 330]);
  assert.equal((await cache.read(NODE, "a", value("x"))).hit, true); // a is now the most recently used
  await cache.read(NODE, "d", value("d"));
  assert.deepEqual([cache.stats.entries, cache.stats.bytes, cache.stats.evictions], [3, 330, 1]);
  assert.equal((await cache.read(NODE, "b", value("B"))).value, "B".repeat(100), "b, least recently used, went");
  assert.equal((await cache.read(NODE, "a", value("x"))).hit, true, "a, used recently, stayed");
  assert.equal((await cache.read(NODE, "c", value("C"))).hit, false, "c made room for b");
  assert.ok(cache.stats.bytes <= 350);

  const tiny = new TabCache({ ttlMs: 30_000, maxBytes: 50, clock: fakeClock().now });
  await tiny.read(NODE, "big", value("z"));
  assert.deepEqual([tiny.stats.entries, tiny.stats.bytes], [0, 0], "an entry larger than the bound is not kept");
});

Deno.test("TabCache with a TTL or bound of 0 calls every time and keeps nothing", async () => {
  for (const options of [{ ttlMs: 0, maxBytes: 1024 }, { ttlMs: 30_000, maxBytes: 0 }]) {
    const cache = new TabCache(options);
    const upstream = counter();
    await cache.read(NODE, "k", upstream.load);
    await cache.read(NODE, "k", upstream.load);
    assert.equal(upstream.calls, 2);
    assert.equal(cache.enabled, false);
    assert.equal(cache.stats.entries, 0);
  }
  assert.throws(() => new TabCache({ ttlMs: -1, maxBytes: 1 }), RangeError);
});
