import assert from "node:assert/strict";
import { inspectBundle, INSPECTION_FILE, inspectStoredBundle } from "../../core/sandbox/inspect.ts";
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

/** A one-file bundle exporting one class whose manifest is named `name`. */
function namedBundle(name: string): string {
  return `export class Named { static manifest = { slug: "named", name: ${JSON.stringify(name)} }; }
export const plugins = [Named];
`;
}

Deno.test("inspectStoredBundle() keeps a successful inspection beside the bundle, for those bytes only", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "imbi_inspection_" });
  const bundle = `${dir}/bundle.js`;
  const kept = `${dir}/${INSPECTION_FILE}`;
  const nameOf = (result: Awaited<ReturnType<typeof inspectStoredBundle>>) => {
    assert.ok(result.ok, JSON.stringify(result));
    return (result.entries[0]!.manifest as { name: string }).name;
  };
  /** Rewrites the kept manifest's name, so a result that comes from the file is told apart from a fresh one. */
  const forgeKeptName = async (name: string) => {
    const record = JSON.parse(await Deno.readTextFile(kept));
    record.result.entries[0].manifest.name = name;
    await Deno.writeTextFile(kept, JSON.stringify(record));
  };
  try {
    await Deno.writeTextFile(bundle, namedBundle("first"));

    await t.step("inspects in a process and keeps the result with the bundle's sha256", async () => {
      assert.equal(nameOf(await inspectStoredBundle(bundle)), "first");
      const record = JSON.parse(await Deno.readTextFile(kept));
      assert.equal(record.deno, Deno.version.deno);
      assert.match(record.bundle_integrity, /^sha256-/);
      assert.deepEqual(record.result, await inspectBundle(bundle));
    });

    await t.step("answers from the kept result while the bundle's bytes are the same", async () => {
      await forgeKeptName("from the file");
      assert.equal(nameOf(await inspectStoredBundle(bundle)), "from the file");
    });

    await t.step("a changed bundle is inspected again and its result replaces the kept one", async () => {
      await Deno.writeTextFile(bundle, namedBundle("second"));
      assert.equal(nameOf(await inspectStoredBundle(bundle)), "second");
      await forgeKeptName("from the file");
      assert.equal(nameOf(await inspectStoredBundle(bundle)), "from the file", "the rewritten record is used");
    });

    await t.step("a corrupt or foreign record is ignored and rewritten", async () => {
      for (const text of ["{not json", "[]", JSON.stringify({ format: 1, result: { ok: true, entries: [] } })]) {
        await Deno.writeTextFile(kept, text);
        assert.equal(nameOf(await inspectStoredBundle(bundle)), "second");
        assert.equal(JSON.parse(await Deno.readTextFile(kept)).result.entries.length, 1);
      }
    });

    await t.step("a failed inspection is not kept", async () => {
      await Deno.remove(kept);
      await Deno.writeTextFile(bundle, "export const nothing = 1;\n");
      assert.equal((await inspectStoredBundle(bundle)).ok, false);
      await assert.rejects(Deno.stat(kept), Deno.errors.NotFound);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
