/**
 * The lockfile under load and under a crash, through the admin API: 50
 * concurrent installs and removals of different packages lose none and tear
 * nothing, and a service killed in the middle of a lockfile write (the
 * `IMBI_LOCKFILE_FAULT=pause-mid-write` hook) restarts on a valid lockfile
 * whose history and audit log hold no trace of the write that never landed.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../core/config.ts";
import { readLockfile } from "../../core/packages/lockfile.ts";
import { addPackage } from "../../core/packages/changes/mod.ts";
import { packageStoreFor } from "../../core/packages/store.ts";
import { buildServices } from "../../core/wiring.ts";
import { createApp } from "../../routes/app.ts";
import { TestJsrRegistry } from "../support/jsr_registry.ts";
import { installLogScanner } from "../support/secret_scan.ts";
import { ROOT, startTestApp } from "../support/test_app.ts";

const CLOSED = "http://127.0.0.1:9/";
const DAY = 86_400_000;

/** Writes `count` tiny JSR packages `@imbi-test/<prefix>-<i>`, each exporting slug `<prefix>-<i>`, and publishes them. */
async function publishGenerated(jsr: TestJsrRegistry, prefix: string, count: number): Promise<() => Promise<void>> {
  const work = await Deno.makeTempDir({ prefix: `imbi-${prefix}-` });
  for (let i = 0; i < count; i++) {
    const dir = `${work}/${i}`;
    await Deno.mkdir(dir);
    await Deno.writeTextFile(
      `${dir}/deno.json`,
      JSON.stringify({ name: `@imbi-test/${prefix}-${i}`, exports: "./mod.ts" }),
    );
    await Deno.writeTextFile(
      `${dir}/mod.ts`,
      `export class Generated {\n  static manifest = { slug: "${prefix}-${i}", name: "Generated ${i}", ` +
        `plugin_type: "configuration", api_version: "^1.0.0", network: { hosts: [] } };\n}\n` +
        `export const plugins = [Generated];\n`,
    );
    await jsr.publish(`@imbi-test/${prefix}-${i}`, "1.0.0", dir, { createdAt: new Date(Date.now() - 2 * DAY) });
  }
  return () => Deno.remove(work, { recursive: true });
}

Deno.test("50 concurrent installs and removals through the admin API: every success is in the lockfile and history, no torn file", async () => {
  await using jsr = TestJsrRegistry.start();
  const cleanup = await publishGenerated(jsr, "conc", 50);
  const app = await startTestApp({ packages: [], env: { NPM_CONFIG_REGISTRY: CLOSED, JSR_URL: jsr.url } });
  try {
    const name = (i: number) => `@imbi-test/conc-${i}`;
    const first = await Promise.all(
      Array.from(
        { length: 25 },
        (_, i) =>
          app.request("POST", "/admin/plugins", { body: { specifier: `jsr:${name(i)}@1`, accept_permissions: true } }),
      ),
    );
    for (const r of first) assert.equal(r.status, 201, r.text);

    type Op = { kind: "install" | "remove"; pkg: string; expect: number };
    // Installs and removals interleaved, with refusals in the same burst (they must leave no trace).
    const ops: Op[] = Array.from({ length: 25 }, (_, i): Op[] => [
      { kind: "install", pkg: name(25 + i), expect: 201 },
      { kind: "remove", pkg: name(i), expect: 200 },
    ]).flat();
    ops.splice(10, 0, { kind: "install", pkg: "@imbi-test/conc-missing", expect: 502 });
    ops.splice(30, 0, { kind: "remove", pkg: "@imbi-test/conc-never-installed", expect: 404 });
    const results = await Promise.all(
      ops.map((op) =>
        op.kind === "install"
          ? app.request("POST", "/admin/plugins", { body: { specifier: `jsr:${op.pkg}@1`, accept_permissions: true } })
          : app.request("DELETE", `/admin/plugins/${op.pkg}`)
      ),
    );
    results.forEach((r, i) => assert.equal(r.status, ops[i]!.expect, `${ops[i]!.kind} ${ops[i]!.pkg}: ${r.text}`));

    const text = await Deno.readTextFile(app.lockfilePath);
    const lock = await readLockfile(app.lockfilePath); // parses and validates: not torn
    const installed = Array.from({ length: 25 }, (_, i) => name(25 + i)).sort();
    assert.deepEqual(Object.keys(lock.packages), installed);
    assert.equal(lock.revision, 1 + 25 + 50, "one revision per success, none per refusal");
    assert.ok(text.endsWith("}\n"));
    const revisions = results.filter((r) => r.status < 300).map((r) => r.body.revision).sort((a, b) => a - b);
    assert.deepEqual(revisions, Array.from({ length: 50 }, (_, i) => 27 + i), "every success has its own revision");

    const history = (await app.request("GET", "/admin/plugins/history")).body.items;
    // Revision 1 is the empty lockfile the test app wrote without the admin API: kept as an external snapshot.
    assert.deepEqual(
      history.map((h: { revision: number }) => h.revision),
      Array.from({ length: 76 }, (_, i) => 76 - i),
    );
    assert.equal(history.at(-1).action, "external");
    const audit = (await app.request("GET", "/admin/audit")).body.items;
    assert.equal(audit.length, 75);
    for (const [i, op] of ops.entries()) {
      if (results[i]!.status >= 300) {
        assert.ok(!history.some((h: { package: string }) => h.package === op.pkg), `refused ${op.pkg} in history`);
        continue;
      }
      const revision = results[i]!.body.revision;
      const record = history.find((h: { revision: number }) => h.revision === revision);
      assert.equal(record.action, op.kind, `${op.kind} ${op.pkg} at revision ${revision}`);
      assert.equal(record.package, op.pkg);
      const inLockfile = record.packages.some((p: { name: string }) => p.name === op.pkg);
      assert.equal(inLockfile, op.kind === "install", `revision ${revision} holds the change`);
      assert.ok(
        audit.some((a: { to_revision: number; package: string }) => a.to_revision === revision && a.package === op.pkg),
      );
    }
    const leftovers = [...Deno.readDirSync(app.dataDir)].map((e) => e.name).filter((n) => n.includes(".lock"));
    assert.deepEqual(leftovers.sort(), ["plugins.lock.history", "plugins.lock.json"], "no temp or lock files");
    assert.deepEqual(
      app.services.runtime.registry.loadedSlugs(),
      installed.map((n) => n.slice("@imbi-test/".length)).sort(),
    );
  } finally {
    await app.close();
    await cleanup();
  }
});

async function readUntil(
  reader: ReadableStreamDefaultReader<string>,
  pattern: RegExp,
  seen: string[],
): Promise<string> {
  let buffer = "";
  while (true) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the service exited before logging ${pattern}: ${seen.join("").slice(-2000)}`);
    seen.push(value);
    buffer += value;
    const lines = buffer.split("\n");
    buffer = lines.pop()!;
    const hit = lines.find((l) => pattern.test(l));
    if (hit) return hit;
  }
}

Deno.test("a service killed in the middle of a lockfile write restarts on a valid lockfile, and the write can be repeated", async () => {
  installLogScanner();
  await using jsr = TestJsrRegistry.start();
  const cleanup = await publishGenerated(jsr, "crash", 2);
  const dataDir = await Deno.makeTempDir({ prefix: "imbi-crash-" });
  const lockfilePath = `${dataDir}/plugins.lock.json`;
  const env = {
    IMBI_DATA_DIR: dataDir,
    IMBI_LOCKFILE: lockfilePath,
    IMBI_ADMIN_TOKEN: `admin-${crypto.randomUUID()}`,
    IMBI_MIN_PACKAGE_AGE: "0",
    JSR_URL: jsr.url,
    NO_COLOR: "1",
  };
  try {
    const config = loadConfig(env);
    await addPackage(`jsr:@imbi-test/crash-0@1`, {
      lockfilePath,
      store: packageStoreFor(config),
      addedBy: "tests",
    });
    const before = await Deno.readTextFile(lockfilePath);

    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${ROOT}main.ts`],
      cwd: ROOT,
      env: { ...env, IMBI_PORT: String(port), IMBI_LOCKFILE_FAULT: "pause-mid-write" },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    const seen: string[] = [];
    let request: Promise<unknown> | undefined;
    try {
      await readUntil(reader, /"msg":"listening"/, seen);
      request = fetch(`http://127.0.0.1:${port}/admin/plugins`, {
        method: "POST",
        headers: { authorization: `Bearer ${env.IMBI_ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ specifier: "jsr:@imbi-test/crash-1@1", accept_permissions: true }),
      }).then((r) => r.text(), (error) => error);
      await readUntil(reader, /lockfile fault hook: paused mid-write/, seen);
      child.kill("SIGKILL");
    } finally {
      await reader.cancel().catch(() => {});
      await child.status;
      await request;
    }

    const torn = [...Deno.readDirSync(dataDir)].filter((e) => e.name.endsWith(".tmp")).map((e) => e.name);
    assert.equal(torn.length, 1, "the killed writer left its half-written temp file");
    assert.equal(await Deno.readTextFile(lockfilePath), before, "the lockfile itself was never touched");

    const services = await buildServices(loadConfig(env));
    try {
      const app = createApp({ ...services, version: "test", clock: () => new Date() });
      const get = async (path: string) => {
        const r = await app.request(path, { headers: { authorization: `Bearer ${env.IMBI_ADMIN_TOKEN}` } });
        assert.equal(r.status, 200, path);
        return (await r.json()).items;
      };
      const plugins = await get("/admin/plugins");
      assert.deepEqual(plugins.map((p: { name: string; status: string }) => [p.name, p.status]), [
        ["@imbi-test/crash-0", "loaded"],
      ]);
      assert.deepEqual((await get("/admin/plugins/history")).map((h: { revision: number }) => h.revision), [1, 0]);
      assert.deepEqual((await get("/admin/audit")).map((a: { to_revision: number }) => a.to_revision), [1]);

      const again = await app.request("/admin/plugins", {
        method: "POST",
        headers: { authorization: `Bearer ${env.IMBI_ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ specifier: "jsr:@imbi-test/crash-1@1", accept_permissions: true }),
      });
      assert.equal(again.status, 201, await again.clone().text());
      assert.equal((await again.json()).revision, 2, "the dead writer's lock was broken");
      assert.deepEqual([...Deno.readDirSync(dataDir)].filter((e) => e.name.endsWith(".tmp")), []);
      const history = await get("/admin/plugins/history");
      assert.deepEqual(history.map((h: { revision: number }) => h.revision), [2, 1, 0]);
      assert.equal(history[0].package, "@imbi-test/crash-1");
      const audit = await get("/admin/audit");
      assert.deepEqual(audit.map((a: { to_revision: number }) => a.to_revision), [2, 1]);
      assert.equal(audit[0].actor, "admin-api:admin");
    } finally {
      await services.close();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
    await cleanup();
  }
});
