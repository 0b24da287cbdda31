import assert from "node:assert/strict";
import { setLogSink } from "../../core/logger.ts";
import type { SupervisorEvent } from "../../core/sandbox/stats.ts";
import { type SandboxSpec, Supervisor, type SupervisorOptions } from "../../core/sandbox/supervisor.ts";
import { bundleFixtures } from "../support/bundle_fixture.ts";
import { failure, isAlive, LoopbackServer, testContext, testInit, waitGone } from "../support/sandbox_harness.ts";

const FIXTURES = new URL("../fixtures/sandbox/", import.meta.url);

function probe(supervisor: Supervisor, keys: string[], timeoutMs?: number): Promise<unknown> {
  const options = timeoutMs === undefined ? { requestId: "r" } : { requestId: "r", timeoutMs };
  return supervisor.call("getValues", [testContext(), keys], options);
}

function firstValue(result: unknown): string {
  return (result as { value: string }[])[0]!.value;
}

/** Polls a condition every 10 ms, failing after a bounded deadline. */
async function until(condition: () => boolean, what: string, deadlineMs = 10_000): Promise<void> {
  const started = performance.now();
  while (!condition()) {
    assert.ok(performance.now() - started < deadlineMs, `${what}: not reached within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

Deno.test("Supervisor queues calls, scales processes up and down, and sends calls to the least-loaded one", async (t) => {
  await using bundles = await bundleFixtures(FIXTURES, ["good", "slow_start"]);
  const previousSink = setLogSink(() => {});
  const supervisors: Supervisor[] = [];
  const make = (gate: LoopbackServer, options: Partial<SupervisorOptions>, spec: Partial<SandboxSpec> = {}) => {
    const supervisor = new Supervisor({
      nodeId: "busy-node",
      bundlePath: bundles.path("good"),
      entry: "sandbox-good",
      netHosts: [gate.hostPort],
      init: testInit("sandbox-good"),
      timeoutMs: 20_000,
      ...spec,
    }, options);
    supervisors.push(supervisor);
    return supervisor;
  };
  /** {@linkcode make}, with every event the supervisor reports kept in `events`. */
  const recording = (gate: LoopbackServer, options: Partial<SupervisorOptions>) => {
    const events: SupervisorEvent[] = [];
    return { events, supervisor: make(gate, { ...options, onEvent: (e) => events.push(e) }) };
  };
  const hold = (supervisor: Supervisor, gate: LoopbackServer) => probe(supervisor, ["fetch", `${gate.url}/hold`]);
  try {
    await t.step("a ninth concurrent call waits in the queue instead of being refused, and all answer", async () => {
      await using gate = new LoopbackServer();
      const supervisor = make(gate, { maxProcesses: 1 });
      const pid = firstValue(await probe(supervisor, ["pid"]));
      const held = Array.from({ length: 8 }, () => hold(supervisor, gate));
      await gate.holding(8);
      const waiting = Array.from({ length: 4 }, () => probe(supervisor, ["pid"]));
      assert.equal(supervisor.stats.inFlight, 8);
      assert.equal(supervisor.stats.queued, 4);
      gate.release();
      for (const result of await Promise.all(held)) assert.equal(firstValue(result), "200 released");
      const pids = new Set((await Promise.all(waiting)).map(firstValue));
      assert.deepEqual([...pids], [pid]);
      assert.equal(supervisor.stats.queued, 0);
      assert.equal(supervisor.stats.queueFull, 0);
    });

    await t.step(
      "a call whose deadline passes in the queue fails with timeout; the busy calls still answer",
      async () => {
        await using gate = new LoopbackServer();
        const { events, supervisor } = recording(gate, { maxProcesses: 1, maxConcurrent: 1 });
        const pid = Number(firstValue(await probe(supervisor, ["pid"])));
        const held = hold(supervisor, gate);
        await gate.holding(1);
        const started = performance.now();
        const error = await failure(probe(supervisor, ["pid"], 300));
        const waited = performance.now() - started;
        assert.equal(error.kind, "timeout");
        assert.match(error.message, /waited \d+ ms in the queue until its deadline passed/);
        assert.ok(waited >= 290, `gave up after ${Math.round(waited)} ms`);
        assert.equal(supervisor.stats.queueTimeouts, 1);
        assert.equal(supervisor.stats.queued, 0);
        assert.ok(events.some((e) => e.type === "queue_timeout" && e.nodeId === "busy-node"));
        assert.ok(isAlive(pid), "a queue timeout costs no process");
        gate.release();
        assert.equal(firstValue(await held), "200 released");
        assert.equal(firstValue(await probe(supervisor, ["pid"])), String(pid));
      },
    );

    await t.step(
      "a call waiting for the node's first process gets its deadline when the process is ready",
      async () => {
        await using gate = new LoopbackServer();
        const supervisor = make(gate, {}, { bundlePath: bundles.path("slow_start") });
        const started = performance.now();
        // 450 ms is less than the 600 ms the package takes to load, and plenty for the call itself.
        const answer = await probe(supervisor, ["pid"], 450);
        assert.ok(performance.now() - started >= 600, "the process cannot have been ready sooner");
        assert.match(firstValue(answer), /^\d+$/);
        assert.equal(supervisor.stats.queueTimeouts, 0);
      },
    );

    await t.step("a call that waited and then overruns its own deadline fails alone; the process lives", async () => {
      await using first = new LoopbackServer();
      await using second = new LoopbackServer();
      const supervisor = make(first, { maxProcesses: 1, maxConcurrent: 1 }, {
        netHosts: [first.hostPort, second.hostPort],
      });
      const pid = Number(firstValue(await probe(supervisor, ["pid"])));
      const held = hold(supervisor, first);
      await first.holding(1);
      const late = failure(probe(supervisor, ["fetch", `${second.url}/hold`], 1500));
      first.release();
      assert.equal(firstValue(await held), "200 released");
      await second.holding(1);
      const error = await late;
      assert.equal(error.kind, "timeout");
      assert.match(error.message, /did not answer getValues by its deadline/);
      assert.ok(isAlive(pid), "the process keeps the call; only the node's own deadline would cost it");
      assert.equal(supervisor.stats.inFlight, 1);
      second.release();
      await until(() => supervisor.stats.inFlight === 0, "the abandoned call finished in the process");
      assert.equal(firstValue(await probe(supervisor, ["pid"])), String(pid));
      assert.equal(supervisor.stats.exits.timeout, 0);
    });

    await t.step("only a full queue answers saturated", async () => {
      await using gate = new LoopbackServer();
      const { events, supervisor } = recording(gate, { maxProcesses: 1, maxConcurrent: 1, queueMax: 2 });
      const held = hold(supervisor, gate);
      await gate.holding(1);
      const waiting = [probe(supervisor, ["pid"]), probe(supervisor, ["pid"])];
      const refused = await failure(probe(supervisor, ["pid"]));
      assert.equal(refused.kind, "saturated");
      assert.equal(refused.retryAfterSeconds, 1);
      assert.match(refused.message, /1 calls in flight and 2 waiting \(queue limit 2\)/);
      assert.deepEqual(events.filter((e) => e.type === "queue_full"), [
        { type: "queue_full", nodeId: "busy-node", queued: 2 },
      ]);
      gate.release();
      await held;
      for (const result of await Promise.all(waiting)) assert.match(firstValue(result), /^\d+$/);
    });

    await t.step("more processes start while calls wait, up to maxProcesses; idle extras are reaped", async () => {
      await using gate = new LoopbackServer();
      const { events, supervisor } = recording(gate, {
        maxProcesses: 3,
        minProcesses: 1,
        maxConcurrent: 2,
        idleMs: 300,
      });
      const held = Array.from({ length: 7 }, () => hold(supervisor, gate));
      await gate.holding(6);
      const processes = supervisor.stats.processes;
      assert.equal(processes.length, 3);
      assert.deepEqual(processes.map((p) => [p.state, p.inFlight]), [["ready", 2], ["ready", 2], ["ready", 2]]);
      assert.equal(new Set(processes.map((p) => p.pid)).size, 3);
      assert.equal(supervisor.stats.queued, 1, "the seventh call waits: every process is full and none may start");
      assert.equal(supervisor.stats.spawns, 3);
      gate.release();
      for (const result of await Promise.all(held)) assert.equal(firstValue(result), "200 released");
      await until(() => supervisor.stats.processes.length === 1, "two idle extras reaped");
      assert.equal(supervisor.stats.exits.idle, 2);
      const reaped = processes.map((p) => p.pid).filter((pid) => pid !== supervisor.stats.pid);
      for (const pid of reaped) await waitGone(pid);
      const started = events.filter((e) => e.type === "process_started").length;
      const exited = events.filter((e) => e.type === "process_exited" && e.cause === "idle").length;
      assert.deepEqual([started, exited], [3, 2]);
      await new Promise((resolve) => setTimeout(resolve, 600));
      assert.equal(supervisor.stats.processes.length, 1, "minProcesses stays");
    });

    await t.step("a call goes to the process with the fewest calls in flight", async () => {
      await using gate = new LoopbackServer();
      const supervisor = make(gate, { minProcesses: 2, maxProcesses: 2 });
      await probe(supervisor, ["pid"]);
      await until(() => supervisor.stats.processes.every((p) => p.state === "ready"), "both processes ready");
      // Both idle: the first call goes to the first process, the second to the other (it has fewer in flight).
      const [first, second] = (await Promise.all([probe(supervisor, ["pid"]), probe(supervisor, ["pid"])])).map(
        firstValue,
      );
      assert.notEqual(first, second);
      // Three held calls: first, second, then first again on a tie; the second process is the lighter one.
      const held = Array.from({ length: 3 }, () => hold(supervisor, gate));
      await gate.holding(3);
      assert.deepEqual(supervisor.stats.processes.map((p) => p.inFlight), [2, 1]);
      for (let i = 0; i < 3; i++) {
        // Each probe finds the lighter process (1 call) below the other (2 calls).
        assert.equal(firstValue(await probe(supervisor, ["pid"])), second);
      }
      gate.release();
      await Promise.all(held);
    });

    await t.step("a process never serves two nodes: each supervisor has its own", async () => {
      await using gate = new LoopbackServer();
      const one = make(gate, { maxProcesses: 2 }, { nodeId: "node-one" });
      const two = make(gate, { maxProcesses: 2 }, { nodeId: "node-two" });
      const [a, b] = await Promise.all([probe(one, ["pid"]), probe(two, ["pid"])]);
      assert.notEqual(firstValue(a), firstValue(b));
    });
  } finally {
    await Promise.all(supervisors.map((supervisor) => supervisor.close()));
    setLogSink(previousSink);
  }
});
