import assert from "node:assert/strict";
import type { HandlerInit, ProtocolMethod } from "@imbi/plugin-sdk/types";
import { setLogLevel, setLogSink } from "../../core/logger.ts";
import type { SandboxSpec, Supervisor } from "../../core/sandbox/supervisor.ts";
import { activeConfinement } from "../../core/sandbox/confine.ts";
import { SandboxPool } from "../../core/sandbox/pool.ts";
import { bundleFixtures } from "../support/bundle_fixture.ts";
import { failure, isAlive, LoopbackServer, testContext, testInit, waitGone } from "../support/sandbox_harness.ts";

const FIXTURES = new URL("../fixtures/sandbox/", import.meta.url);
const SERVICE_SOURCE = decodeURIComponent(new URL("../../core/sandbox/process.ts", import.meta.url).pathname);
const TOKEN = "tok-9f8e7d6c5b4a";
const DEADLINE_MS = 800;

/** The first value of a getValues answer. */
function firstValue(result: unknown): string {
  const items = result as { value: string }[];
  assert.ok(Array.isArray(items) && items.length > 0, `unexpected result ${JSON.stringify(result)}`);
  return items[0]!.value;
}

function probe(supervisor: Supervisor, ...keys: string[]): Promise<unknown> {
  return supervisor.call("getValues", [testContext(), keys], { requestId: `probe-${keys[0]}` });
}

async function pidOf(supervisor: Supervisor): Promise<number> {
  return Number(firstValue(await probe(supervisor, "pid")));
}

Deno.test("Supervisor contains hostile plugins while a good plugin in the same pool keeps answering", async (t) => {
  await using bundles = await bundleFixtures(FIXTURES, ["good", "hostile"]);
  await using allowed = new LoopbackServer();
  await using forbidden = new LoopbackServer();
  let clock = 1_000_000;
  const pool = new SandboxPool({ now: () => clock, backoffInitialMs: 250, graceMs: 200, rssMb: 300 });
  const seenPids = new Set<number>();
  Deno.env.set("IMBI_ADMIN_TOKEN", "admin-secret-from-the-parent");
  const previousSink = setLogSink(() => {});
  try {
    /** The well-behaved plugin as node `nodeId`, reaching `netHost` only. */
    const goodSpec = (nodeId: string, options: { netHost: string; init?: HandlerInit }): () => SandboxSpec => () => ({
      nodeId,
      bundlePath: bundles.path("good"),
      entry: "sandbox-good",
      netHosts: [options.netHost],
      init: options.init ?? testInit("sandbox-good"),
      timeoutMs: 5000,
    });
    const good = pool.acquire(
      "g1:good:x",
      goodSpec("good", {
        netHost: allowed.hostPort,
        init: testInit("sandbox-good", { token: TOKEN }, { endpoint: allowed.url }),
      }),
    );
    const hostileSpec = (name: string, timeoutMs = DEADLINE_MS): () => SandboxSpec => () => ({
      nodeId: `hostile-${name}`,
      bundlePath: bundles.path("hostile"),
      entry: "sandbox-hostile",
      netHosts: [allowed.hostPort],
      init: testInit("sandbox-hostile", { token: TOKEN }),
      timeoutMs,
    });
    const hostile = pool.acquire("g1:hostile:x", hostileSpec("main"));
    /** A hostile supervisor of its own, with its first process running (its pid recorded). */
    const hostileProcess = async (name: string, timeoutMs?: number) => {
      const supervisor = pool.acquire(`g1:hostile:${name}`, hostileSpec(name, timeoutMs));
      const pid = await pidOf(supervisor);
      seenPids.add(pid);
      return { supervisor, pid };
    };
    /** Once the back-off has passed, the next call starts a fresh process. */
    const replacedAfter = async (backoffMs: number, supervisor: Supervisor, before: number) => {
      clock += backoffMs;
      const after = await pidOf(supervisor);
      seenPids.add(after);
      assert.notEqual(after, before);
    };
    const goodPid = await pidOf(good);
    seenPids.add(goodPid);

    /** The good plugin still answers, from the same process. */
    const goodStillAnswers = async (): Promise<void> => {
      const keys = await good.call("listKeys", [testContext()], { requestId: "liveness" });
      assert.deepEqual(keys, [{ key: "greeting", data_type: "string", secret: false }]);
      assert.equal(await pidOf(good), goodPid);
    };

    await t.step("starts the child with exactly the documented flags and a cleared environment", async () => {
      const pid = await pidOf(hostile);
      const argv = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").slice(1, -1);
      // The channel's socket: one fresh path per process, in a directory of the service's own.
      const channel = argv.find((arg) => arg.startsWith("channel="))?.slice("channel=".length) ?? "";
      assert.match(channel, /^\/.+\/imbi-channels-[^/]+\/[0-9a-f]{16}\.sock$/);
      assert.equal(Deno.statSync(channel.slice(0, channel.lastIndexOf("/"))).mode! & 0o777, 0o700);
      assert.deepEqual(argv, [
        "run",
        "--no-prompt",
        "--no-config",
        "--no-lock",
        "--no-npm",
        "--no-remote",
        "--cached-only",
        "--no-check",
        `--allow-net=${allowed.hostPort},unix:${channel}`,
        `--allow-read=${bundles.path("hostile")},${channel}`,
        `--allow-write=${channel}`,
        "--v8-flags=--max-old-space-size=128,--max-semi-space-size=1",
        decodeURIComponent(new URL("../../core/sandbox/bootstrap.ts", import.meta.url).pathname),
        String(16 * 1024 * 1024),
        "node=hostile-main",
        `channel=${channel}`,
        // Jailed, the child dies with the jail; otherwise the bootstrap's watchdog ends it when the host is gone.
        ...(activeConfinement().mechanism === "none" ? [] : ["watchdog=off"]),
      ]);
      const environ = Deno.readTextFileSync(`/proc/${pid}/environ`).split("\0").filter(Boolean);
      const names = environ.map((entry) => entry.split("=")[0]).sort();
      assert.ok(names.every((name) => ["DENO_DIR", "DENO_NO_UPDATE_CHECK", "NO_COLOR"].includes(name!)), names.join());
      assert.ok(!environ.some((entry) => entry.includes("admin-secret")));
      assert.ok(!argv.join(" ").includes(TOKEN), "credentials travel over the channel, never argv");
      // Connected: the path is gone, so nothing else can connect to it.
      await assert.rejects(Deno.stat(channel), Deno.errors.NotFound);
    });

    await t.step("denies fetch and connect to a host:port not in the list; the target sees zero hits", async () => {
      const denied = [
        await probe(hostile, "fetch", `${forbidden.url}/steal`),
        await probe(hostile, "fetch", `http://localhost:${forbidden.hostPort.split(":")[1]}/steal`),
        await probe(hostile, "connect", forbidden.hostPort),
        await probe(hostile, "fetch", `${allowed.url}/redirect?to=${encodeURIComponent(`${forbidden.url}/via`)}`),
      ];
      for (const result of denied) assert.match(firstValue(result), /^denied: NotCapable: Requires net access/);
      assert.equal(forbidden.hits, 0);
      // Positive controls: the listed host:port works, for the hostile and the good plugin alike.
      assert.equal(firstValue(await probe(hostile, "fetch", `${allowed.url}/ok`)), 'allowed: "200 ok"');
      assert.equal(firstValue(await probe(good, "fetch", `${allowed.url}/ok`)), "200 ok");
      await goodStillAnswers();
    });

    await t.step("denies reading files: system files, the service's source, another package's bundle", async () => {
      for (const path of ["/etc/hostname", SERVICE_SOURCE, bundles.path("good"), `/proc/${goodPid}/environ`]) {
        assert.match(firstValue(await probe(hostile, "read", path)), /^denied: NotCapable: Requires read access/);
        assert.match(firstValue(await probe(hostile, "import", `file://${path}`)), /^denied: .*Requires read access/);
      }
      // Its own bundle is the one file it may read.
      assert.match(firstValue(await probe(hostile, "read", bundles.path("hostile"))), /^allowed: /);
      await goodStillAnswers();
    });

    await t.step("denies environment variables the parent has", async () => {
      assert.equal(Deno.env.get("IMBI_ADMIN_TOKEN"), "admin-secret-from-the-parent");
      for (const kind of ["env", "node_env"]) {
        const value = firstValue(await probe(hostile, kind, "IMBI_ADMIN_TOKEN"));
        assert.match(value, /^denied: NotCapable: Requires env access/);
        assert.ok(!value.includes("admin-secret"));
      }
      assert.match(firstValue(await probe(hostile, "env_object")), /^denied: NotCapable/);
      await goodStillAnswers();
    });

    await t.step("denies spawning processes, signalling the host, writing files and remote imports", async () => {
      assert.match(firstValue(await probe(hostile, "run", "/bin/sh")), /^denied: NotCapable: Requires run access/);
      assert.match(firstValue(await probe(hostile, "kill_parent")), /^denied: NotCapable: Requires run access/);
      const target = `${bundles.dir}/pwned`;
      assert.match(firstValue(await probe(hostile, "write", target)), /^denied: NotCapable: Requires write access/);
      await assert.rejects(Deno.stat(target), Deno.errors.NotFound);
      assert.match(firstValue(await probe(hostile, "import", "https://deno.land/x/evil/mod.ts")), /--no-remote/);
      assert.match(firstValue(await probe(hostile, "import", "npm:left-pad@1.3.0")), /--no-npm/);
      // The channel's grants were revoked before the bundle loaded.
      assert.match(firstValue(await probe(hostile, "channel")), /^denied: NotCapable: Requires (read|write) access/);
      await goodStillAnswers();
    });

    await t.step(
      "a self-SIGKILL fails the call with crashed and a fresh process serves after the back-off",
      async () => {
        const { supervisor: victim, pid: before } = await hostileProcess("kill");
        const crashed = await failure(probe(victim, "self_kill"));
        assert.equal(crashed.kind, "crashed");
        assert.ok((crashed.retryAfterSeconds ?? 0) >= 1);
        const during = await failure(probe(victim, "pid"));
        assert.equal(during.kind, "crashed");
        assert.equal(victim.stats.state, "backoff");
        await waitGone(before);
        await replacedAfter(250, victim, before);
        assert.equal(victim.stats.spawns, 2);
        assert.match(victim.stats.lastExit ?? "", /SIGKILL/);
        await goodStillAnswers();
      },
    );

    await t.step("an infinite loop fails with timeout at the deadline; other calls on it fail crashed", async () => {
      const { supervisor: looper, pid: before } = await hostileProcess("loop");
      const held = failure(probe(looper, "fetch", `${allowed.url}/hold`));
      await allowed.holding(1);
      const started = performance.now();
      const loop = failure(probe(looper, "loop"));
      const [first, second] = await Promise.all([held, loop]);
      const elapsed = performance.now() - started;
      assert.equal(first.kind, "timeout");
      assert.equal(second.kind, "crashed");
      assert.ok(elapsed < DEADLINE_MS + 1000, `took ${elapsed} ms`);
      await waitGone(before);
      await replacedAfter(10_000, looper, before);
      await goodStillAnswers();
    });

    await t.step("a heap bomb crashes only its own process", async () => {
      const { supervisor: bomber, pid: before } = await hostileProcess("heap", 20_000);
      const error = await failure(probe(bomber, "heap"));
      assert.equal(error.kind, "crashed");
      assert.doesNotMatch(error.message, /memory limit/, "the V8 heap cap, not the process's cap, should stop it");
      await waitGone(before);
      await goodStillAnswers();
    });

    await t.step("memory outside the V8 heap is capped by the confinement", async () => {
      const { supervisor: hoarder, pid: before } = await hostileProcess("buffers", 20_000);
      const error = await failure(probe(hoarder, "buffers"));
      if (activeConfinement().mechanism === "cgroup") {
        assert.equal(error.kind, "memory");
        assert.match(error.message, /killed at its 300 MiB memory limit/);
        await waitGone(before);
      } else {
        // RLIMIT_DATA: the allocation fails inside the plugin (tests/sandbox/confine_test.ts covers it).
        assert.equal(activeConfinement().mechanism, "rlimit", "no confinement: build imbi-jail");
        assert.match(error.message, /Array buffer allocation failed/);
      }
      await goodStillAnswers();
    });

    await t.step("an unhandled rejection crashes the process, which is replaced", async () => {
      const { supervisor: rejecter, pid: before } = await hostileProcess("reject");
      const error = await failure(probe(rejecter, "reject"));
      assert.equal(error.kind, "crashed");
      assert.match(error.message, /unhandled rejection: Error: nobody catches this/);
      await replacedAfter(10_000, rejecter, before);
      await goodStillAnswers();
    });

    await t.step("a 50 MB answer fails with too_large; a frame whose header is forged is refused at it", async () => {
      const { supervisor: flooder } = await hostileProcess("big", 30_000);
      const big = await failure(probe(flooder, "big", String(50 * 1024 * 1024)));
      assert.equal(big.kind, "too_large");
      assert.match(big.message, /exceeds the 16777216-byte limit/);
      // The forged header claims 50 MB and the body never comes: only a refusal at the header
      // answers before the 30 s deadline.
      const before = await pidOf(flooder);
      const forged = await failure(probe(flooder, "forge_frame"));
      assert.equal(forged.kind, "protocol");
      assert.match(forged.message, /a frame of 52428800 bytes exceeds the 16777216-byte limit/);
      await waitGone(before);
      await replacedAfter(10_000, flooder, before);
      const garbage = await failure(probe(flooder, "garbage"));
      assert.equal(garbage.kind, "protocol");
      await goodStillAnswers();
    });

    await t.step("an answer nested past 64 levels fails with too_large; a forged one costs the process", async () => {
      const { supervisor: nester, pid: before } = await hostileProcess("deep", 30_000);
      const deep = await failure(probe(nester, "deep", "65"));
      assert.equal(deep.kind, "too_large");
      assert.match(deep.message, /nests deeper than 64 levels/);
      assert.equal(await pidOf(nester), before, "the bootstrap refused it; the process keeps serving");
      const forged = await failure(probe(nester, "forge_deep"));
      assert.equal(forged.kind, "protocol");
      assert.match(forged.message, /a frame nests deeper than 64 levels/);
      await waitGone(before);
      await goodStillAnswers();
    });

    await t.step("typed SDK errors keep their kind; credentials are scrubbed from messages and logs", async () => {
      const notFound = await failure(probe(good, "not_found", "db.password"));
      assert.equal(notFound.kind, "not_found");
      assert.equal(notFound.message, "no key db.password (token [redacted])");
      const limited = await failure(probe(good, "rate_limited"));
      assert.equal(limited.kind, "rate_limited");
      assert.equal(limited.retryAfterSeconds, 7);
      const missing = await failure(good.call("describePrefix", [testContext()], { requestId: "r" }));
      assert.equal(missing.kind, "invalid_input");
      assert.equal(missing.message, 'plugin "sandbox-good" does not implement describePrefix');
      const unknown = await failure(good.call("search" as ProtocolMethod, [testContext()], { requestId: "r" }));
      assert.equal(unknown.kind, "invalid_input");
      const lines: string[] = [];
      setLogSink((line) => lines.push(line));
      setLogLevel("debug");
      try {
        assert.equal(firstValue(await probe(good, "log", "hello")), "ok");
      } finally {
        setLogLevel("info");
        setLogSink(() => {});
      }
      const stderr = lines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === "plugin stderr");
      assert.ok(
        stderr.some((entry) => entry.line === "plugin says hello with token [redacted]"),
        JSON.stringify(lines),
      );
      assert.ok(stderr.some((entry) => entry.line === "raw stdout write"));
      assert.ok(!lines.some((line) => line.includes(TOKEN)));
      await goodStillAnswers();
    });

    await t.step("a stderr flood is rate-limited and the process keeps serving", async () => {
      const lines: string[] = [];
      setLogSink((line) => lines.push(line));
      setLogLevel("debug");
      try {
        assert.equal(firstValue(await probe(hostile, "stderr_flood")), "done");
        assert.equal(firstValue(await probe(hostile, "fetch", `${allowed.url}/ok`)), 'allowed: "200 ok"');
      } finally {
        setLogLevel("info");
        setLogSink(() => {});
      }
      const logged = lines.filter((line) => line.includes('"plugin stderr"')).length;
      assert.ok(logged <= 40, `${logged} stderr lines logged`);
      await goodStillAnswers();
    });

    await t.step("calls above maxConcurrent wait in the queue; only a full queue answers saturated", async () => {
      const narrow = new SandboxPool({ maxConcurrent: 2, maxProcesses: 1, queueMax: 1 });
      try {
        const supervisor = narrow.acquire("k", goodSpec("narrow", { netHost: allowed.hostPort }));
        const pid = await pidOf(supervisor);
        const arrivedBefore = allowed.held;
        const held = [
          probe(supervisor, "fetch", `${allowed.url}/hold`),
          probe(supervisor, "fetch", `${allowed.url}/hold`),
        ];
        await allowed.holding(arrivedBefore + 2);
        const waiting = probe(supervisor, "pid");
        assert.equal(supervisor.stats.queued, 1);
        const saturated = await failure(probe(supervisor, "pid"));
        assert.equal(saturated.kind, "saturated");
        assert.equal(saturated.retryAfterSeconds, 1);
        assert.equal(supervisor.stats.inFlight, 2);
        assert.equal(supervisor.stats.queueFull, 1);
        allowed.release();
        for (const result of await Promise.all(held)) assert.equal(firstValue(result), "200 released");
        assert.equal(Number(firstValue(await waiting)), pid);
      } finally {
        await narrow.closeAll();
      }
      await goodStillAnswers();
    });

    await t.step("drain lets an in-flight call finish, refuses new ones, then the process is gone", async () => {
      await using gate = new LoopbackServer();
      const draining = pool.acquire("g0:good:x", goodSpec("old-generation", { netHost: gate.hostPort }));
      const pid = await pidOf(draining);
      seenPids.add(pid);
      const slow = probe(draining, "fetch", `${gate.url}/hold`);
      await gate.holding(1);
      let drained = false;
      const drain = pool.drain((key) => key.startsWith("g0:")).then(() => (drained = true));
      assert.equal(draining.stats.state, "draining");
      assert.equal((await failure(probe(draining, "pid"))).kind, "crashed");
      assert.ok(!pool.list().some((entry) => entry.key === "g0:good:x"));
      assert.ok(isAlive(pid));
      assert.equal(drained, false);
      gate.release();
      assert.equal(firstValue(await slow), "200 released");
      await drain;
      assert.equal(isAlive(pid), false);
      assert.match(draining.stats.lastExit ?? "", /code 0 \(drained\)/);
      await goodStillAnswers();
    });

    await t.step("closeAll leaves no child process alive", async () => {
      for (const entry of pool.list()) if (entry.stats.pid !== null) seenPids.add(entry.stats.pid);
      assert.ok(seenPids.size >= 8, `only ${seenPids.size} processes seen`);
      await pool.closeAll();
      for (const pid of seenPids) assert.equal(isAlive(pid), false, `process ${pid} is alive`);
      assert.deepEqual(pool.list(), []);
      assert.equal((await failure(probe(good, "pid"))).kind, "crashed");
    });
  } finally {
    setLogSink(previousSink);
    Deno.env.delete("IMBI_ADMIN_TOKEN");
    await pool.closeAll();
  }
});
