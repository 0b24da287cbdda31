import assert from "node:assert/strict";
import { inspectBundle } from "../core/sandbox/inspect.ts";
import { PackageStore } from "../core/packages/store.ts";
import { registryToken } from "../tests/support/npm_publish.ts";
import { serviceUrl } from "../tests/support/services.ts";
import { runCommand } from "../tests/support/command.ts";
import { publishPackage } from "../plugins/testing/pack.ts";
import { buildFirstParty, FIRST_PARTY } from "./plugins_publish.ts";

const registry = serviceUrl("IMBI_TEST_NPM_REGISTRY");

async function jsFiles(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).filter((e) => e.name.endsWith(".js")).map((e) => e.name);
}

Deno.test("buildFirstParty() makes typed npm packages with one copy of each class and self-contained plugins", async (t) => {
  const out = await Deno.makeTempDir({ prefix: "imbi_build_test_" });
  try {
    await t.step(
      "a plugin package: one dependency-free module, its entry points, types, license, repository",
      async () => {
        const built = await buildFirstParty("aws", `${out}/aws`);
        const pkg = JSON.parse(await Deno.readTextFile(`${built.dir}/package.json`));
        assert.equal(pkg.name, "@imbi/plugin-aws");
        assert.equal(pkg.type, "module");
        assert.equal(pkg.license, "BSD-3-Clause");
        assert.deepEqual(pkg.repository, {
          type: "git",
          url: "git+https://github.com/AWeber-Imbi/imbi.git",
          directory: "plugins/aws",
        });
        assert.deepEqual(pkg.exports, { ".": { types: "./types/plugins/aws/mod.d.ts", default: "./mod.js" } });
        assert.equal(pkg.types, "./types/plugins/aws/mod.d.ts");
        assert.equal(pkg.dependencies, undefined);
        assert.deepEqual(pkg.peerDependencies, { "@imbi/plugin-sdk": "^1.0.0" });
        assert.deepEqual(pkg.imbi.plugins.map((p: { slug: string }) => p.slug), ["aws-ssm", "aws-cloudwatch-logs"]);
        assert.ok((await Deno.readTextFile(`${built.dir}/LICENSE`)).startsWith("BSD 3-Clause License"));
        const dts = await Deno.readTextFile(`${built.dir}/types/plugins/aws/mod.d.ts`);
        assert.match(dts, /export declare const plugins/);
        assert.doesNotMatch(dts, /\.ts"|amd-module|file:\/\//, "imports point at .js and no build path leaks");
        assert.deepEqual(await jsFiles(built.dir), ["mod.js"]);
        const code = await Deno.readTextFile(`${built.dir}/mod.js`);
        assert.doesNotMatch(code, /from\s+["'](npm:|@imbi\/|aws4fetch)/, "the bundle imports nothing");
        const inspected = await inspectBundle(`${built.dir}/mod.js`);
        assert.ok(inspected.ok);
        if (inspected.ok) assert.equal(inspected.entries.length, 2);
      },
    );

    await t.step("the SDK: every export typed, PluginError defined once for all of them", async () => {
      const sdk = await buildFirstParty("sdk", `${out}/sdk`);
      const pkg = JSON.parse(await Deno.readTextFile(`${sdk.dir}/package.json`));
      assert.deepEqual(Object.keys(pkg.exports).sort(), [".", "./errors", "./testing", "./types"]);
      for (const target of Object.values(pkg.exports) as { types: string; default: string }[]) {
        await Deno.stat(`${sdk.dir}/${target.types}`);
        await Deno.stat(`${sdk.dir}/${target.default}`);
      }
      let definitions = 0;
      for (const file of await jsFiles(sdk.dir)) {
        definitions +=
          (await Deno.readTextFile(`${sdk.dir}/${file}`)).match(/\bPluginError = class\b|\bclass PluginError\b/g)
            ?.length ?? 0;
      }
      assert.equal(definitions, 1);
      assert.equal(pkg.dependencies, undefined);
    });

    await t.step(
      "the test kit: the host's sandbox bundled, bootstrap.js and answer_worker.js beside it, the SDK a dependency",
      async () => {
        const testing = await buildFirstParty("testing", `${out}/testing`);
        const pkg = JSON.parse(await Deno.readTextFile(`${testing.dir}/package.json`));
        assert.deepEqual(Object.keys(pkg.exports).sort(), [".", "./check", "./publish"]);
        assert.deepEqual(pkg.dependencies, { "@imbi/plugin-sdk": "^1.0.0" });
        assert.ok(pkg.files.includes("bootstrap.js"));
        assert.ok(pkg.files.includes("answer_worker.js"), "the answer worker beside the bundle that starts it");
        const code = (await Promise.all((await jsFiles(testing.dir)).map((f) =>
          Deno.readTextFile(`${testing.dir}/${f}`)
        )))
          .join("\n");
        assert.match(code, /from "@imbi\/plugin-sdk\/testing"/, "the SDK is imported, not inlined");
        assert.doesNotMatch(code, /\bPluginError = class\b|\bclass PluginError\b/);
        assert.doesNotMatch(code, /from "\.\.?\/.*\.ts"/);
      },
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test({
  name: "plugins:publish publishes every first-party package; Deno, tsc and the host consume them from the registry",
  ignore: !registry,
  async fn(t) {
    const out = await Deno.makeTempDir({ prefix: "imbi_publish_test_" });
    const data = await Deno.makeTempDir({ prefix: "imbi_publish_store_" });
    const consumer = await Deno.makeTempDir({ prefix: "imbi_consumer_" });
    try {
      const token = await registryToken(registry!);
      // A fresh, ever-growing patch version per run: a rerun against the same registry publishes again, and npm
      // refuses a version below the newest one as "latest".
      const version = `1.0.${Date.now()}`;
      for (const name of FIRST_PARTY) {
        const built = await buildFirstParty(name, `${out}/${name}`, { version });
        await publishPackage(built, registry!, { token });
      }

      await t.step("the service's package store installs plugin packages by npm: specifier", async () => {
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
      });

      await t.step("Deno imports the SDK by npm: specifier; its subpaths share one PluginError", async () => {
        await Deno.writeTextFile(
          `${consumer}/deno.json`,
          JSON.stringify({
            // Deno 2.9 refuses npm versions younger than 24 h; the author's own packages are exempt.
            minimumDependencyAge: { age: 1440, exclude: ["npm:@imbi/*"] },
            imports: {
              "@imbi/plugin-sdk": `npm:@imbi/plugin-sdk@${version}`,
              "@imbi/plugin-sdk/": `npm:/@imbi/plugin-sdk@${version}/`,
            },
          }),
        );
        await Deno.writeTextFile(
          `${consumer}/main.ts`,
          `import { NotFound, PluginError } from "@imbi/plugin-sdk";
import { NotFound as NotFoundFromErrors, PluginError as PluginErrorFromErrors } from "@imbi/plugin-sdk/errors";
import { inProcess } from "@imbi/plugin-sdk/testing";
console.log(JSON.stringify([PluginError === PluginErrorFromErrors, new NotFoundFromErrors() instanceof PluginError,
  new NotFound() instanceof PluginErrorFromErrors, typeof inProcess]));
`,
        );
        const run = await runCommand("deno", ["run", "main.ts"], {
          cwd: consumer,
          env: { NPM_CONFIG_REGISTRY: registry! },
        });
        assert.ok(run.ok, run.text);
        assert.match(run.text, /\[true,true,true,"function"\]/);
      });

      await t.step("tsc type-checks imports of the SDK's types and Node runs instanceof across subpaths", async () => {
        const dir = `${consumer}/tsc`;
        await Deno.mkdir(dir);
        await Deno.writeTextFile(`${dir}/package.json`, JSON.stringify({ name: "c", private: true, type: "module" }));
        const npmrc = `${dir}/.npmrc`;
        await Deno.writeTextFile(npmrc, `registry=${registry}\n`);
        const install = await runCommand("npm", ["install", "--no-audit", "--no-fund", `@imbi/plugin-sdk@${version}`], {
          cwd: dir,
          env: { npm_config_userconfig: npmrc, npm_config_cache: `${dir}/.cache`, npm_config_update_notifier: "false" },
        });
        assert.ok(install.ok, install.text);
        await Deno.writeTextFile(
          `${dir}/tsconfig.json`,
          JSON.stringify({
            compilerOptions: {
              module: "nodenext",
              moduleResolution: "nodenext",
              target: "es2022",
              strict: true,
              outDir: "dist",
              lib: ["es2022", "dom"],
              types: [],
            },
            files: ["consumer.ts"],
          }),
        );
        const consumerTs = `import type { PluginManifest } from "@imbi/plugin-sdk";
import { NotFound, PluginError } from "@imbi/plugin-sdk";
import { NotFound as NotFoundFromErrors, PluginError as PluginErrorFromErrors } from "@imbi/plugin-sdk/errors";
import type { HandlerClass } from "@imbi/plugin-sdk/types";
export const manifest: PluginManifest = {
  slug: "typed", name: "Typed", plugin_type: "configuration", api_version: "^1.0.0", network: { hosts: [] },
};
const error: PluginError = new NotFoundFromErrors("gone");
const handler: HandlerClass | null = null;
console.log(JSON.stringify([error instanceof PluginError, new NotFound() instanceof PluginErrorFromErrors,
  error.kind, handler, manifest.slug]));
`;
        await Deno.writeTextFile(`${dir}/consumer.ts`, consumerTs);
        const tsc = ["run", "-A", "npm:typescript@6.0.3/tsc", "-p", "."];
        const checked = await runCommand("deno", tsc, { cwd: dir });
        assert.ok(checked.ok, checked.text);
        const node = await runCommand("node", ["dist/consumer.js"], { cwd: dir });
        assert.ok(node.ok, node.text);
        assert.equal(node.text.trim(), JSON.stringify([true, true, "not_found", null, "typed"]));
        await Deno.writeTextFile(
          `${dir}/consumer.ts`,
          consumerTs.replace(`plugin_type: "configuration"`, "plugin_type: 1"),
        );
        const refused = await runCommand("deno", tsc, { cwd: dir });
        assert.ok(!refused.ok, "the types are read, not any");
        assert.match(refused.text, /consumer\.ts\(6,\d+\): error TS2322/);
      });
    } finally {
      await Deno.remove(out, { recursive: true });
      await Deno.remove(data, { recursive: true });
      await Deno.remove(consumer, { recursive: true });
    }
  },
});
