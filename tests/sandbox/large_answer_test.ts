import assert from "node:assert/strict";
import { setLogSink } from "../../core/logger.ts";
import type { SupervisorEvent } from "../../core/sandbox/stats.ts";
import { Supervisor } from "../../core/sandbox/supervisor.ts";
import { answerWorkerRunning } from "../../core/sandbox/large_frames.ts";
import { EncodedList, MASKED_VALUE } from "../../core/encoded_list.ts";
import { parseConfigValues } from "@imbi/plugin-sdk";
import { bundleFixtures } from "../support/bundle_fixture.ts";
import { testContext, testInit } from "../support/sandbox_harness.ts";

const FIXTURES = new URL("../fixtures/sandbox/", import.meta.url);

/** Items of about 110 bytes: 110 000 of them make a frame of about 12 MB. */
const ITEMS = 110_000;

Deno.test("a 12 MB answer from one node does not hold up another node's calls while it is handled", async () => {
  await using bundles = await bundleFixtures(FIXTURES, ["good"]);
  const previousSink = setLogSink(() => {});
  const events: { event: SupervisorEvent; at: number }[] = [];
  const make = (nodeId: string) =>
    new Supervisor({
      nodeId,
      bundlePath: bundles.path("good"),
      entry: "sandbox-good",
      netHosts: [],
      init: testInit("sandbox-good"),
      timeoutMs: 60_000,
    }, { onEvent: (event) => events.push({ event, at: performance.now() }) });
  const large = make("large-node");
  const small = make("small-node");
  const call = (supervisor: Supervisor, keys: string[]) =>
    supervisor.call("getValues", [testContext(), keys], { requestId: "r" }) as Promise<{ key: string }[]>;
  try {
    await Promise.all([call(large, ["pid"]), call(small, ["pid"])]);
    let largeDone = Infinity;
    const answer = call(large, ["many", String(ITEMS)]).finally(() => (largeDone = performance.now()));
    // The other node keeps calling, one call after another, until the large answer is in.
    const finished: number[] = [];
    while (largeDone === Infinity) {
      await call(small, ["pid"]);
      finished.push(performance.now());
    }
    const items = await answer;
    assert.equal(items.length, ITEMS);
    assert.equal(items[ITEMS - 1]!.key, `key-${ITEMS - 1}`);
    const arrived = events.find((e) => e.event.type === "large_answer" && e.event.nodeId === "large-node");
    assert.ok(arrived, "the 12 MB frame was parsed in slices");
    assert.ok(arrived.event.type === "large_answer" && arrived.event.bytes > 10_000_000);
    // The ordering that matters: calls of the other node finished after the large frame had arrived and
    // before its parse was over. A parse that held the event loop would leave none in between.
    const during = finished.filter((at) => at > arrived.at && at < largeDone);
    assert.ok(
      during.length >= 1,
      `no call of the other node finished during the ${Math.round(largeDone - arrived.at)} ms parse`,
    );
  } finally {
    await Promise.all([large.close(), small.close()]);
    setLogSink(previousSink);
  }
});

Deno.test("a credential inside a large answer is redacted by the host, on the answer worker's thread", async () => {
  const token = `tok-${crypto.randomUUID()}`;
  await using node = await goodNode(token);
  // About 2.2 MB: above the frame size the answer worker handles.
  const count = 20_000;
  const items = await node.supervisor.call("getValues", [testContext(), ["many_leaky", String(count)]], {
    requestId: "r",
  }) as { key: string; value: string }[];
  assert.equal(items.length, count);
  const leak = items[count >> 1]!;
  assert.equal(leak.key, "leak");
  assert.equal(leak.value, "token [redacted] inside");
  assert.ok(!JSON.stringify(items).includes(token), "the token is nowhere in the answer");
  assert.equal(items[count - 1]!.key, `key-${count - 1}`, "the rest is as the plugin sent it");
});

/** A node of the `good` fixture, with a token to redact. */
async function goodNode(token: string) {
  const bundles = await bundleFixtures(FIXTURES, ["good"]);
  const previousSink = setLogSink(() => {});
  const supervisor = new Supervisor({
    nodeId: "encoded-node",
    bundlePath: bundles.path("good"),
    entry: "sandbox-good",
    netHosts: [],
    init: testInit("sandbox-good", { token }),
    timeoutMs: 60_000,
  });
  return {
    supervisor,
    async [Symbol.asyncDispose]() {
      await supervisor.close();
      await bundles[Symbol.asyncDispose]();
      setLogSink(previousSink);
    },
  };
}

const decoded = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes));

Deno.test("a large list answer a call takes encoded comes back checked and serialised by the answer worker", async () => {
  const token = `tok-${crypto.randomUUID()}`;
  await using node = await goodNode(token);
  const count = 20_000; // about 2.2 MB
  const args = [testContext(), ["many_leaky", String(count)]];
  const plain = parseConfigValues(await node.supervisor.call("getValues", args, { requestId: "plain" }));
  const encode = { method: "getValues", secretTypes: [] } as const;
  const encoded = await node.supervisor.call("getValues", args, { requestId: "encoded", encode });
  assert.ok(encoded instanceof EncodedList, "a list of megabytes comes back encoded");
  assert.equal(answerWorkerRunning(), true);
  assert.equal(encoded.method, "getValues");
  assert.equal(encoded.length, count);
  assert.deepEqual(decoded(encoded.json), plain, "the same items as the main thread's check gives, in order");
  assert.equal(new TextDecoder().decode(encoded.json), JSON.stringify(plain), "and the same JSON text");
  assert.ok(!new TextDecoder().decode(encoded.json).includes(token), "the token was redacted before the parse");
  assert.equal(encoded.masked, null, "nothing secret, no masked copy");
  assert.equal(encoded.shown(false), encoded);

  const small = await node.supervisor.call("getValues", [testContext(), ["many", "10"]], {
    requestId: "small",
    encode,
  });
  assert.ok(Array.isArray(small), "a short answer stays a plain list");
  assert.equal(small.length, 10);
});

Deno.test("an encoded list carries a masked copy made by the manifest's secret types", async () => {
  await using node = await goodNode(`tok-${crypto.randomUUID()}`);
  const encoded = await node.supervisor.call("getValues", [testContext(), ["many", "20000"]], {
    requestId: "r",
    encode: { method: "getValues", secretTypes: ["string"] },
  });
  assert.ok(encoded instanceof EncodedList && encoded.masked !== null);
  const shown = decoded(encoded.shown(false).json) as { key: string; value: string; masked?: true }[];
  assert.equal(shown.length, 20_000);
  assert.ok(shown.every((item) => item.value === MASKED_VALUE && item.masked === true), "every value masked");
  assert.equal(decoded(encoded.shown(true).json)[1].value, `value-1-${"v".repeat(32)}`, "the admin sees values");
});

Deno.test("a large list answer that breaks the protocol is not encoded, so its check names the bad item as always", async () => {
  await using node = await goodNode(`tok-${crypto.randomUUID()}`);
  const answer = await node.supervisor.call("getValues", [testContext(), ["many_bad", "20000"]], {
    requestId: "r",
    encode: { method: "getValues", secretTypes: [] },
  });
  assert.ok(Array.isArray(answer), "handed back as the plain list");
  assert.throws(() => parseConfigValues(answer), /\[10000\]\.data_type/);
});

Deno.test("the answer worker stops when the last process that used it has closed", async () => {
  {
    await using node = await goodNode(`tok-${crypto.randomUUID()}`);
    await node.supervisor.call("getValues", [testContext(), ["many", "20000"]], { requestId: "r" });
    assert.equal(answerWorkerRunning(), true);
  }
  assert.equal(answerWorkerRunning(), false);
});
