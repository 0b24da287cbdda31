import assert from "node:assert/strict";
import { readLockfile } from "../../core/packages/lockfile.ts";
import { PackageStore } from "../../core/packages/store.ts";
import { buildRegistry } from "../../core/packages/registry.ts";
import { inspectBundle } from "../../core/sandbox/inspect.ts";
import { ROOT, tempDir } from "./_helpers.ts";

Deno.test("the repository's plugins.lock.json loads every first-party entry point", async () => {
  await using tmp = await tempDir("imbi-default-lock-");
  const dataDir = tmp.path;
  const lockfile = await readLockfile(`${ROOT}/plugins.lock.json`);
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
});
