/**
 * The plugin authors' tutorial (docs/plugin-authors.md), run as written: the
 * shell blocks marked `# tutorial: <step>` are taken from the document and
 * run with bash, in a temporary directory outside the repository, against
 * the loopback npm registry and a service started with `deno task serve`'s
 * flags.
 *
 * @module
 */

import assert from "node:assert/strict";
import { publishPackage } from "../../plugins/testing/pack.ts";
import { buildFirstParty } from "../../cli/plugins_publish.ts";
import { registryToken } from "../support/npm_publish.ts";
import { serviceUrl } from "../support/services.ts";
import { serve } from "../support/serve_process.ts";

const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname).replace(/\/$/, "");
const DOC = await Deno.readTextFile(`${ROOT}/docs/plugin-authors.md`);
const registry = serviceUrl("IMBI_TEST_NPM_REGISTRY");

/** The shell block of the tutorial marked `# tutorial: <step>`. */
function step(name: string): string {
  const found = new RegExp("```sh\\n# tutorial: " + name + "\\n([\\s\\S]*?)```").exec(DOC);
  if (!found) throw new Error(`docs/plugin-authors.md has no block "# tutorial: ${name}"`);
  return found[1]!;
}

/** Runs a tutorial block with bash, failing on the first command that fails. */
async function bash(name: string, env: Record<string, string>): Promise<string> {
  const out = await new Deno.Command("bash", {
    args: ["-euo", "pipefail", "-c", step(name)],
    env: { ...env, NO_COLOR: "1" },
    // A step that hangs (a registry or service that never answers) fails the test instead of stalling the run.
    signal: AbortSignal.timeout(300_000),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.ok(out.success, `tutorial step "${name}" failed (exit ${out.code}):\n${text.slice(-4000)}`);
  return text;
}

Deno.test({
  name: "docs/plugin-authors.md tutorial: a plugin made outside the repository passes its own test and check, " +
    "is published, installed through the admin API and answers a tab",
  ignore: !registry,
  async fn(t) {
    const work = await Deno.makeTempDir({ prefix: "imbi_tutorial_" });
    const token = await registryToken(registry!);
    // The SDK and test kit of this checkout, published at a version of their own (the registry keeps every run's).
    const version = `1.0.${Date.now()}`;
    for (const name of ["sdk", "testing"] as const) {
      await publishPackage(await buildFirstParty(name, `${work}/build/${name}`, { version }), registry!, { token });
    }
    const plugin = `tut-${crypto.randomUUID().slice(0, 8)}`;
    const env = {
      IMBI: ROOT,
      WORK: work,
      PLUGIN: plugin,
      SDK: `npm:@imbi/plugin-sdk@${version}`,
      NPM_CONFIG_REGISTRY: registry!,
      // The check reads IMBI_NPM_REGISTRY before NPM_CONFIG_REGISTRY: override one this test run may have inherited.
      IMBI_NPM_REGISTRY: registry!,
      NPM_TOKEN: token,
    };
    let service: Awaited<ReturnType<typeof serve>> | undefined;
    try {
      assert.ok(!work.startsWith(`${ROOT}/`), "the plugin is made outside the repository");

      await t.step("1. plugin:new makes the package", async () => {
        await bash("scaffold", env);
        const deno = JSON.parse(await Deno.readTextFile(`${work}/${plugin}/deno.json`));
        assert.equal(deno.imports["@imbi/plugin-sdk"], env.SDK);
        assert.doesNotMatch(JSON.stringify(deno), new RegExp(ROOT), "nothing points into the checkout");
        const age = /```json\n(\{ "minimumDependencyAge"[^\n]*)\n```/.exec(DOC)?.[1];
        assert.ok(age, "the tutorial shows the minimumDependencyAge setting");
        await Deno.writeTextFile(
          `${work}/${plugin}/deno.json`,
          JSON.stringify({ ...deno, ...JSON.parse(age) }, null, 2),
        );
      });

      await t.step("2. its own deno task test and deno task check pass", async () => {
        const output = await bash("test", env);
        assert.match(output, /ok \| 1 passed/);
        assert.match(output, /✓ cleanup: the suite's keys are deleted/);
        assert.match(output, /\n11 passed, 0 failed/);
      });

      await t.step("3. deno task publish puts it on the registry", async () => {
        const output = await bash("publish", env);
        assert.match(output, new RegExp(`published @imbi/plugin-${plugin}@1\\.0\\.0`));
        const packument = await (await fetch(`${registry}@imbi%2fplugin-${plugin}`)).json();
        assert.deepEqual(Object.keys(packument.versions), ["1.0.0"]);
        assert.deepEqual(packument.versions["1.0.0"].imbi.plugins, [
          { slug: plugin, plugin_type: "configuration", api_version: "^1.0.0" },
        ]);
      });

      await t.step("4. a running service installs it through the admin API and its tab answers", async () => {
        assert.match(DOC, /IMBI_MIN_PACKAGE_AGE=0 \.\/bin\/deno task serve/);
        const adminToken = `tutorial-${crypto.randomUUID()}`;
        service = await serve({
          IMBI_DATA_DIR: `${work}/data`,
          IMBI_LOCKFILE: `${work}/plugins.lock.json`,
          IMBI_PORT: "0",
          IMBI_ADMIN_TOKEN: adminToken,
          IMBI_MIN_PACKAGE_AGE: "0",
          NPM_CONFIG_REGISTRY: registry!,
        });
        const output = await bash("tab", { ...env, IMBI_URL: service.url, IMBI_ADMIN_TOKEN: adminToken });
        assert.match(output, /"GREETING"/);
        const tab = await fetch(`${service.url}/orgs/acme/projects/web/configuration`, {
          headers: { authorization: `Bearer ${adminToken}` },
        });
        const body = await tab.json();
        assert.equal(tab.status, 200, JSON.stringify(body));
        assert.equal(body.source.plugin, plugin);
        assert.deepEqual(body.items.map((i: { key: string }) => i.key), ["GREETING"]);
        // The lock state lives in the graph store; the admin API shows what it pinned.
        const installed = await fetch(`${service.url}/admin/plugins`, {
          headers: { authorization: `Bearer ${adminToken}` },
        }).then((r) => r.json());
        const pkg = installed.items.find((p: { name: string }) => p.name === `@imbi/plugin-${plugin}`);
        assert.equal(pkg?.version, "1.0.0", JSON.stringify(installed.items));
      });
    } finally {
      await service?.stop();
      await Deno.remove(work, { recursive: true });
    }
  },
});
