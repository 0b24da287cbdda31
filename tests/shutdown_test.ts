/**
 * Graceful stop as an operator's init does it: the service runs as
 * `./bin/deno task serve` (the task's own permission flags) leading its own
 * process group, a slow configuration call is in flight in a plugin process,
 * and SIGTERM goes to the whole group (what `tini -g` does in the image).
 * The call still answers 200; then the service and its plugin process exit.
 */
import assert from "node:assert/strict";
import { isAlive, waitGone } from "./support/sandbox_harness.ts";
import { seedWalkthrough } from "./support/seed.ts";
import { httpClient, serve } from "./support/serve_process.ts";
import { DEMO_PACKAGES, lockLocalPackages } from "./support/test_app.ts";

/** Field 5 of `/proc/<pid>/stat`: the process group id. */
function processGroup(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
}

/**
 * `./bin/deno task serve` leading its own process group (as a container's init tree has it), seeded with the
 * walk-through graph whose configuration plugin takes `latencyMs` per call, and a slow tab read sent to it.
 */
async function serveWithSlowCall(options: { graceMs: number; latencyMs: number }) {
  const work = await Deno.makeTempDir({ prefix: "imbi-stop-" });
  await lockLocalPackages(`${work}/plugins.lock.json`, DEMO_PACKAGES);
  const admin = `admin-${crypto.randomUUID()}`;
  const service = await serve(
    {
      ...Deno.env.toObject(),
      IMBI_PORT: "0",
      IMBI_DATA_DIR: `${work}/data`,
      IMBI_LOCKFILE: `${work}/plugins.lock.json`,
      IMBI_ADMIN_TOKEN: admin,
      IMBI_MIN_PACKAGE_AGE: "0",
      IMBI_SHUTDOWN_GRACE_MS: String(options.graceMs),
      IMBI_TAB_CACHE_TTL_MS: "0",
      IMBI_LOG_LEVEL: "debug",
    },
    { detached: true },
  );
  const cleanup = async () => {
    try {
      Deno.kill(-service.pid, "SIGKILL");
    } catch {
      // Already gone.
    }
    await service.status;
    await Deno.remove(work, { recursive: true });
  };
  try {
    const api = httpClient(service.url, admin);
    const configOptions = { seed: { GREETING: "hello" }, latency_ms: options.latencyMs };
    const seed = await seedWalkthrough(api, { configOptions });
    const slow = fetch(`${service.url}/orgs/${seed.org}/projects/${seed.projectId}/configuration`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    // The call is sent to the process in the same turn the process reports ready; it then takes latencyMs.
    const ready = JSON.parse(await service.line('"msg":"plugin process ready"'));
    return { service, slow, pluginPid: Number(ready.pid), cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** The `msg` of every JSON log line. */
function messages(lines: string[]): string[] {
  return lines.filter((line) => line.startsWith("{")).map((line) => JSON.parse(line).msg as string);
}

Deno.test("SIGTERM to the service's whole process group lets a slow call in flight answer 200", async () => {
  const { service, slow, pluginPid, cleanup } = await serveWithSlowCall({ graceMs: 10_000, latencyMs: 1500 });
  try {
    assert.ok(isAlive(pluginPid));
    assert.equal(processGroup(service.pid), service.pid, "the service leads its group");
    const pluginGroup = processGroup(pluginPid);

    Deno.kill(-service.pid, "SIGTERM");

    const response = await slow;
    const body = await response.json();
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.equal(body.items[0].key, "GREETING");
    assert.notEqual(pluginGroup, service.pid, "the plugin process has a process group of its own");
    const status = await service.status;
    await service.stop();
    assert.ok(status.success, `the service exited with ${JSON.stringify(status)}:\n${service.lines.join("\n")}`);
    const order = ["stopping: no new connections; requests in flight may finish", "stopped"];
    assert.deepEqual(messages(service.lines).filter((m) => order.includes(m)), order);
    assert.ok(!messages(service.lines).includes("stopping: grace period over with requests in flight"));
    await waitGone(pluginPid);
  } finally {
    await cleanup();
  }
});

Deno.test("a call in flight longer than IMBI_SHUTDOWN_GRACE_MS does not hold the stop up", async () => {
  const { service, slow, pluginPid, cleanup } = await serveWithSlowCall({ graceMs: 300, latencyMs: 20_000 });
  try {
    const signalled = performance.now();
    Deno.kill(-service.pid, "SIGTERM");
    const status = await service.status;
    const tookMs = performance.now() - signalled;
    await service.stop();
    assert.ok(status.success, service.lines.join("\n"));
    assert.ok(tookMs < 10_000, `the stop took ${Math.round(tookMs)} ms`);
    assert.ok(messages(service.lines).includes("stopping: grace period over with requests in flight"));
    await waitGone(pluginPid);
    // The request in flight ends with the service: an error response or a closed connection, never a hang.
    await slow.then((response) => response.body?.cancel(), () => undefined);
  } finally {
    await cleanup();
  }
});
