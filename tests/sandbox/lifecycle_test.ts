import assert from "node:assert/strict";
import { setLogSink } from "../../core/logger.ts";
import { type SandboxSpec, Supervisor, type SupervisorOptions } from "../../core/sandbox/supervisor.ts";
import { bundleFixtures } from "../support/bundle_fixture.ts";
import { failure, isAlive, LoopbackServer, testContext, testInit, waitGone } from "../support/sandbox_harness.ts";

const FIXTURES = new URL("../fixtures/sandbox/", import.meta.url);

function probe(supervisor: Supervisor, ...keys: string[]): Promise<unknown> {
  return supervisor.call("getValues", [testContext(), keys], { requestId: "r" });
}

/** Polls a condition every 10 ms, failing after a bounded deadline. */
async function until(condition: () => boolean, deadlineMs = 5000): Promise<void> {
  const started = performance.now();
  while (!condition()) {
    assert.ok(performance.now() - started < deadlineMs, "condition not met before the deadline");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function pidOf(supervisor: Supervisor): Promise<number> {
  return Number((await probe(supervisor, "pid") as { value: string }[])[0]!.value);
}

Deno.test("Supervisor lifecycle: idle reaping, start failures, back-off, close", async (t) => {
  await using bundles = await bundleFixtures(FIXTURES, ["good", "hostile", "ctor_throws"]);
  const previousSink = setLogSink(() => {});
  const supervisors: Supervisor[] = [];
  let clock = 0;
  const make = (spec: Partial<SandboxSpec>, options: Partial<SupervisorOptions> = {}) => {
    const supervisor = new Supervisor({
      nodeId: "node",
      bundlePath: bundles.path("good"),
      entry: "sandbox-good",
      netHosts: [],
      init: testInit("sandbox-good", { key: "key-4242-secret" }),
      timeoutMs: 5000,
      ...spec,
    }, { now: () => clock, ...options });
    supervisors.push(supervisor);
    return supervisor;
  };
  try {
    await t.step("serves many calls, concurrently, from one process", async () => {
      const supervisor = make({});
      const pids = await Promise.all(Array.from({ length: 6 }, () => pidOf(supervisor)));
      assert.equal(new Set(pids).size, 1);
      assert.equal(supervisor.stats.spawns, 1);
      assert.equal(supervisor.stats.state, "ready");
    });

    await t.step("an idle process is shut down and the next call starts a fresh one", async () => {
      const supervisor = make({}, { idleMs: 30 });
      const first = await pidOf(supervisor);
      await waitGone(first);
      await until(() => supervisor.stats.lastExit !== null);
      assert.equal(supervisor.stats.pid, null);
      assert.equal(supervisor.stats.state, "idle");
      assert.equal(supervisor.stats.lastExit, "code 0 (idle)");
      const second = await pidOf(supervisor);
      assert.notEqual(second, first);
      assert.equal(supervisor.stats.spawns, 2);
    });

    await t.step("a bundle without the entry fails the call with crashed and backs off", async () => {
      const supervisor = make({ entry: "no-such-plugin" });
      const error = await failure(probe(supervisor, "pid"));
      assert.equal(error.kind, "crashed");
      assert.match(error.message, /failed to start: the bundle exports no plugin "no-such-plugin"/);
      assert.equal(supervisor.stats.state, "backoff");
    });

    await t.step("a constructor's typed error keeps its kind, scrubbed", async () => {
      const supervisor = make({
        bundlePath: bundles.path("ctor_throws"),
        entry: "sandbox-picky",
        init: testInit("sandbox-picky", { key: "key-4242-secret" }),
      });
      const error = await failure(supervisor.call("search", [testContext(), {}], { requestId: "r" }));
      assert.equal(error.kind, "invalid_input");
      assert.equal(
        error.message,
        'plugin "sandbox-picky" failed to start: option "group" is required (key [redacted])',
      );
    });

    await t.step("the back-off doubles per failure and resets after a good answer", async () => {
      const supervisor = make({ bundlePath: bundles.path("hostile"), entry: "sandbox-hostile" }, {
        backoffInitialMs: 1000,
        backoffMaxMs: 3000,
      });
      const retryAfter: (number | undefined)[] = [];
      for (let i = 0; i < 3; i++) {
        const error = await failure(probe(supervisor, "self_kill"));
        assert.equal(error.kind, "crashed");
        retryAfter.push(error.retryAfterSeconds);
        const early = await failure(probe(supervisor, "pid"));
        assert.equal(early.kind, "crashed");
        clock += 5000;
      }
      assert.deepEqual(retryAfter, [1, 2, 3]);
      await pidOf(supervisor);
      assert.equal((await failure(probe(supervisor, "self_kill"))).retryAfterSeconds, 1);
      assert.equal(supervisor.stats.spawns, 4);
    });

    await t.step("close() fails in-flight calls with crashed and the process is gone", async () => {
      await using gate = new LoopbackServer();
      const supervisor = make({ netHosts: [gate.hostPort] });
      const pid = await pidOf(supervisor);
      const held = failure(probe(supervisor, "fetch", `${gate.url}/hold`));
      await gate.holding(1);
      await supervisor.close();
      const error = await held;
      assert.equal(error.kind, "crashed");
      assert.equal(isAlive(pid), false);
      assert.equal(supervisor.stats.state, "closed");
      assert.equal((await failure(probe(supervisor, "pid"))).kind, "crashed");
    });

    await t.step("refuses a spec whose bundle path or net entries cannot be flag values", () => {
      assert.throws(() => make({ bundlePath: "relative/bundle.js" }), TypeError);
      assert.throws(() => make({ bundlePath: "/tmp/a,b.js" }), TypeError);
      assert.throws(() => make({ netHosts: ["*"] }), TypeError);
      assert.throws(() => make({ netHosts: ["example.com"] }), TypeError);
      assert.throws(() => make({ netHosts: ["a.example:443,b.example:443"] }), TypeError);
    });
  } finally {
    await Promise.all(supervisors.map((supervisor) => supervisor.close()));
    setLogSink(previousSink);
  }
});
