/**
 * The confinement of plugin processes (`core/sandbox/confine.ts`, the
 * `imbi-jail` wrapper), proven with the service's own permission flags: the
 * process under test runs with exactly the flags of `deno task serve` (read
 * from deno.json), never `-A`, probes the confinement as the service does at
 * start, and drives the hostile `confined` fixture through a SandboxPool
 * (`tests/fixtures/sandbox/confine_host.ts`). Memory cap 256 MiB, V8 heap
 * 64 MiB, thread cap 64.
 */
import assert from "node:assert/strict";
import { buildJail } from "../../cli/sandbox_jail.ts";
import { bundleFixtures } from "../support/bundle_fixture.ts";
import { freePort } from "../support/local.ts";
import { isAlive, LoopbackServer, printedPid, waitGone } from "../support/sandbox_harness.ts";

const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);
const FIXTURES = new URL("../fixtures/sandbox/", import.meta.url);
const HOST = `${ROOT}tests/fixtures/sandbox/confine_host.ts`;
const JAIL = (await buildJail()).path;

/** The permission flags of `deno task serve`, as deno.json declares them. */
async function serveFlags(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const flags = (config.tasks.serve.command as string).split(" ").filter((word) => word.startsWith("--allow-"));
  assert.ok(flags.length > 0 && !flags.includes("--allow-all") && !flags.includes("-A"));
  return flags;
}

const FLAGS = await serveFlags();

/** Runs one scenario of the host program under serve's flags; its JSON answer. */
async function host(
  scenario: string,
  options: { bundle: string; arg?: string; env?: Record<string, string> },
): Promise<Record<string, unknown>> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...FLAGS, "--config", `${ROOT}deno.json`, HOST, options.bundle, scenario, options.arg ?? ""],
    cwd: ROOT,
    env: { IMBI_JAIL_PATH: JAIL, ...options.env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout).trim();
  assert.ok(output.success, `host ${scenario} failed: ${new TextDecoder().decode(output.stderr)}`);
  return JSON.parse(text.split("\n").pop()!);
}

/** Starts the orphan scenario: the host and the pid of its plugin process, which stops itself. */
async function startOrphanHost(
  bundle: string,
  env: Record<string, string> = {},
): Promise<{ child: Deno.ChildProcess; pid: number }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...FLAGS, "--config", `${ROOT}deno.json`, HOST, bundle, "orphan"],
    cwd: ROOT,
    env: { IMBI_JAIL_PATH: JAIL, ...env },
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const pid = await printedPid(child);
  return { child, pid };
}

/** A limit file of the v1 cgroup a process is in, e.g. `cgroupLimit(pid, "pids", "pids.max")`. */
function cgroupLimit(pid: number, controller: string, file: string): string {
  const line = Deno.readTextFileSync(`/proc/${pid}/cgroup`).split("\n")
    .find((entry) => entry.split(":")[1]?.split(",").includes(controller));
  assert.ok(line, `no ${controller} cgroup for ${pid}`);
  const path = line.split(":").slice(2).join(":");
  assert.match(path, /\/imbi-plugins\/[0-9]+$/);
  return Deno.readTextFileSync(`/sys/fs/cgroup/${controller}${path}/${file}`).trim();
}

function procStatus(pid: number): { state: string; ppid: number } {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return { state: /^State:\s+(\S)/m.exec(status)![1]!, ppid: Number(/^PPid:\s+(\d+)/m.exec(status)![1]) };
}

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check()) {
    assert.ok(performance.now() < deadline, `${what} did not happen within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

Deno.test({
  name: "confineSpawn() with a cgroup holds a hostile plugin to its limits under deno task serve's flags",
  // cgroup v1 directories are writable by root only; the no-cgroup fallback below runs anywhere.
  ignore: Deno.uid() !== 0,
  async fn(t) {
    await using bundles = await bundleFixtures(FIXTURES, ["confined"]);
    const bundle = bundles.path("confined");

    await t.step("the probe reports cgroup and seccomp", async () => {
      const described = await host("describe", { bundle });
      assert.equal(described.mechanism, "cgroup");
      assert.equal(described.seccomp, true);
      assert.equal(described.warning, null);
    });

    for (const probe of ["buffers", "wasm"]) {
      await t.step(`${probe} beyond the cap: the process is killed, the call answers kind memory`, async () => {
        const result = await host(probe, { bundle });
        assert.deepEqual(result.outcome, {
          kind: "memory",
          message: 'plugin "sandbox-confined" process killed at its 256 MiB memory limit',
        });
        assert.deepEqual(result.failures, ["killed at its 256 MiB memory limit"]);
        assert.equal(isAlive(result.pid as number), false);
        assert.match(String((result.after as Record<string, string>).pid), /^[0-9]+$/, "a fresh process serves");
      });
    }

    await t.step("a Worker bomb stops at the thread cap (64) under a memory cap it cannot reach", async () => {
      const result = await host("workers", { bundle });
      const outcome = JSON.stringify(result.outcome);
      assert.doesNotMatch(outcome, /allowed/);
      const made = /denied after ([0-9]+)/.exec(outcome);
      if (made) assert.ok(Number(made[1]) < 64, outcome);
      else assert.match(outcome, /limit of 64 threads/);
    });

    await t.step("a busy loop outside any call is stopped", async () => {
      const result = await host("idle_spin", { bundle });
      assert.deepEqual(result.failures, ["stopped: wanted over 1000 ms of CPU in 5000 ms with no call in flight"]);
      assert.equal((result.stats as { lastExit: string }).lastExit, "code 202 (crashed)");
      assert.ok((result.ms as number) < 15_000, `stopped after ${result.ms} ms`);
      assert.equal(isAlive(result.pid as number), false);
    });

    await t.step("CPU work inside a call is not idle: a 4 s call on one process answers", async () => {
      const result = await host("busy_call", { bundle, arg: "4000" });
      assert.deepEqual(result.outcome, { work: `done in ${result.pid}` });
      assert.deepEqual(result.failures, []);
    });

    await t.step("a plugin cannot forge a verdict: its own exit code 201 is reported as 199, not memory", async () => {
      const result = await host("forged_exit", { bundle, arg: "201" });
      assert.equal((result.outcome as { kind: string }).kind, "crashed");
      assert.deepEqual(result.failures, ["exited with code 199"]);
    });

    await t.step(
      "in its own cgroups (a 50 % CPU quota asked), without capabilities, a SIGSTOPped plugin dies with the service",
      async () => {
        const { child, pid } = await startOrphanHost(bundle, { IMBI_PLUGIN_CPU_PERCENT: "50" });
        await until(() => procStatus(pid).state === "T", 5000, "the plugin stopping itself");
        // Its own cgroups, with the limits the host asked for.
        assert.equal(cgroupLimit(pid, "memory", "memory.limit_in_bytes"), String(256 * 1024 * 1024));
        assert.equal(cgroupLimit(pid, "pids", "pids.max"), "64");
        assert.equal(cgroupLimit(pid, "cpu", "cpu.cfs_quota_us"), "50000");
        const jail = procStatus(pid).ppid;
        assert.notEqual(jail, 1);
        // The plugin runs as root here, yet holds no capability, cannot gain one, and is under seccomp.
        const status = Deno.readTextFileSync(`/proc/${pid}/status`);
        assert.match(status, /^CapEff:\s+0+$/m);
        assert.match(status, /^CapBnd:\s+0+$/m);
        assert.match(status, /^NoNewPrivs:\s+1$/m);
        assert.match(status, /^Seccomp:\s+2$/m);
        child.kill("SIGKILL");
        await child.status;
        const ms = await waitGone(pid, 5000);
        assert.ok(ms < 5000);
        assert.equal(isAlive(jail), false);
      },
    );
  },
});

Deno.test("confineSpawn() refuses listening sockets and keeps outbound calls, with or without a cgroup", async (t) => {
  await using bundles = await bundleFixtures(FIXTURES, ["confined"]);
  await using server = new LoopbackServer();
  const noCgroup = await Deno.makeTempDir({ prefix: "imbi_no_cgroup_" });
  try {
    for (const [label, env] of [["jailed", {}], ["jailed, no cgroup", { IMBI_CGROUP_ROOT: noCgroup }]] as const) {
      await t.step(`${label}: Deno.listen, node:net and node:dgram fail; fetch to a granted host works`, async () => {
        const port = freePort();
        const url = `http://localhost:${new URL(server.url).port}/ok`;
        const result = await host("listen", { bundle: bundles.path("confined"), arg: `${port} ${url}`, env });
        assert.deepEqual(result, {
          deno: { listen_deno: "denied: PermissionDenied: Operation not permitted (os error 1)" },
          node: { listen_node: `denied: Error: listen EACCES: permission denied 127.0.0.1:${port}` },
          udp: { udp_node: `denied: Error: bind EPERM 127.0.0.1:${port}` },
          fetch: { fetch: 'allowed: "200 ok"' },
        });
      });
    }
    const hits = server.hits;
    assert.equal(hits, 2);
  } finally {
    await Deno.remove(noCgroup, { recursive: true });
  }
});

Deno.test("confineSpawn() leaves plugins no persistent storage: localStorage and the Cache API fail", async () => {
  await using bundles = await bundleFixtures(FIXTURES, ["confined"]);
  const other = `${bundles.dir}/other_package.js`;
  await Deno.copyFile(bundles.path("confined"), other);
  const result = await host("storage", { bundle: bundles.path("confined"), arg: other });
  const first = result.first as Record<string, string>;
  assert.match(first.local_storage_set!, /^denied: NotADirectory/);
  assert.match(first.cache_put!, /^denied: Error: Failed to create cache storage directory/);
  for (const later of [result.respawned, result.other] as Record<string, string>[]) {
    assert.match(later.local_storage_get!, /^denied: NotADirectory/);
    assert.match(later.cache_match!, /^denied: /);
    assert.doesNotMatch(JSON.stringify(later), /secret-of-a/);
  }
});

Deno.test("confineSpawn() without a writable cgroup caps memory with RLIMIT_DATA under serve's flags", async (t) => {
  await using bundles = await bundleFixtures(FIXTURES, ["confined"]);
  const bundle = bundles.path("confined");
  // A cgroup root with no hierarchy in it: what a machine without cgroupfs, or a non-root service, has.
  const noCgroup = await Deno.makeTempDir({ prefix: "imbi_no_cgroup_" });
  const env = { IMBI_CGROUP_ROOT: noCgroup };
  try {
    await t.step("the probe reports rlimit and why no cgroup", async () => {
      const described = await host("describe", { bundle, env });
      assert.equal(described.mechanism, "rlimit");
      assert.equal(described.seccomp, true);
      assert.match(String(described.note), /^no cgroup: memory: No such file or directory/);
    });

    for (const probe of ["buffers", "wasm"]) {
      await t.step(`${probe}: allocation beyond the cap is refused`, async () => {
        const result = await host(probe, { bundle, env });
        const outcome = (result.outcome as Record<string, string>)[probe]!;
        const mib = Number(/^denied after ([0-9]+) MiB/.exec(outcome)?.[1]);
        assert.ok(mib >= 128 && mib <= 256 + 128, outcome);
      });
    }

    await t.step("a Worker bomb is bounded by the same cap", async () => {
      const result = await host("workers", { bundle, env });
      assert.doesNotMatch(JSON.stringify(result.outcome), /allowed/);
    });

    await t.step({
      name: "as an unprivileged user the real cgroup root is refused, and seccomp still installs",
      ignore: Deno.uid() !== 0, // setpriv needs root to switch users; a non-root run is this case already
      fn: async () => {
        const output = await new Deno.Command("setpriv", {
          args: ["--reuid=65534", "--regid=65534", "--clear-groups", JAIL, "--probe"],
          stdout: "piped",
        }).output();
        assert.ok(output.success);
        const report = JSON.parse(new TextDecoder().decode(output.stdout));
        assert.equal(report.cgroup, null);
        assert.match(report.cgroup_error, /Permission denied/);
        assert.equal(report.seccomp, true);
      },
    });
  } finally {
    await Deno.remove(noCgroup, { recursive: true });
  }
});

Deno.test("deno task serve says which mechanism confines plugins, and refuses to start when required and none can", async (t) => {
  const flags = await serveFlags();
  const dir = await Deno.makeTempDir({ prefix: "imbi_confine_serve_" });
  const base = { IMBI_DATA_DIR: `${dir}/data`, IMBI_LOCKFILE: `${dir}/plugins.lock.json`, IMBI_HOST: "127.0.0.1" };
  try {
    await t.step("IMBI_SANDBOX_LIMITS=required without a jail: exit 1 and why", async () => {
      const output = await new Deno.Command(Deno.execPath(), {
        args: ["run", ...flags, `${ROOT}main.ts`],
        cwd: ROOT,
        env: { ...base, IMBI_PORT: "0", IMBI_JAIL_PATH: `${dir}/missing-jail`, IMBI_SANDBOX_LIMITS: "required" },
        stdout: "null",
        stderr: "piped",
      }).output();
      assert.equal(output.code, 1);
      assert.match(new TextDecoder().decode(output.stderr), /Plugin processes are NOT confined: no imbi-jail binary/);
    });

    await t.step("a bad setting is refused naming the variable", async () => {
      const output = await new Deno.Command(Deno.execPath(), {
        args: ["run", ...flags, `${ROOT}main.ts`],
        cwd: ROOT,
        env: { ...base, IMBI_PORT: "0", IMBI_SANDBOX_LIMITS: "maybe" },
        stdout: "null",
        stderr: "piped",
      }).output();
      assert.equal(output.code, 2);
      const stderr = new TextDecoder().decode(output.stderr);
      assert.match(stderr, /"variable":"IMBI_SANDBOX_LIMITS"/);
      assert.match(stderr, /is not one of required, warn/);
    });

    for (
      const [label, jail, mechanism] of [["with the jail", JAIL, Deno.uid() === 0 ? "cgroup" : "rlimit"], [
        "without a jail (warn)",
        `${dir}/missing-jail`,
        "none",
      ]] as const
    ) {
      await t.step(`${label}: the start-up log and /readyz name ${mechanism}`, async () => {
        const port = freePort();
        const child = new Deno.Command(Deno.execPath(), {
          args: ["run", ...flags, `${ROOT}main.ts`],
          cwd: ROOT,
          env: { ...base, IMBI_PORT: String(port), IMBI_JAIL_PATH: jail },
          stdout: "null",
          stderr: "piped",
        }).spawn();
        const lines: Record<string, unknown>[] = [];
        const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
        let partial = "";
        while (!lines.some((line) => line.msg === "listening")) {
          const { done, value } = await reader.read();
          assert.ok(!done, `the service exited: ${JSON.stringify(lines)}`);
          const parts = (partial + value).split("\n");
          partial = parts.pop()!;
          lines.push(...parts.map((line) => JSON.parse(line)));
        }
        const response = await fetch(`http://127.0.0.1:${port}/readyz`);
        const ready = await response.json();
        child.kill("SIGTERM");
        await reader.cancel();
        await child.status;
        assert.equal(ready.sandbox.mechanism, mechanism);
        const started = lines.find((line) => line.msg === "plugin confinement");
        assert.equal(started?.mechanism, mechanism);
        const warned = lines.some((line) => line.level === "warn" && /NOT confined/.test(String(line.msg)));
        assert.equal(warned, mechanism === "none");
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
