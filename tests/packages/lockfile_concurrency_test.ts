/**
 * The lock state under load and the lockfile under a crash: 50 concurrent
 * installs and removals of different packages through the admin API lose
 * none in the graph store's lock state, and a `plugins` CLI killed in the
 * middle of a lockfile write (the `IMBI_LOCKFILE_FAULT=pause-mid-write`
 * hook) leaves a valid lockfile whose history and audit log hold no trace of
 * the write that never landed.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../core/config.ts";
import { readLockfile } from "../../core/packages/lockfile.ts";
import { addPackage, auditRecords, lockfileRevisions } from "../../core/packages/changes/mod.ts";
import { packageStoreFor } from "../../core/packages/store.ts";
import { TestJsrRegistry } from "../support/jsr_registry.ts";
import { installLogScanner } from "../support/secret_scan.ts";
import { ROOT, startTestApp } from "../support/test_app.ts";
import { CLOSED } from "../support/local.ts";

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

Deno.test("50 concurrent installs and removals through the admin API: every success is in the lock state and history", async () => {
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

    const lock = await app.services.lock.read(); // parses and validates the stored document
    const installed = Array.from({ length: 25 }, (_, i) => name(25 + i)).sort();
    assert.deepEqual(Object.keys(lock.packages), installed);
    assert.equal(lock.revision, 1 + 25 + 50, "one revision per success, none per refusal");
    const revisions = results.filter((r) => r.status < 300).map((r) => r.body.revision).sort((a, b) => a - b);
    assert.deepEqual(revisions, Array.from({ length: 50 }, (_, i) => 27 + i), "every success has its own revision");

    const history = (await app.request("GET", "/admin/plugins/history")).body.items;
    // Revision 1 is the (empty) lockfile the test app wrote, imported at the first start.
    assert.deepEqual(
      history.map((h: { revision: number }) => h.revision),
      Array.from({ length: 76 }, (_, i) => 76 - i),
    );
    assert.equal(history.at(-1).action, "import");
    const audit = (await app.request("GET", "/admin/audit?target_kind=package&limit=1000")).body.items;
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
        audit.some((a: { detail: { to_revision: number }; action: string; target: string }) =>
          a.detail.to_revision === revision && a.target === op.pkg && a.action === `package.${op.kind}`
        ),
      );
    }
    const leftovers = [...Deno.readDirSync(app.dataDir)].map((e) => e.name).filter((n) => n.includes(".lock"));
    assert.deepEqual(leftovers, ["plugins.lock.json"], "the admin API never writes the file");
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

Deno.test("a plugins CLI killed in the middle of a lockfile write leaves a valid lockfile, and the write can be repeated", async () => {
  installLogScanner();
  await using jsr = TestJsrRegistry.start();
  const cleanup = await publishGenerated(jsr, "crash", 2);
  const dataDir = await Deno.makeTempDir({ prefix: "imbi-crash-" });
  const lockfilePath = `${dataDir}/plugins.lock.json`;
  const env = {
    IMBI_DATA_DIR: dataDir,
    IMBI_LOCKFILE: lockfilePath,
    IMBI_MIN_PACKAGE_AGE: "0",
    JSR_URL: jsr.url,
    NO_COLOR: "1",
  };
  try {
    const config = loadConfig(env);
    const store = packageStoreFor(config);
    await addPackage(`jsr:@imbi-test/crash-0@1`, { lockfilePath, store, addedBy: "tests" });
    const before = await Deno.readTextFile(lockfilePath);

    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${ROOT}cli/plugins.ts`, "add", "jsr:@imbi-test/crash-1@1", "--yes"],
      cwd: ROOT,
      env: { ...env, IMBI_LOCKFILE_FAULT: "pause-mid-write" },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    const seen: string[] = [];
    try {
      await readUntil(reader, /lockfile fault hook: paused mid-write/, seen);
      child.kill("SIGKILL");
    } finally {
      await reader.cancel().catch(() => {});
      await child.status;
    }

    const torn = [...Deno.readDirSync(dataDir)].filter((e) => e.name.endsWith(".tmp")).map((e) => e.name);
    assert.equal(torn.length, 1, "the killed writer left its half-written temp file");
    assert.equal(await Deno.readTextFile(lockfilePath), before, "the lockfile itself was never touched");
    assert.equal((await readLockfile(lockfilePath)).revision, 1);
    assert.deepEqual((await lockfileRevisions({ lockfilePath })).map((h) => h.revision), [1, 0]);
    assert.deepEqual((await auditRecords({ lockfilePath, store })).map((a) => a.to_revision), [1]);

    const again = await addPackage(`jsr:@imbi-test/crash-1@1`, { lockfilePath, store, addedBy: "tests" });
    assert.equal(again.lockfile.revision, 2, "the dead writer's lock was broken");
    assert.deepEqual([...Deno.readDirSync(dataDir)].filter((e) => e.name.endsWith(".tmp")), []);
    const history = await lockfileRevisions({ lockfilePath });
    assert.deepEqual(history.map((h) => h.revision), [2, 1, 0]);
    assert.equal(history[0]!.package, "@imbi-test/crash-1");
    const audit = await auditRecords({ lockfilePath, store });
    assert.deepEqual(audit.map((a) => a.to_revision), [2, 1]);
    assert.equal(audit[0]!.actor, "tests");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
    await cleanup();
  }
});
