/**
 * buildRegistry() against real bundles: local fixture packages and a JSR
 * package from a loopback registry, inspected by the real sandbox inspector.
 */
import assert from "node:assert/strict";
import { PackageError } from "../../core/errors.ts";
import { log } from "../../core/logger.ts";
import { hashTree } from "../../core/packages/integrity.ts";
import type { LockEntry, Lockfile } from "../../core/packages/lockfile.ts";
import { PackageStore } from "../../core/packages/store.ts";
import { buildRegistry, type PackageStatus } from "../../core/packages/registry.ts";
import { inspectBundle } from "../../core/sandbox/inspect.ts";
import { TestJsrRegistry } from "../support/jsr_registry.ts";
import { type ManifestPackages, manifestPackages } from "../support/manifest_packages.ts";
import { FIXTURES as TEST_FIXTURES, lockEntry, ROOT, tempDir } from "./_helpers.ts";

const FIXTURES = `${TEST_FIXTURES}/packages`;

/**
 * The lock entry of a local package: a fixture of `tests/fixtures/packages`
 * by name (a path relative to the project), or a written package by its
 * absolute directory (locked by that path).
 */
async function localEntry(dir: string, entryPoints: string[]): Promise<LockEntry> {
  const path = dir.startsWith("/") ? dir : `${FIXTURES}/${dir}`;
  const config = JSON.parse(await Deno.readTextFile(`${path}/deno.json`));
  return lockEntry({
    specifier: dir.startsWith("/") ? dir : `./tests/fixtures/packages/${dir}`,
    version: config.version,
    integrity: await hashTree(path),
    entry_points: entryPoints,
  });
}

function pkg(registry: { packages: readonly PackageStatus[] }, name: string): PackageStatus {
  const found = registry.packages.find((p) => p.name === name);
  assert.ok(found, `package ${name} is listed`);
  return found;
}

async function withStore<T>(
  fn: (store: PackageStore, jsr: TestJsrRegistry, packages: ManifestPackages) => Promise<T>,
): Promise<T> {
  await using data = await tempDir("imbi-registry-test-");
  await using jsr = TestJsrRegistry.start();
  await using packages = await manifestPackages();
  const store = new PackageStore(data.path, { jsrUrl: jsr.url, minPackageAgeMs: 0, projectRoot: ROOT });
  return await fn(store, jsr, packages);
}

/** The reason the registry gives for an entry point it cannot load. */
function cannotLoad(plugin: string, packageName: string, why: string): string {
  return `Cannot load plugin "${plugin}" from package "${packageName}": ${why}`;
}

Deno.test("buildRegistry() gives every entry point a status and reason while the good packages load", async () => {
  await withStore(async (store, jsr, packages) => {
    await jsr.publish("@imbi-test/jsr-good", "1.0.0", `${FIXTURES}/jsr-good`);
    const jsrStored = await store.fetch(await store.resolve("jsr:@imbi-test/jsr-good@1.0.0"));
    const lockfile: Lockfile = {
      lockfile_version: 1,
      revision: 7,
      packages: {
        "@imbi-test/jsr-good": {
          ...(await localEntry("local-good", ["jsr-good-logs"])),
          specifier: "jsr:@imbi-test/jsr-good@1.0.0",
          version: "1.0.0",
          integrity: jsrStored.integrity,
        },
        "@imbi-test/local-good": await localEntry("local-good", ["local-good-config"]),
        "@imbi-test/two-entries": await localEntry(packages.dir("two-entries"), ["two-config", "two-logs"]),
        "@imbi-test/incompatible": await localEntry(packages.dir("incompatible"), ["future-config"]),
        "@imbi-test/invalid-manifest": await localEntry(packages.dir("invalid-manifest"), [
          "fine-config",
          "metrics-thing",
          "typo-options",
        ]),
        "@imbi-test/missing-export": await localEntry(packages.dir("missing-export"), []),
        "@imbi-test/clash-a": await localEntry(packages.dir("clash-a"), ["clash-slug"]),
        "@imbi-test/clash-b": await localEntry(packages.dir("clash-b"), ["clash-slug", "clash-b-other"]),
      },
    };
    const started = performance.now();
    const registry = await buildRegistry(lockfile, { store, inspect: inspectBundle, generation: 3 });
    const coldMs = performance.now() - started;

    assert.equal(registry.generation, 3);
    assert.equal(registry.revision, 7);
    assert.deepEqual(registry.loadedSlugs(), [
      "clash-b-other",
      "fine-config",
      "jsr-good-logs",
      "local-good-config",
      "two-config",
      "two-logs",
    ]);
    const two = registry.entry("two-logs")!;
    assert.equal(two.packageName, "@imbi-test/two-entries");
    assert.equal(two.version, "2.1.0");
    assert.equal(two.index, 1);
    assert.equal(two.className, "TwoLogs");
    assert.equal(two.manifest.plugin_type, "logs");
    assert.ok(two.bundlePath.startsWith(store.root) && two.bundlePath.endsWith("/bundle.js"));
    assert.equal(pkg(registry, "@imbi-test/two-entries").status, "loaded");

    const incompatible = pkg(registry, "@imbi-test/incompatible");
    assert.equal(incompatible.status, "failed");
    assert.equal(incompatible.entries[0]!.status, "incompatible");
    const why = 'api_version "^2.0.0" does not include 1.0.0';
    assert.equal(incompatible.entries[0]!.reason, cannotLoad("future-config", "@imbi-test/incompatible", why));

    const invalid = pkg(registry, "@imbi-test/invalid-manifest");
    assert.equal(invalid.status, "partial");
    assert.deepEqual(invalid.entries.map((e) => [e.slug, e.status]), [
      ["fine-config", "loaded"],
      ["metrics-thing", "invalid"],
      ["typo-options", "invalid"],
    ]);
    assert.match(
      invalid.entries[1]!.reason!,
      /"metrics-thing" from package "@imbi-test\/invalid-manifest".*plugin_type/,
    );
    const typo = 'manifest.options does not compile: strict mode: unknown keyword: "fromat"';
    assert.equal(invalid.entries[2]!.reason, cannotLoad("typo-options", "@imbi-test/invalid-manifest", typo));

    const missing = pkg(registry, "@imbi-test/missing-export");
    assert.equal(missing.status, "failed");
    assert.match(missing.reason!, /package "@imbi-test\/missing-export".*plugins/);
    assert.equal(registry.entry("orphan-config"), undefined);

    for (const name of ["@imbi-test/clash-a", "@imbi-test/clash-b"]) {
      const clash = pkg(registry, name).entries.find((e) => e.slug === "clash-slug")!;
      assert.equal(clash.status, "invalid");
      assert.match(
        clash.reason!,
        /slug "clash-slug" is exported by packages "@imbi-test\/clash-a" and "@imbi-test\/clash-b"/,
      );
    }
    assert.equal(registry.entry("clash-slug"), undefined);
    assert.equal(pkg(registry, "@imbi-test/clash-b").status, "partial");

    // Warm rebuild: nothing fetched, even with the JSR registry gone.
    await jsr.stop();
    const warmStarted = performance.now();
    const again = await buildRegistry(lockfile, { store, inspect: inspectBundle, generation: 4 });
    const warmMs = performance.now() - warmStarted;
    assert.deepEqual(again.loadedSlugs(), registry.loadedSlugs());
    log.info("measured: registry build of 8 packages", { cold_ms: Math.round(coldMs), warm_ms: Math.round(warmMs) });
  });
});

Deno.test("buildRegistry() refuses a package whose entry points differ from the lockfile", async () => {
  await withStore(async (store, _jsr, packages) => {
    const lockfile: Lockfile = {
      lockfile_version: 1,
      revision: 1,
      packages: {
        "@imbi-test/two-entries": await localEntry(packages.dir("two-entries"), ["two-config"]),
        "@imbi-test/local-good": await localEntry("local-good", ["local-good-config"]),
      },
    };
    const registry = await buildRegistry(lockfile, { store, inspect: inspectBundle });
    const two = pkg(registry, "@imbi-test/two-entries");
    assert.equal(two.status, "failed");
    assert.match(
      two.reason!,
      /exports entry points \[two-config, two-logs\] but plugins\.lock\.json recorded \[two-config\]/,
    );
    assert.ok(two.entries.every((e) => e.status === "failed"));
    assert.deepEqual(registry.loadedSlugs(), ["local-good-config"]);
  });
});

Deno.test("buildRegistry() fails only the package whose content does not match its integrity", async () => {
  await withStore(async (store, _jsr, packages) => {
    const wrong = "sha256-" + btoa(String.fromCharCode(...new Uint8Array(32)));
    const lockfile: Lockfile = {
      lockfile_version: 1,
      revision: 1,
      packages: {
        "@imbi-test/two-entries": {
          ...(await localEntry(packages.dir("two-entries"), ["two-config", "two-logs"])),
          integrity: wrong,
        },
        "@imbi-test/local-good": await localEntry("local-good", ["local-good-config"]),
      },
    };
    const registry = await buildRegistry(lockfile, { store, inspect: inspectBundle });
    const two = pkg(registry, "@imbi-test/two-entries");
    assert.equal(two.status, "failed");
    const actual = await hashTree(packages.dir("two-entries"));
    assert.ok(two.reason!.includes(`expected ${wrong}, actual ${actual}`), two.reason!);
    assert.ok(two.reason!.includes("@imbi-test/two-entries"));
    assert.deepEqual(registry.loadedSlugs(), ["local-good-config"]);
  });
});

Deno.test("PackageStore.ensure() refuses a JSR registry that serves different bytes for a pinned version", async () => {
  await withStore(async (store, jsr) => {
    await jsr.publish("@imbi-test/jsr-good", "1.0.0", `${FIXTURES}/jsr-good`);
    const resolved = await store.resolve("jsr:@imbi-test/jsr-good@1");
    const stored = await store.fetch(resolved);
    const entry: LockEntry = {
      ...(await localEntry("local-good", ["jsr-good-logs"])),
      specifier: resolved.specifier,
      version: "1.0.0",
      integrity: stored.integrity,
    };
    await Deno.remove(stored.dir, { recursive: true }); // cold cache
    const flip = (bytes: Uint8Array) => {
      const copy = bytes.slice();
      copy[copy.length - 2] = copy[copy.length - 2]! ^ 1;
      return copy;
    };
    // A mirror whose file no longer matches its own checksum.
    await jsr.tamper("@imbi-test/jsr-good", "1.0.0", "/handler.ts", flip);
    const fileError = await assertRefused(store.ensure("@imbi-test/jsr-good", entry));
    assert.match(
      fileError.message,
      /jsr:@imbi-test\/jsr-good@1\.0\.0: file \/handler\.ts does not match its checksum \(expected sha256-[0-9a-f]{64}, actual sha256-[0-9a-f]{64}\)/,
    );
    // A registry that rewrote the version meta to match: the pinned integrity catches it.
    await jsr.tamper("@imbi-test/jsr-good", "1.0.0", "/handler.ts", (b) => b, { rewriteMeta: true });
    const metaError = await assertRefused(store.ensure("@imbi-test/jsr-good", entry));
    assert.ok(metaError.message.includes(`expected ${stored.integrity}, actual sha256-`), metaError.message);
    assert.ok(metaError.message.includes("jsr:@imbi-test/jsr-good@1.0.0"));
    assert.deepEqual([...Deno.readDirSync(store.root)].map((e) => e.name), [], "nothing is staged in the data dir");
  });
});

async function assertRefused(promise: Promise<unknown>): Promise<PackageError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof PackageError, String(error));
    assert.equal(error.kind, "refused");
    return error;
  }
  assert.fail("expected a refusal");
}
