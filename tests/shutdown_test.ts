/**
 * Graceful stop as an operator's init does it: the service runs as
 * `./bin/deno task serve` (the task's own permission flags) leading its own
 * process group, a slow configuration call is in flight in a plugin process,
 * and SIGTERM goes to the whole group (what `tini -g` does in the image).
 * The call still answers 200; then the service and its plugin process exit.
 */
import assert from "node:assert/strict";
import { freePort } from "./support/local.ts";
import { isAlive, waitGone } from "./support/sandbox_harness.ts";
import { seedWalkthrough } from "./support/seed.ts";
import { DEMO_PACKAGES, lockLocalPackages, ROOT } from "./support/test_app.ts";

/** Field 5 of `/proc/<pid>/stat`: the process group id. */
function processGroup(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
}

/** Log lines of a child's stderr, with a wait for the first line that matches. */
function logLines(stream: ReadableStream<Uint8Array>) {
  const lines: string[] = [];
  const waiters: { match: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  const done = (async () => {
    let partial = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      const parts = (partial + text).split("\n");
      partial = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        for (const waiter of waiters.filter((w) => w.match(line))) waiter.resolve(line);
      }
    }
  })();
  return {
    lines,
    done,
    /** The first line (past or future) containing `text`; fails after 30 s or at end of stream. */
    async find(text: string): Promise<string> {
      const seen = lines.find((line) => line.includes(text));
      if (seen !== undefined) return seen;
      const { promise, resolve } = Promise.withResolvers<string>();
      waiters.push({ match: (line) => line.includes(text), resolve });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no log line with ${text}:\n${lines.join("\n")}`)), 30_000);
      });
      const ended = done.then(() => Promise.reject(new Error(`the service ended before logging ${text}`)));
      try {
        return await Promise.race([promise, late, ended]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

Deno.test("SIGTERM to the service's whole process group lets a slow call in flight answer 200", async () => {
  const work = await Deno.makeTempDir({ prefix: "imbi-stop-" });
  await lockLocalPackages(`${work}/plugins.lock.json`, DEMO_PACKAGES);
  const admin = `admin-${crypto.randomUUID()}`;
  const port = freePort();
  const child = new Deno.Command(`${ROOT}bin/deno`, {
    args: ["task", "serve"],
    cwd: ROOT,
    env: {
      IMBI_DATA_DIR: `${work}/data`,
      IMBI_LOCKFILE: `${work}/plugins.lock.json`,
      IMBI_ADMIN_TOKEN: admin,
      IMBI_PORT: String(port),
      IMBI_MIN_PACKAGE_AGE: "0",
      IMBI_SHUTDOWN_GRACE_MS: "10000",
      IMBI_LOG_LEVEL: "debug",
    },
    // Its own process group, as a container's init process tree has.
    detached: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const log = logLines(child.stderr);
  const base = `http://127.0.0.1:${port}`;
  try {
    await log.find('"msg":"listening"');
    const api = {
      async ok(method: string, path: string, options: { body?: unknown; status?: number } = {}) {
        const response = await fetch(`${base}${path}`, {
          method,
          headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
          ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
        });
        const text = await response.text();
        assert.equal(response.status, options.status ?? (method === "POST" ? 201 : 200), `${method} ${path}: ${text}`);
        return text ? JSON.parse(text) : undefined;
      },
    };
    const seed = await seedWalkthrough(api, { configOptions: { seed: { GREETING: "hello" }, latency_ms: 1500 } });
    const slow = fetch(`${base}/orgs/${seed.org}/projects/${seed.projectId}/configuration`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    // The call is sent to the process in the same turn the process reports ready; it then takes 1.5 s.
    const ready = JSON.parse(await log.find('"msg":"plugin process ready"'));
    const pluginPid = Number(ready.pid);
    assert.ok(isAlive(pluginPid));
    assert.equal(processGroup(child.pid), child.pid, "the service leads its group");
    const pluginGroup = processGroup(pluginPid);

    Deno.kill(-child.pid, "SIGTERM");

    const response = await slow;
    const body = await response.json();
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.equal(body.items[0].key, "GREETING");
    assert.notEqual(pluginGroup, child.pid, "the plugin process has a process group of its own");
    const status = await child.status;
    await log.done;
    assert.ok(status.success, `the service exited with ${JSON.stringify(status)}:\n${log.lines.join("\n")}`);
    const messages = log.lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l).msg as string);
    const order = ["stopping: no new connections; requests in flight may finish", "stopped"];
    assert.deepEqual(messages.filter((m) => order.includes(m)), order);
    assert.ok(!messages.includes("stopping: grace period over with requests in flight"));
    await waitGone(pluginPid);
  } finally {
    try {
      Deno.kill(-child.pid, "SIGKILL");
    } catch {
      // Already gone.
    }
    await child.status;
    await Deno.remove(work, { recursive: true });
  }
});
