import assert from "node:assert/strict";
import { readLockfile } from "../../core/packages/lockfile.ts";
import { PackageStore } from "../../core/packages/store.ts";
import { buildRegistry } from "../../core/packages/registry.ts";
import { inspectBundle } from "../../core/sandbox/inspect.ts";
const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("the repository's plugins.lock.json loads every first-party entry point", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "imbi-default-lock-" });
  try {
    const lockfile = await readLockfile(`${ROOT}plugins.lock.json`);
    const store = new PackageStore(dataDir, { projectRoot: ROOT, minPackageAgeMs: 0 });
    const registry = await buildRegistry(lockfile, { store, inspect: inspectBundle });
    const refused = registry.packages.flatMap((p) =>
      p.status === "loaded"
        ? []
        : [`${p.name}: ${p.reason} (after editing a local plugin, run deno task plugins upgrade)`]
    );
    assert.deepEqual(refused, []);
    assert.deepEqual(registry.loadedSlugs().sort(), [
      "aws-cloudwatch-logs",
      "aws-ssm",
      "demo-config",
      "demo-logs",
      "etcd",
      "github-actions",
      "logzio",
    ]);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
