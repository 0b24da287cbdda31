import assert from "node:assert/strict";
import { inspectBundle } from "../../core/sandbox/inspect.ts";
import { bundleFixtures } from "../support/bundle_fixture.ts";

const FIXTURES = new URL("../fixtures/sandbox/", import.meta.url);

/** Why inspecting a bundle failed; the inspection must fail. */
async function refusal(bundlePath: string): Promise<string> {
  const result = await inspectBundle(bundlePath);
  assert.equal(result.ok, false, JSON.stringify(result));
  return (result as { reason: string }).reason;
}

Deno.test("inspectBundle() reads manifests without permissions and refuses bad packages with a reason", async (t) => {
  await using bundles = await bundleFixtures(FIXTURES, [
    "good",
    "no_plugins",
    "not_array",
    "not_class",
    "no_manifest",
    "import_throws",
    "import_reads",
    "import_fetches",
    "import_loops",
  ]);

  await t.step("returns every exported class with its manifest as JSON", async () => {
    const result = await inspectBundle(bundles.path("good"));
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.entries.map((e) => [e.index, e.className]), [[0, "GoodConfig"], [1, "GoodLogs"]]);
    const manifest = result.entries[0]!.manifest as Record<string, unknown>;
    assert.equal(manifest.slug, "sandbox-good");
    assert.deepEqual(manifest.network, { hosts: ["{endpoint}"] });
  });

  await t.step("refuses a module without a plugins export", async () => {
    assert.deepEqual(await inspectBundle(bundles.path("no_plugins")), {
      ok: false,
      reason: 'the module has no "plugins" export',
    });
  });

  await t.step("refuses plugins that is not an array, or holds something that is not a class", async () => {
    assert.deepEqual(await inspectBundle(bundles.path("not_array")), {
      ok: false,
      reason: '"plugins" is not an array',
    });
    assert.deepEqual(await inspectBundle(bundles.path("not_class")), {
      ok: false,
      reason: "plugins[1] is not a class",
    });
  });

  await t.step("leaves the manifest undefined for a class without one or with one that is not JSON", async () => {
    const result = await inspectBundle(bundles.path("no_manifest"));
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.entries, [
      { index: 0, className: "Bare", manifest: undefined },
      { index: 1, className: "Weird", manifest: undefined },
    ]);
  });

  await t.step("reports an import-time throw as a short reason without the bundle path", async () => {
    const result = await inspectBundle(bundles.path("import_throws"));
    assert.deepEqual(result, { ok: false, reason: "import failed: Error: broken at import time" });
  });

  await t.step("denies reading a file at import time", async () => {
    const reason = await refusal(bundles.path("import_reads"));
    assert.match(reason, /^import failed: NotCapable: Requires read access to "\/etc\/hostname"/);
  });

  await t.step("denies network access at import time", async () => {
    const reason = await refusal(bundles.path("import_fetches"));
    assert.match(reason, /^import failed: NotCapable: Requires net access to "127\.0\.0\.1:2"/);
  });

  await t.step("gives up on a module that never finishes importing, at the deadline", async () => {
    const started = performance.now();
    const result = await inspectBundle(bundles.path("import_loops"), { timeoutMs: 300 });
    assert.deepEqual(result, { ok: false, reason: "inspection did not finish within 300 ms" });
    assert.ok(performance.now() - started < 3000);
  });
});
