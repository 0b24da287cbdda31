import assert from "node:assert/strict";
import { seedWalkthrough } from "../support/seed.ts";
import { startTestApp } from "../support/test_app.ts";

Deno.test("GET …/configuration waits in the node's queue when busy; a full queue answers 503 with Retry-After", async () => {
  await using app = await startTestApp({
    env: {
      // One process taking one call at a time, three calls waiting; no response cache in the way.
      IMBI_PLUGIN_PROCESSES_MAX: "1",
      IMBI_PLUGIN_MAX_CONCURRENT: "1",
      IMBI_PLUGIN_QUEUE_MAX: "3",
      IMBI_TAB_CACHE_TTL_MS: "0",
    },
  });
  const seed = await seedWalkthrough(app, { configOptions: { seed: { GREETING: "hello" }, latency_ms: 800 } });
  const path = `/orgs/${seed.org}/projects/${seed.projectId}/configuration`;
  const node = () => app.services.runtime.pool.list()[0]!.stats;
  assert.equal((await app.request("GET", path)).status, 200, "warm-up");
  // A tab read makes two calls (listKeys, describePrefix). The first request's listKeys holds the one process for
  // 800 ms; its describePrefix and both calls of the second request wait: the queue is full.
  const running = app.request("GET", path);
  const waiting = app.request("GET", path);
  const started = performance.now();
  while (node().queued < 3) {
    assert.ok(performance.now() - started < 10_000, `the calls never queued: ${JSON.stringify(node())}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.equal(node().inFlight, 1);
  const refused = await app.request("GET", path);
  assert.equal(refused.status, 503, refused.text);
  assert.equal(refused.headers.get("content-type"), "application/problem+json");
  assert.equal(refused.headers.get("retry-after"), "1");
  assert.equal(refused.body.type, "https://imbi.dev/problems/plugin-saturated");
  assert.match(refused.body.detail, /1 calls in flight and 3 waiting \(queue limit 3\)/);
  for (const response of await Promise.all([running, waiting])) {
    assert.equal(response.status, 200, response.text);
    assert.equal(response.body.items[0].key, "GREETING");
  }
  assert.ok(node().queueFull >= 1);
  assert.equal(node().processes.length, 1);
});
