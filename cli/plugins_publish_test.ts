import assert from "node:assert/strict";
import { inspectBundle } from "../core/sandbox/inspect.ts";
import { PackageStore } from "../core/packages/store.ts";
import { registryToken } from "../tests/support/npm_publish.ts";
import { serviceUrl } from "../tests/support/services.ts";
import { buildPackage, FIRST_PARTY, publishPackage } from "./plugins_publish.ts";

const registry = serviceUrl("IMBI_TEST_NPM_REGISTRY");

Deno.test("buildPackage() makes a dependency-free npm package that lists its entry points", async () => {
  const out = await Deno.makeTempDir({ prefix: "imbi_build_test_" });
  try {
    const built = await buildPackage("aws", `${out}/aws`);
    const pkg = JSON.parse(await Deno.readTextFile(`${built.dir}/package.json`));
    assert.equal(pkg.name, "@imbi/plugin-aws");
    assert.equal(pkg.type, "module");
    assert.deepEqual(pkg.exports, { ".": "./mod.js" });
    assert.equal(pkg.dependencies, undefined);
    assert.deepEqual(pkg.imbi.plugins, [
      { slug: "aws-ssm", plugin_type: "configuration" },
      { slug: "aws-cloudwatch-logs", plugin_type: "logs" },
    ]);
    const code = await Deno.readTextFile(`${built.dir}/mod.js`);
    assert.doesNotMatch(code, /from\s+["'](npm:|@imbi\/|aws4fetch)/, "the bundle imports nothing");
    const inspected = await inspectBundle(`${built.dir}/mod.js`);
    assert.ok(inspected.ok);
    if (inspected.ok) assert.equal(inspected.entries.length, 2);
    const sdk = await buildPackage("sdk", `${out}/sdk`);
    const sdkPkg = JSON.parse(await Deno.readTextFile(`${sdk.dir}/package.json`));
    assert.deepEqual(Object.keys(sdkPkg.exports).sort(), [".", "./errors", "./testing", "./types"]);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test({
  name:
    "plugins:publish publishes every first-party package to a loopback registry, and npm: specifiers install them back",
  ignore: !registry,
  async fn() {
    const out = await Deno.makeTempDir({ prefix: "imbi_publish_test_" });
    const data = await Deno.makeTempDir({ prefix: "imbi_publish_store_" });
    try {
      const token = await registryToken(registry!);
      // A fresh, ever-growing patch version per run: a rerun against the same registry publishes again, and npm
      // refuses a version below the newest one as "latest".
      const version = `1.0.${Date.now()}`;
      for (const name of FIRST_PARTY) {
        const built = await buildPackage(name, `${out}/${name}`, { version });
        await publishPackage(built, registry!, { token });
      }
      const store = new PackageStore(data, { npmRegistry: registry!, minPackageAgeMs: 0 });
      for (
        const [name, slugs] of [
          ["@imbi/plugin-aws", ["aws-ssm", "aws-cloudwatch-logs"]],
          ["@imbi/plugin-github", ["github-actions"]],
        ] as const
      ) {
        const resolved = await store.resolve(`npm:${name}@${version}`);
        assert.equal(resolved.specifier, `npm:${name}@${version}`);
        const stored = await store.fetch(resolved);
        const inspected = await inspectBundle(stored.bundlePath);
        assert.ok(inspected.ok, inspected.ok ? "" : inspected.reason);
        if (inspected.ok) {
          assert.deepEqual(inspected.entries.map((e) => (e.manifest as { slug: string }).slug), slugs);
        }
      }
      const sdk = await fetch(`${registry}@imbi%2fplugin-sdk`);
      assert.ok(Object.keys((await sdk.json()).versions).includes(version));
    } finally {
      await Deno.remove(out, { recursive: true });
      await Deno.remove(data, { recursive: true });
    }
  },
});
