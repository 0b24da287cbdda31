/**
 * The package store, addPackage() and the plugins CLI against real
 * registries on loopback: Verdaccio (npm, from tests/setup/verdaccio.ts) and
 * the in-process JSR registry. Packages published here are minutes old, so
 * these stores run with the minimum-age policy off, except where the policy
 * itself is under test.
 */
import assert from "node:assert/strict";
import { log } from "../../core/logger.ts";
import { hashTree } from "../../core/packages/integrity.ts";
import { readLockfile } from "../../core/packages/lockfile.ts";
import { PackageStore, type ProgressEvent } from "../../core/packages/store.ts";
import { addPackage } from "../../core/packages/changes/mod.ts";
import { inspectBundle } from "../../core/sandbox/inspect.ts";
import { TestJsrRegistry } from "../support/jsr_registry.ts";
import { publishFixture } from "../support/npm_publish.ts";
import { serviceUrl } from "../support/services.ts";
import { type ManifestPackage, writeManifestPackage } from "../support/manifest_packages.ts";
import { type CliOutput, CLOSED, runCli } from "../support/local.ts";
import { FIXTURES, lockEntry, rejectsWith, ROOT, storeDirs, tempDir } from "./_helpers.ts";

const PACKAGES = `${FIXTURES}/packages`;
const NPM = serviceUrl("IMBI_TEST_NPM_REGISTRY");
const NPM_STORAGE = Deno.env.get("IMBI_TEST_NPM_STORAGE");
const DAY = 86_400_000;

/** A package the tamper test corrupts in the registry's storage: a new name per run, never reused. */
const TAMPER = `@imbi-test/plugin-tamper-${crypto.randomUUID().slice(0, 8)}`;

let published: Promise<void> | undefined;

/**
 * Publishes the npm fixtures once per run: helper 1.0.0, plugin-good 1.0.0, 1.1.0 and 2.0.0 (kept when a
 * previous run against the same registry published them), and {@linkcode TAMPER} 1.0.0.
 */
function publishOnce(): Promise<void> {
  published ??= (async () => {
    await publishFixture(NPM!, `${PACKAGES}/npm-helper`, { unlessPublished: true });
    for (const version of ["1.0.0", "1.1.0", "2.0.0"]) {
      await publishFixture(NPM!, `${PACKAGES}/npm-good`, { version, unlessPublished: true });
    }
    await publishFixture(NPM!, `${PACKAGES}/npm-good`, { name: TAMPER });
  })();
  return published;
}

/**
 * A test against the loopback npm registry (skipped without one), run with the fixtures published, a data directory
 * and a staging directory outside it.
 */
function npmTest(name: string, fn: (data: string, stagingDir: string) => Promise<void>): void {
  Deno.test({
    name,
    ignore: !NPM,
    async fn() {
      await publishOnce();
      await using tmp = await tempDir();
      await using staging = await tempDir("imbi-staging-test-");
      await fn(tmp.path, staging.path);
    },
  });
}

/** Nothing was staged in the data directory, and nothing is left in the staging directory. */
function assertNoStaging(store: PackageStore, stagingDir: string): void {
  assert.deepEqual([...Deno.readDirSync(stagingDir)], []);
  assert.ok(!storeDirsWithDots(store).includes(".staging"), "nothing is staged inside the data directory");
}

function storeDirsWithDots(store: PackageStore): string[] {
  return [...Deno.readDirSync(store.root)].map((e) => e.name);
}

npmTest(
  "PackageStore installs an npm plugin with an npm dependency, verified and bundled",
  async (data, stagingDir) => {
    const store = new PackageStore(data, { npmRegistry: NPM!, minPackageAgeMs: 0, projectRoot: ROOT, stagingDir });
    const events: ProgressEvent[] = [];
    const started = performance.now();
    const resolved = await store.resolve("npm:@imbi-test/plugin-good@^1.0.0");
    const stored = await store.fetch(resolved, { onProgress: (e) => events.push(e) });
    const installMs = performance.now() - started;
    log.info("measured: npm plugin install (resolve, download, verify, bundle)", { ms: Math.round(installMs) });

    assert.equal(resolved.version, "1.1.0", "the highest 1.x, not 2.0.0");
    assert.equal(resolved.specifier, "npm:@imbi-test/plugin-good@1.1.0");
    assert.ok(resolved.publishedAt instanceof Date);
    assert.match(stored.integrity, /^sha512-/);
    const packument = await (await fetch(`${NPM}@imbi-test%2fplugin-good`)).json();
    assert.equal(stored.integrity, packument.versions["1.1.0"].dist.integrity);
    assert.deepEqual(events.map((e) => e.phase).filter((p, i, a) => a.indexOf(p) === i), [
      "download",
      "verify",
      "bundle",
      "ready",
    ]);
    const inspected = await inspectBundle(stored.bundlePath);
    assert.ok(inspected.ok);
    const manifest = inspected.entries[0]!.manifest as { slug: string; description: string };
    assert.equal(manifest.slug, "npm-good-config");
    assert.equal(manifest.description, "hello from helper, npm", "the npm dependency is inside the bundle");
    assert.deepEqual(storeDirs(store), [store.dirName("@imbi-test/plugin-good", "1.1.0", stored.integrity)]);
    assertNoStaging(store, stagingDir);

    // Warm cache with every registry unreachable: verified from disk alone.
    const offline = new PackageStore(data, { npmRegistry: CLOSED, jsrUrl: CLOSED, projectRoot: ROOT });
    const warm = await offline.ensure(resolved.name, lockEntry({ ...stored, entry_points: ["npm-good-config"] }));
    assert.equal(warm.bundlePath, stored.bundlePath);
    // ...and a cold cache with the registry unreachable is a registry error, not a crash.
    await Deno.remove(stored.dir, { recursive: true });
    const cold = await rejectsWith(offline.ensure(resolved.name, lockEntry(stored)), "registry");
    assert.match(cold.message, /Cannot reach the npm registry/);
    // The pinned version comes back from the registry and verifies.
    const refetched = await store.ensure(resolved.name, lockEntry(stored));
    assert.equal(refetched.dir, stored.dir);
  },
);

npmTest(
  "PackageStore.resolve() refuses a version younger than the minimum age and says when it becomes installable",
  async (data) => {
    const packument = await (await fetch(`${NPM}@imbi-test%2fplugin-good`)).json();
    const published = new Date(packument.time["2.0.0"]);
    const store = new PackageStore(data, { npmRegistry: NPM!, minPackageAgeMs: DAY });
    const error = await rejectsWith(store.resolve("npm:@imbi-test/plugin-good@2.0.0"), "too_young");
    const installable = new Date(published.getTime() + DAY).toISOString();
    assert.equal(
      error.message,
      `npm:@imbi-test/plugin-good@2.0.0 was published at ${published.toISOString()}, less than the minimum ` +
        `package age of 1d ago; it becomes installable at ${installable}`,
    );
    assert.equal(error.extra.installable_at, installable);
    // The same version once it is a day old; a range picks the newest old-enough version.
    const later = new PackageStore(data, {
      npmRegistry: NPM!,
      minPackageAgeMs: DAY,
      now: () => new Date(published.getTime() + DAY + 1000),
    });
    assert.equal((await later.resolve("npm:@imbi-test/plugin-good@2.0.0")).version, "2.0.0");
    const oneAged = new Date(packument.time["1.0.0"]).getTime() + DAY;
    const mixed = new PackageStore(data, {
      npmRegistry: NPM!,
      minPackageAgeMs: DAY,
      now: () => new Date(Math.min(oneAged + 1, new Date(packument.time["1.1.0"]).getTime() + DAY - 1)),
    });
    assert.equal((await mixed.resolve("npm:@imbi-test/plugin-good@^1")).version, "1.0.0");
    await rejectsWith(store.resolve("npm:@imbi-test/plugin-good@^3"), "registry");
    await rejectsWith(store.resolve("npm:@imbi-test/no-such-package@1"), "registry");
    assert.deepEqual(storeDirs(store), []);
  },
);

npmTest(
  "PackageStore.ensure() refuses tampered bytes in the cache and from the registry, naming both hashes",
  async (data, stagingDir) => {
    const store = new PackageStore(data, { npmRegistry: NPM!, minPackageAgeMs: 0, stagingDir });
    const stored = await store.fetch(await store.resolve(`npm:${TAMPER}@1.0.0`));
    const entry = lockEntry({ ...stored, entry_points: ["npm-good-config"] });

    // One byte of the cached tarball changed.
    const tgz = await Deno.readFile(`${stored.dir}/package.tgz`);
    const original = tgz.slice();
    tgz[100] = tgz[100]! ^ 0xff;
    await Deno.writeFile(`${stored.dir}/package.tgz`, tgz);
    const cached = await rejectsWith(store.ensure(TAMPER, entry), "refused");
    assert.ok(cached.message.includes(`npm:${TAMPER}@1.0.0`), cached.message);
    assert.match(
      cached.message,
      new RegExp(`expected ${escape(stored.integrity)}, actual sha512-[A-Za-z0-9+/=]+\\)`),
    );
    await Deno.writeFile(`${stored.dir}/package.tgz`, original);

    // One byte of the cached bundle changed.
    const bundle = await Deno.readTextFile(stored.bundlePath);
    await Deno.writeTextFile(stored.bundlePath, bundle.replace("hello from helper", "hello from hacker"));
    const bundleError = await rejectsWith(store.ensure(TAMPER, entry), "refused");
    assert.match(bundleError.message, /bundle\.js changed.*expected sha256-\S+, actual sha256-\S+\)/);

    // The registry now serves different bytes for the pinned version (cold cache).
    await Deno.remove(stored.dir, { recursive: true });
    assert.ok(NPM_STORAGE, "IMBI_TEST_NPM_STORAGE is exported by the verdaccio test service");
    const stash = `${NPM_STORAGE}/${TAMPER}/${TAMPER.split("/")[1]}-1.0.0.tgz`;
    const served = await Deno.readFile(stash);
    served[served.length - 30] = served[served.length - 30]! ^ 0xff;
    await Deno.writeFile(stash, served);
    const registryError = await rejectsWith(store.ensure(TAMPER, entry), "refused");
    assert.ok(registryError.message.includes(`npm:${TAMPER}@1.0.0`), registryError.message);
    assert.ok(registryError.message.includes(`expected ${stored.integrity}, actual sha512-`), registryError.message);
    assert.deepEqual(storeDirs(store), [], "a refused fetch leaves nothing in the store");
    assertNoStaging(store, stagingDir);
  },
);

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

Deno.test("PackageStore installs from a JSR registry and applies the age policy to it", async () => {
  await using dataTmp = await tempDir();
  const data = dataTmp.path;
  await using jsr = TestJsrRegistry.start();
  const old = new Date(Date.now() - 3 * DAY);
  await jsr.publish("@imbi-test/jsr-good", "1.0.0", `${PACKAGES}/jsr-good`, { createdAt: old });
  await jsr.publish("@imbi-test/jsr-good", "1.2.0", `${PACKAGES}/jsr-good`);
  const store = new PackageStore(data, { jsrUrl: jsr.url, minPackageAgeMs: DAY });
  const resolved = await store.resolve("jsr:@imbi-test/jsr-good@^1");
  assert.equal(resolved.version, "1.0.0", "1.2.0 is too young");
  const young = await rejectsWith(store.resolve("jsr:@imbi-test/jsr-good@1.2.0"), "too_young");
  assert.match(young.message, /jsr:@imbi-test\/jsr-good@1\.2\.0 was published at .* it becomes installable at /);
  const stored = await store.fetch(resolved);
  const meta = await (await fetch(`${jsr.url}/@imbi-test/jsr-good/1.0.0_meta.json`)).arrayBuffer();
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", meta));
  assert.equal(stored.integrity, `sha256-${btoa(String.fromCharCode(...digest))}`);
  const inspected = await inspectBundle(stored.bundlePath);
  assert.ok(inspected.ok);
  assert.equal((inspected.entries[0]!.manifest as { slug: string }).slug, "jsr-good-logs");

  // Warm cache, registry stopped: no request needed.
  const before = jsr.requests;
  await jsr.stop();
  const offline = new PackageStore(data, { jsrUrl: CLOSED });
  assert.equal(
    (await offline.ensure(resolved.name, lockEntry(stored))).bundlePath,
    stored.bundlePath,
  );
  assert.equal(jsr.requests, before);

  // A changed byte in a cached source file is refused with both hashes.
  await Deno.writeTextFile(`${stored.dir}/source/handler.ts`, " ", { append: true });
  const error = await rejectsWith(offline.ensure(resolved.name, lockEntry(stored)), "refused");
  assert.match(
    error.message,
    /file \/handler\.ts does not match its checksum \(expected sha256-[0-9a-f]{64}, actual/,
  );
});

Deno.test("PackageStore installs a local path and re-hashes it at every load", async () => {
  await using dataTmp = await tempDir();
  const data = dataTmp.path;
  await using projectTmp = await tempDir();
  const project = projectTmp.path;
  await writeManifestPackage("two-entries", `${project}/plugins/two`);
  await Deno.mkdir(`${project}/plugins/two/node_modules`);
  await Deno.writeTextFile(`${project}/plugins/two/node_modules/ignored.js`, "ignored");
  const store = new PackageStore(data, { projectRoot: project });
  const resolved = await store.resolve(`${project}/plugins/two`);
  assert.deepEqual(resolved, {
    kind: "local",
    name: "@imbi-test/two-entries",
    version: "2.1.0",
    specifier: "./plugins/two",
    publishedAt: null,
  });
  const stored = await store.fetch(resolved);
  assert.equal(stored.integrity, await hashTree(`${project}/plugins/two`));
  const entry = lockEntry({ ...stored, entry_points: ["two-config", "two-logs"] });
  assert.equal((await store.ensure(resolved.name, entry)).bundlePath, stored.bundlePath);
  // Ignored directories do not count; source files do.
  await Deno.writeTextFile(`${project}/plugins/two/node_modules/ignored.js`, "changed");
  assert.equal((await store.ensure(resolved.name, entry)).bundlePath, stored.bundlePath);
  await Deno.writeTextFile(`${project}/plugins/two/mod.ts`, "// edited\n", { append: true });
  const error = await rejectsWith(store.ensure(resolved.name, entry), "refused");
  const actual = await hashTree(`${project}/plugins/two`);
  assert.ok(error.message.includes(`expected ${stored.integrity}, actual ${actual}`), error.message);
  assert.ok(error.message.includes("@imbi-test/two-entries"));
});

Deno.test("addPackage() refuses invalid, incompatible, export-less and clashing packages with the lockfile untouched", async () => {
  await using dataTmp = await tempDir();
  const data = dataTmp.path;
  await using projectTmp = await tempDir();
  const project = projectTmp.path;
  const lockfilePath = `${project}/plugins.lock.json`;
  const store = new PackageStore(data, { projectRoot: project });
  const dir = async (name: ManifestPackage) => (await writeManifestPackage(name, `${project}/plugins/${name}`)).dir;
  const added = await addPackage(await dir("clash-a"), { lockfilePath, store, addedBy: "tester" });
  assert.equal(added.lockfile.revision, 1);
  assert.deepEqual(added.entry.entry_points, ["clash-slug"]);
  assert.equal(added.entry.specifier, "./plugins/clash-a");
  assert.equal(added.entry.added_by, "tester");
  const before = await Deno.readTextFile(lockfilePath);

  const cases: [string, RegExp][] = [
    [
      await dir("incompatible"),
      /"future-config" from package "@imbi-test\/incompatible": api_version "\^2\.0\.0" does not include 1\.0\.0/,
    ],
    [
      await dir("invalid-manifest"),
      /"metrics-thing" from package "@imbi-test\/invalid-manifest": manifest\.plugin_type/,
    ],
    [await dir("missing-export"), /package "@imbi-test\/missing-export".*"plugins" export/],
    [await dir("clash-b"), /slug "clash-slug" is already exported by package "@imbi-test\/clash-a"/],
  ];
  for (const [path, reason] of cases) {
    const error = await rejectsWith(addPackage(path, { lockfilePath, store }), "refused");
    assert.match(error.message, reason);
    assert.equal(await Deno.readTextFile(lockfilePath), before, `${path} left the lockfile untouched`);
  }
  await rejectsWith(addPackage(`${project}/plugins/clash-a`, { lockfilePath, store }), "already_installed");
  const two = await addPackage(await dir("two-entries"), {
    lockfilePath,
    store,
    source: { kind: "catalog", name: "two" },
  });
  assert.deepEqual(two.entry.entry_points, ["two-config", "two-logs"]);
  const lockfile = await readLockfile(lockfilePath);
  assert.equal(lockfile.revision, 2);
  assert.deepEqual(lockfile.packages["@imbi-test/two-entries"]!.source, { kind: "catalog", name: "two" });
});

function cli(args: string[], env: Record<string, string>): Promise<CliOutput> {
  return runCli(`${ROOT}/cli/plugins.ts`, args, { env, cwd: env.CWD ?? ROOT });
}

npmTest("plugins CLI: add from npm and from a path, refuse a too-young version, list statuses", async (work) => {
  const env = {
    IMBI_LOCKFILE: `${work}/plugins.lock.json`,
    IMBI_DATA_DIR: `${work}/data`,
    NPM_CONFIG_REGISTRY: NPM!,
    JSR_URL: CLOSED,
    CWD: ROOT,
  };
  const young = await cli(["add", "npm:@imbi-test/plugin-good@^1", "--yes"], env);
  assert.equal(young.code, 1, young.stderr);
  assert.match(
    young.stderr,
    /error: npm:@imbi-test\/plugin-good@1\.\d\.0 was published at .*becomes installable at /,
  );
  assert.equal(await Deno.stat(env.IMBI_LOCKFILE).catch(() => null), null, "nothing written");

  const add = await cli(["add", "npm:@imbi-test/plugin-good@^1", "--yes"], { ...env, IMBI_MIN_PACKAGE_AGE: "0" });
  assert.equal(add.code, 0, add.stderr);
  assert.match(
    add.stderr,
    /resolve +npm:@imbi-test\/plugin-good@\^1 resolved to npm:@imbi-test\/plugin-good@1\.1\.0/,
  );
  assert.match(add.stderr, /bundle +bundling npm:@imbi-test\/plugin-good@1\.1\.0/);
  assert.match(
    add.stdout,
    /added @imbi-test\/plugin-good npm:@imbi-test\/plugin-good@1\.1\.0 .*lockfile revision 1/,
  );
  const local = await cli(["add", "tests/fixtures/packages/local-good", "--catalog", "local", "--yes"], env);
  assert.equal(local.code, 0, local.stderr);
  const incompatible = await writeManifestPackage("incompatible", `${work}/incompatible`);
  const clash = await cli(["add", incompatible.dir, "--yes"], env);
  assert.equal(clash.code, 1);
  assert.match(clash.stderr, /api_version "\^2\.0\.0" does not include 1\.0\.0/);

  const lockfile = await readLockfile(env.IMBI_LOCKFILE);
  assert.equal(lockfile.revision, 2);
  assert.deepEqual(Object.keys(lockfile.packages), ["@imbi-test/local-good", "@imbi-test/plugin-good"]);
  const localEntry = lockfile.packages["@imbi-test/local-good"]!;
  // Relative to the lockfile's directory, which is not the working directory here.
  assert.equal(localEntry.specifier.startsWith("../") || localEntry.specifier.startsWith("/"), true);
  assert.deepEqual(localEntry.source, { kind: "catalog", name: "local" });

  const list = await cli(["list"], env);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^@imbi-test\/plugin-good npm:@imbi-test\/plugin-good@1\.1\.0 loaded$/m);
  assert.match(list.stdout, /^ {2}npm-good-config loaded$/m);
  assert.match(list.stdout, /^ {2}local-good-config loaded$/m);
  const json = JSON.parse((await cli(["list", "--json"], env)).stdout);
  assert.equal(json.revision, 2);
  assert.deepEqual(json.packages.map((p: { status: string }) => p.status), ["loaded", "loaded"]);
  const usage = await cli(["frobnicate"], env);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /add <npm:name@range/);
});
