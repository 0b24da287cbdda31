/**
 * The package changes the CLI and the admin API share (`core/packages/changes/`,
 * with the catalog, history and audit modules) and the `plugins` CLI that
 * drives it from a shell: diffs, catalog parsing, history and audit records
 * of writers that died, a refused install leaving no trace in the package
 * store, and add → upgrade → history → rollback → remove → audit as a
 * deploy-from-git operator would run them.
 */
import assert from "node:assert/strict";
import { AuditLog, type AuditRecord } from "../../core/packages/audit.ts";
import {
  catalogInstallSpecifier,
  DEFAULT_CATALOG_PATH,
  parseCatalog,
  readCatalog,
} from "../../core/packages/catalog.ts";
import { emptyLockfile, type Lockfile, readLockfile, serializeLockfile } from "../../core/packages/lockfile.ts";
import { LockfileHistory } from "../../core/packages/history.ts";
import { PackageStore } from "../../core/packages/store.ts";
import { addPackage, diffPackages } from "../../core/packages/changes/mod.ts";
import { SqliteStore } from "../../core/graph/sqlite/store.ts";
import { runCli } from "../support/local.ts";
import { manifestPackages } from "../support/manifest_packages.ts";
import { installLogScanner } from "../support/secret_scan.ts";
import { FIXTURES, lockEntry, rejectsWith, ROOT, storeDirs, tempDir } from "./_helpers.ts";

const PACKAGES = `${FIXTURES}/packages`;

installLogScanner(); // keeps the expected warnings of refused installs out of the test output

function manifest(slug: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { slug, name: slug, plugin_type: "configuration", api_version: "^1.0.0", network: { hosts: [] }, ...extra };
}

const versions = (fromSlugs: string[] = []) => ({
  from: { version: "1.0.0", specifier: "npm:x@1.0.0", integrity: "sha512-a" },
  to: { version: "2.0.0", specifier: "npm:x@2.0.0", integrity: "sha512-b" },
  fromSlugs,
});

Deno.test("diffPackages() reports entry points added and removed, and api_version, host and credential changes", () => {
  const before = new Map<string, unknown>([
    ["keep", manifest("keep", { network: { hosts: ["a.example", "b.example"] }, credentials: [{ name: "token" }] })],
    ["gone", manifest("gone", { network: { hosts: ["gone.example"] } })],
    ["same", manifest("same")],
  ]);
  const after = new Map<string, unknown>([
    [
      "keep",
      manifest("keep", {
        api_version: "^1.1.0",
        network: { hosts: ["b.example", "c.example"] },
        credentials: [{ name: "token", required: false }, { name: "region", secret: false }],
      }),
    ],
    ["same", manifest("same")],
    ["new-one", manifest("new-one", { plugin_type: "logs", network: { hosts: ["logs.example:8443"] } })],
  ]);
  const diff = diffPackages(before, after, versions());
  assert.deepEqual(diff.entry_points, { added: ["new-one"], removed: ["gone"], unchanged: ["keep", "same"] });
  assert.equal(diff.previous_unavailable, null);
  assert.deepEqual(diff.changes.find((c) => c.slug === "keep"), {
    slug: "keep",
    change: "changed",
    api_version: { from: "^1.0.0", to: "^1.1.0" },
    network_hosts: { added: ["c.example"], removed: ["a.example"] },
    credential_fields: { added: ["region"], removed: [], changed: ["token"] },
  });
  assert.equal(diff.changes.find((c) => c.slug === "same"), undefined, "unchanged entries are not listed");
  assert.deepEqual(diff.changes.find((c) => c.slug === "gone")?.network_hosts, {
    added: [],
    removed: ["gone.example"],
  });
  assert.deepEqual(diff.summary, [
    "1.0.0 → 2.0.0 (npm:x@2.0.0)",
    "entry point added: new-one (logs, api_version ^1.0.0, network hosts: logs.example:8443, credential fields: none)",
    "entry point removed: gone",
    "keep: api_version ^1.0.0 → ^1.1.0",
    "keep: network hosts added c.example; removed a.example",
    "keep: credential fields added region (required, not secret); now token (optional, secret)",
  ]);
});

Deno.test("diffPackages() says when nothing an operator cares about changes, and when the old manifests are unreadable", () => {
  const same = new Map<string, unknown>([["one", manifest("one")]]);
  assert.deepEqual(diffPackages(same, same, versions()).summary, [
    "1.0.0 → 2.0.0 (npm:x@2.0.0)",
    "no change to entry points, api_version, network hosts or credential fields",
  ]);
  const blind = diffPackages(undefined, new Map([["one", manifest("one")], ["two", manifest("two")]]), {
    ...versions(["one", "old"]),
    previousUnavailable: "the cached bundle is gone",
  });
  assert.equal(blind.previous_unavailable, "the cached bundle is gone");
  assert.deepEqual(blind.entry_points, { added: ["two"], removed: ["old"], unchanged: ["one"] });
  assert.ok(blind.summary.includes("the installed version's manifests could not be read: the cached bundle is gone"));
});

Deno.test("parseCatalog() reads entries and refuses bad ones with the JSON pointer of the field", async () => {
  const good = parseCatalog(
    JSON.stringify({
      entries: [{
        name: "aws",
        description: "AWS",
        specifier: "npm:@imbi/plugin-aws@^1",
        plugin_types: ["configuration", "logs"],
        homepage: "https://example.test",
      }],
    }),
    "c.json",
  );
  assert.deepEqual(good, [{
    name: "aws",
    description: "AWS",
    specifier: "npm:@imbi/plugin-aws@^1",
    plugin_types: ["configuration", "logs"],
    homepage: "https://example.test",
    local_path: null,
  }]);
  const entry = { name: "x", description: "", specifier: "jsr:@a/b@^1", plugin_types: [] };
  const cases: [unknown, string][] = [
    [{ entries: [{ ...entry, name: "Bad Name" }] }, "/entries/0/name"],
    [{ entries: [entry, entry] }, "/entries/1/name"],
    [{ entries: [{ ...entry, specifier: "https://example.test/x.tgz" }] }, "/entries/0/specifier"],
    [{ entries: [{ ...entry, specifier: "npm:x@not a range!" }] }, "/entries/0/specifier"],
    [{ entries: [{ ...entry, plugin_types: "logs" }] }, "/entries/0/plugin_types"],
    [{ entries: [{ ...entry, homepage: "nope" }] }, "/entries/0/homepage"],
    [{ entries: [{ ...entry, extra: 1 }] }, "/entries/0/extra"],
    [{ entries: [{ ...entry, local_path: "plugins/aws" }] }, "/entries/0/local_path"],
    [{ packages: [] }, ""],
  ];
  for (const [value, pointer] of cases) {
    assert.throws(
      () => parseCatalog(JSON.stringify(value), "c.json"),
      (e: unknown) => e instanceof SyntaxError && e.message.startsWith(`Invalid catalog c.json at "${pointer}":`),
      JSON.stringify(value),
    );
  }
  assert.deepEqual(await readCatalog(`${FIXTURES}/admin/no-such-catalog.json`), { path: null, entries: [] });
  const fixture = await readCatalog(`${FIXTURES}/admin/catalog.json`);
  const local = fixture.entries.find((e) => e.name === "local-good")!;
  assert.equal(catalogInstallSpecifier(fixture, local), `${PACKAGES}/local-good`, "relative to the catalog file");
  // The catalog versioned with the code parses, and every entry installs from a registry with a range.
  const shipped = await readCatalog(DEFAULT_CATALOG_PATH);
  assert.ok(shipped.entries.length > 0);
  for (const e of shipped.entries) assert.match(e.specifier, /^(npm|jsr):.+@[~^]?\d/, e.name);
});

function record(to: number, extra: Partial<AuditRecord> = {}): AuditRecord {
  return {
    at: "2026-01-01T00:00:00.000Z",
    actor: "cli:test",
    request_id: null,
    action: "install",
    package: `p${to}`,
    from_revision: to - 1,
    to_revision: to,
    detail: {},
    lockfile: "/srv/plugins.lock.json",
    ...extra,
  };
}

Deno.test("AuditLog.read() keeps the last line per revision, drops revisions that never landed and torn lines", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const audit = new AuditLog(`${dir}/audit.jsonl`);
  await audit.append(record(1));
  await audit.append(record(2, { package: "died-before-rename" }));
  await audit.append(record(2));
  await audit.append(record(3, { package: "died-again" }));
  await audit.append(record(1, { lockfile: "/other/plugins.lock.json" }));
  await Deno.writeTextFile(`${dir}/audit.jsonl`, '{"at":"2026-01-01T00:00:00.000Z","act', { append: true });
  const read = await audit.read({ lockfile: "/srv/plugins.lock.json", currentRevision: 2 });
  assert.deepEqual(read.map((r) => [r.to_revision, r.package]), [[2, "p2"], [1, "p1"]]);
  assert.deepEqual(await new AuditLog(`${dir}/none.jsonl`).read({ lockfile: "/x", currentRevision: 9 }), []);
});

function lockfileWith(revision: number, names: string[]): Lockfile {
  const lock = emptyLockfile();
  lock.revision = revision;
  for (const name of names) {
    lock.packages[name] = lockEntry({
      specifier: `npm:${name}@1.0.0`,
      version: "1.0.0",
      integrity: "sha256-" + btoa(String.fromCharCode(...new Uint8Array(32).fill(7))),
      entry_points: [name],
    });
  }
  return lock;
}

Deno.test("LockfileHistory lists kept revisions up to the current one and snapshots a hand-written one", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const history = LockfileHistory.beside(`${dir}/plugins.lock.json`);
  assert.equal(history.dir, `${dir}/plugins.lock.history`);
  const written = (revision: number, names: string[]) => ({
    revision,
    written_at: "2026-01-01T00:00:00.000Z",
    written_by: "cli:test",
    request_id: null,
    action: "install" as const,
    package: names.at(-1) ?? null,
    from_revision: revision - 1,
    summary: `install ${names.at(-1)}`,
    lockfile: lockfileWith(revision, names),
  });
  await history.write(written(1, ["pkg-a"]));
  await history.write(written(2, ["pkg-a", "pkg-b"]));
  await history.write(written(3, ["pkg-a", "pkg-b", "never-landed"]));
  const listed = await history.list(lockfileWith(2, ["pkg-a", "pkg-b"]));
  assert.deepEqual(listed.map((r) => [r.revision, r.action]), [[2, "install"], [1, "install"]]);
  // The file at revision 2 was edited by hand: the listing and reconcile() show what is really there.
  const edited = lockfileWith(2, ["pkg-a", "by-hand"]);
  assert.deepEqual((await history.list(edited))[0]!.action, "external");
  await history.reconcile(edited);
  const kept = await history.get(2);
  assert.equal(kept!.action, "external");
  assert.equal(serializeLockfile(kept!.lockfile), serializeLockfile(edited));
  await history.reconcile(edited);
  assert.deepEqual((await Array.fromAsync(Deno.readDir(history.dir))).map((e) => e.name).sort(), [
    "r00000001.json",
    "r00000002.json",
    "r00000003.json",
  ]);
});

Deno.test("addPackage() removes the store directory a refused install created, and keeps one that was there before", async () => {
  await using tmp = await tempDir();
  await using packages = await manifestPackages();
  const data = tmp.path;
  const store = new PackageStore(data, { projectRoot: ROOT });
  const one = `${data}/one/plugins.lock.json`;
  const two = `${data}/two/plugins.lock.json`;
  await Deno.mkdir(`${data}/one`);
  await Deno.mkdir(`${data}/two`);
  await addPackage(packages.dir("clash-a"), { lockfilePath: one, store });
  const withA = storeDirs(store);
  assert.equal(withA.length, 1);

  await rejectsWith(addPackage(packages.dir("incompatible"), { lockfilePath: one, store }), "refused");
  await rejectsWith(addPackage(packages.dir("clash-b"), { lockfilePath: one, store }), "refused");
  assert.deepEqual(storeDirs(store), withA, "refused installs left no store directory");

  await addPackage(packages.dir("clash-b"), { lockfilePath: two, store });
  const withB = storeDirs(store);
  assert.equal(withB.length, 2);
  await rejectsWith(addPackage(packages.dir("clash-b"), { lockfilePath: one, store }), "refused");
  assert.deepEqual(storeDirs(store), withB, "a directory another lockfile uses is kept");

  // Two concurrent attempts at the same content: one refusal must not delete what the other installs.
  const [refused, added] = await Promise.allSettled([
    addPackage(packages.dir("two-entries"), {
      lockfilePath: two,
      store,
      // Refused after the fetch, while the other attempt may still hold the directory.
      inspect: () => Promise.resolve({ ok: false, reason: "inspection refused for the test" }),
    }),
    addPackage(packages.dir("two-entries"), { lockfilePath: two, store }),
  ]);
  assert.equal(refused.status, "rejected");
  assert.equal(added.status, "fulfilled", added.status === "rejected" ? String(added.reason) : "");
  const lock = await readLockfile(two);
  const entry = lock.packages["@imbi-test/two-entries"]!;
  assert.ok(
    storeDirs(store).includes(store.dirName("@imbi-test/two-entries", entry.version, entry.integrity)),
    "the installed package's directory survived the other attempt's refusal",
  );
});

function cli(args: string[], options: { cwd: string; env: Record<string, string> }) {
  return runCli(`${ROOT}/cli/plugins.ts`, args, { cwd: options.cwd, env: { ...options.env, IMBI_LOG_LEVEL: "warn" } });
}

Deno.test("plugins CLI: add, upgrade with a diff, history, rollback, remove (refused while used, then forced), audit", async () => {
  await using tmp = await tempDir("imbi-cli-admin-");
  const work = tmp.path;
  const pkg = `${work}/plugins/probe`;
  await Deno.mkdir(pkg, { recursive: true });
  const write = async (version: string, hosts: string[]) => {
    await Deno.writeTextFile(
      `${pkg}/deno.json`,
      JSON.stringify({ name: "@imbi-test/cli-probe", version, exports: "./mod.ts" }),
    );
    await Deno.writeTextFile(
      `${pkg}/mod.ts`,
      `export class Probe {\n  static manifest = ${
        JSON.stringify(manifest("cli-probe", { network: { hosts } }))
      };\n}\nexport const plugins = [Probe];\n`,
    );
  };
  await write("1.0.0", ["one.example"]);
  const env = {
    IMBI_LOCKFILE: `${work}/plugins.lock.json`,
    IMBI_DATA_DIR: `${work}/data`,
    USER: "ops",
  };
  const run = async (args: string[], code = 0) => {
    const r = await cli(args, { cwd: work, env });
    assert.equal(r.code, code, `plugins ${args.join(" ")}: ${r.stderr}${r.stdout}`);
    return r;
  };

  const unaccepted = await run(["add", "./plugins/probe"], 1);
  assert.match(
    unaccepted.stderr,
    /its permissions were not accepted\. cli-probe: network hosts one\.example:443 \(allowed\)/,
  );
  assert.match(unaccepted.stderr, /run the command again with --yes to accept them/);
  assert.equal(await Deno.stat(env.IMBI_LOCKFILE).catch(() => null), null, "nothing written without --yes");
  const add = await run(["add", "./plugins/probe", "--yes"]);
  assert.match(add.stdout, /added @imbi-test\/cli-probe \.\/plugins\/probe .*lockfile revision 1/);
  assert.match(add.stdout, /permissions accepted: cli-probe: network hosts one\.example:443 \(allowed\)/);
  assert.match(add.stderr, /bundle +bundling @imbi-test\/cli-probe/, "progress while fetching");

  await write("2.0.0", ["one.example", "two.example"]);
  const notYet = await run(["upgrade", "@imbi-test/cli-probe", "^2"], 1);
  assert.match(notYet.stderr, /New in 2\.0\.0: network hosts cli-probe: two\.example:443; credential fields none/);
  assert.equal((await readLockfile(env.IMBI_LOCKFILE)).revision, 1, "nothing written without --yes");
  const upgrade = await run(["upgrade", "@imbi-test/cli-probe", "^2", "--yes"]);
  assert.match(upgrade.stdout, /upgraded @imbi-test\/cli-probe; lockfile revision 2/);
  assert.match(upgrade.stdout, /1\.0\.0 → 2\.0\.0/);
  assert.match(upgrade.stdout, /cli-probe: network hosts added two\.example/);
  const wrong = await run(["upgrade", "@imbi-test/cli-probe", "^3", "--yes"], 1);
  assert.match(wrong.stderr, /has version 2\.0\.0, which is not "\^3"/);

  const history = await run(["history"]);
  assert.match(history.stdout, /^\* +2 .* cli:ops +upgrade @imbi-test\/cli-probe 1\.0\.0 → 2\.0\.0$/m);
  assert.match(history.stdout, /^ +1 .* cli:ops +install @imbi-test\/cli-probe 1\.0\.0$/m);

  // Revision 1 pins the directory's old content: refused while the directory holds version 2.
  const stale = await run(["rollback", "1"], 1);
  assert.match(
    stale.stderr,
    /Cannot roll back to revision 1: package "@imbi-test\/cli-probe" \(\.\/plugins\/probe\)/,
  );
  await write("1.0.0", ["one.example"]);
  const rollback = await run(["rollback", "1"]);
  assert.match(rollback.stdout, /restored revision 1 as lockfile revision 3/);
  assert.equal((await readLockfile(env.IMBI_LOCKFILE)).packages["@imbi-test/cli-probe"]!.version, "1.0.0");

  const graph = SqliteStore.open(`${work}/data/graph.sqlite`);
  try {
    await graph.createOrg({ slug: "acme", name: "Acme" });
    await graph.createService("acme", {
      slug: "svc",
      name: "Svc",
      vendor: null,
      base_url: null,
      account: null,
      region: null,
    });
    await graph.createPlugin("acme", "svc", {
      slug: "probe",
      service: "svc",
      application: null,
      plugin: "cli-probe",
      plugin_type: "configuration",
      label: "Probe",
      options: {},
      enabled: true,
    });
  } finally {
    await graph.close();
  }
  const used = await run(["remove", "@imbi-test/cli-probe"], 1);
  assert.match(used.stderr, /Cannot remove "@imbi-test\/cli-probe": Plugin nodes use its entry points/);
  assert.match(used.stderr, /in use by acme\/svc\/probe \(cli-probe\)/);
  const forced = await run(["remove", "@imbi-test/cli-probe", "--force"]);
  assert.match(forced.stdout, /removed @imbi-test\/cli-probe .*lockfile revision 4/);
  assert.match(forced.stdout, /disabled Plugin node acme\/svc\/probe \(cli-probe\)/);

  const audit = JSON.parse((await run(["audit", "--json"])).stdout) as AuditRecord[];
  assert.deepEqual(audit.map((a) => [a.action, a.from_revision, a.to_revision, a.actor]), [
    ["remove", 3, 4, "cli:ops"],
    ["rollback", 2, 3, "cli:ops"],
    ["upgrade", 1, 2, "cli:ops"],
    ["install", 0, 1, "cli:ops"],
  ]);
  assert.equal(audit[0]!.detail.force, true);
  const usage = await run(["rollback", "latest"], 2);
  assert.match(usage.stderr, /usage: deno task plugins rollback <revision>/);
});
