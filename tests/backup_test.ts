/**
 * `deno task backup` while `deno task serve` runs and takes writes, then
 * `deno task restore` into an empty data directory and the service started
 * on it: every tab answers, the token and keys came along when asked for,
 * and without them readiness says the credentials are unreadable.
 */
import assert from "node:assert/strict";
import { restoreBackup, takeBackup } from "../core/ops/backup.ts";
import { runCommand } from "./support/command.ts";
import { seedWalkthrough } from "./support/seed.ts";
import { serve, type ServeProcess as Served } from "./support/serve_process.ts";
import { DEMO_PACKAGES, lockLocalPackages, ROOT } from "./support/test_app.ts";

/** `app.ok` over HTTP, for the seed helpers. */
function client(service: Served, token: string) {
  return {
    // deno-lint-ignore no-explicit-any
    async ok(method: string, path: string, options: { body?: unknown; status?: number } = {}): Promise<any> {
      const response = await fetch(`${service.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      });
      const text = await response.text();
      assert.equal(response.status, options.status ?? (method === "POST" ? 201 : 200), `${method} ${path}: ${text}`);
      return text ? JSON.parse(text) : undefined;
    },
  };
}

function task(name: string, args: string[], env: Record<string, string>) {
  return runCommand(`${ROOT}bin/deno`, ["task", "-q", name, ...args], { cwd: ROOT, env });
}

Deno.test("deno task backup and deno task restore", async (t) => {
  const work = await Deno.makeTempDir({ prefix: "imbi-backup-" });
  const live = { IMBI_DATA_DIR: `${work}/live/data`, IMBI_LOCKFILE: `${work}/live/plugins.lock.json` };
  const restored = { IMBI_DATA_DIR: `${work}/restored/data`, IMBI_LOCKFILE: `${work}/restored/plugins.lock.json` };
  const common = { IMBI_PORT: "0", IMBI_MIN_PACKAGE_AGE: "0" };
  await Deno.mkdir(`${work}/live`);
  await lockLocalPackages(live.IMBI_LOCKFILE, DEMO_PACKAGES);
  try {
    const service = await serve({ ...common, ...live });
    let token = "";
    let window = { before: 0, after: 0 };
    try {
      token = (await Deno.readTextFile(`${live.IMBI_DATA_DIR}/admin.token`)).trim();
      const api = client(service, token);
      await seedWalkthrough(api);

      await t.step("backup while the service serves and writes", async () => {
        let writing = true;
        let written = 0;
        const writes = (async () => {
          for (let i = 0; writing; i++) {
            await api.ok("POST", "/orgs/acme/projects", { body: { slug: `busy-${i}`, name: `Busy ${i}` } });
            written++;
          }
        })();
        while (written < 5) await new Promise((resolve) => setTimeout(resolve, 10));
        const before = written;
        const backup = await task("backup", [`${work}/full`, "--include-secrets"], { ...common, ...live });
        window = { before, after: written };
        const partial = await task("backup", [`${work}/partial`], { ...common, ...live });
        writing = false;
        await writes;
        assert.equal(backup.code, 0, backup.text);
        assert.equal(partial.code, 0, partial.text);
        const manifest = JSON.parse(await Deno.readTextFile(`${work}/full/backup.json`));
        assert.equal(manifest.store, "sqlite");
        assert.equal(manifest.includes_secrets, true);
        assert.deepEqual(
          Object.keys(manifest.files).filter((f) => !f.startsWith("plugins.lock.history/")),
          ["audit.jsonl", "graph.sqlite", "plugins.lock.json", "secrets/admin.token", "secrets/encryption.keys"]
            .filter((f) => f !== "audit.jsonl" || manifest.files[f]),
        );
        assert.equal((await Deno.stat(`${work}/full/secrets/encryption.keys`)).mode! & 0o777, 0o600);
        const noSecrets = JSON.parse(await Deno.readTextFile(`${work}/partial/backup.json`));
        assert.equal(noSecrets.includes_secrets, false);
        assert.ok(!Object.keys(noSecrets.files).some((f) => f.startsWith("secrets/")));
        const names = [];
        for await (const entry of Deno.readDir(work)) names.push(entry.name);
        assert.deepEqual(names.sort(), ["full", "live", "partial"], "no staging directory left behind");
      });

      await t.step("backup refuses a directory that is not empty, in one line", async () => {
        const again = await task("backup", [`${work}/full`], { ...common, ...live });
        assert.equal(again.code, 1);
        assert.equal(again.stderr.trim().split("\n").length, 1, again.stderr);
        assert.match(again.stderr, /^backup: .*full is not empty/);
      });
    } finally {
      const status = await service.stop();
      assert.equal(status.code, 0, service.lines.slice(-10).join("\n"));
    }

    await t.step("restore into an empty data directory; the service starts on it and every tab answers", async () => {
      const result = await task("restore", [`${work}/full`], { ...common, ...restored });
      assert.equal(result.code, 0, result.text);
      const again = await task("restore", [`${work}/full`], { ...common, ...restored });
      assert.equal(again.code, 1);
      assert.match(again.stderr, /^restore: the data directory .* is not empty/);
      const copy = await serve({ ...common, ...restored });
      try {
        assert.equal((await Deno.readTextFile(`${restored.IMBI_DATA_DIR}/admin.token`)).trim(), token);
        const api = client(copy, token);
        const ready = await api.ok("GET", "/readyz");
        assert.equal(ready.keys, "ok");
        const keys = await api.ok("GET", "/orgs/acme/projects/web/configuration");
        assert.deepEqual(keys.items.map((k: { key: string }) => k.key), ["GREETING"]);
        const values = await api.ok("POST", "/orgs/acme/projects/web/configuration/values", { body: {}, status: 200 });
        assert.equal(values.items[0].value, "hello");
        const logs = await api.ok("GET", "/orgs/acme/projects/web/logs");
        assert.ok(Array.isArray(logs.entries));
        assert.equal(logs.source.plugin, "demo-logs");
        const busy = (await api.ok("GET", "/orgs/acme/projects")).items.filter((p: { slug: string }) =>
          p.slug.startsWith("busy-")
        );
        assert.ok(busy.length >= window.before, `${busy.length} projects, ${window.before} written before the backup`);
        assert.ok(busy.length <= window.after + 1, `${busy.length} projects, ${window.after} written by its end`);
      } finally {
        await copy.stop();
      }
    });

    await t.step("a backup without secrets restores, and /readyz says the keys are missing", async () => {
      const elsewhere = { IMBI_DATA_DIR: `${work}/bare/data`, IMBI_LOCKFILE: `${work}/bare/plugins.lock.json` };
      assert.equal((await task("restore", [`${work}/partial`], { ...common, ...elsewhere })).code, 0);
      const copy = await serve({ ...common, ...elsewhere });
      try {
        const response = await fetch(`${copy.url}/readyz`);
        const body = await response.json();
        assert.equal(response.status, 503);
        assert.match(body.reasons[0], /cannot decrypt application acme\/demo\/default/);
      } finally {
        await copy.stop();
      }
    });

    await t.step("a changed file fails the check and nothing is written", async () => {
      await Deno.writeTextFile(`${work}/full/plugins.lock.json`, "{}\n");
      const target = { IMBI_DATA_DIR: `${work}/tampered/data`, IMBI_LOCKFILE: `${work}/tampered/plugins.lock.json` };
      const result = await task("restore", [`${work}/full`], { ...common, ...target });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^restore: plugins\.lock\.json changed since the backup was taken/);
      assert.equal(await Deno.stat(`${work}/tampered`).then(() => true, () => false), false);
    });
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});

Deno.test("takeBackup() on Neo4j copies what lives outside it; restoreBackup() keeps the stores apart", async () => {
  const work = await Deno.makeTempDir({ prefix: "imbi-backup-neo4j-" });
  try {
    const neo4j = {
      dataDir: `${work}/data`,
      lockfilePath: `${work}/plugins.lock.json`,
      graph: { kind: "neo4j" as const, url: "bolt://127.0.0.1:9", user: "neo4j", password: "unused" },
    };
    await lockLocalPackages(neo4j.lockfilePath, DEMO_PACKAGES);
    await Deno.mkdir(neo4j.dataDir);
    await Deno.writeTextFile(`${neo4j.dataDir}/audit.jsonl`, "");
    const manifest = await takeBackup(`${work}/copy`, neo4j, { includeSecrets: true });
    assert.equal(manifest.store, "neo4j");
    assert.equal(manifest.lock_revision, 1);
    assert.ok(!("graph.sqlite" in manifest.files));
    assert.ok("plugins.lock.json" in manifest.files && "audit.jsonl" in manifest.files);

    const sqliteCopy = `${work}/sqlite-copy`;
    await Deno.mkdir(sqliteCopy);
    await Deno.writeTextFile(`${sqliteCopy}/graph.sqlite`, "not a database");
    const bytes = await Deno.readFile(`${sqliteCopy}/graph.sqlite`);
    const sha256 = Array.from(
      new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
    await Deno.writeTextFile(
      `${sqliteCopy}/backup.json`,
      JSON.stringify({ ...manifest, store: "sqlite", files: { "graph.sqlite": { sha256, bytes: bytes.length } } }),
    );
    const target = { ...neo4j, dataDir: `${work}/restored`, lockfilePath: `${work}/restored.lock.json` };
    await assert.rejects(restoreBackup(sqliteCopy, target), /holds an embedded \(SQLite\) graph but IMBI_GRAPH_URL/);
    assert.equal(await Deno.stat(target.dataDir).then(() => true, () => false), false, "nothing written");
    const { written } = await restoreBackup(`${work}/copy`, target);
    assert.deepEqual(written.map((p) => p.slice(work.length)).sort(), [
      "/restored.lock.json",
      "/restored/audit.jsonl",
    ]);
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});
