import assert from "node:assert/strict";
import { LOCAL_SDK, scaffold } from "../../cli/plugin_new.ts";
import { type CommandResult, runCommand } from "../../tests/support/command.ts";
import { checkPlugin } from "./mod.ts";

function check(dir: string): Promise<CommandResult> {
  return runCommand("deno", ["task", "-q", "check"], { cwd: dir });
}

Deno.test("checkPlugin() skips an entry that needs credentials when no config is given", async () => {
  const outcomes = await checkPlugin(new URL("../logzio/", import.meta.url).pathname);
  assert.deepEqual(outcomes.map((o) => [o.slug, o.status]), [["logzio", "skipped"]]);
});

Deno.test("check prints which step failed and why, and exits 1", async (t) => {
  const root = await Deno.makeTempDir({ prefix: "imbi_check_" });
  const dir = `${root}/broken`;
  try {
    await scaffold({ name: "broken", type: "configuration", dir, sdk: LOCAL_SDK });
    const source = await Deno.readTextFile(`${dir}/mod.ts`);

    await t.step("a handler that breaks the protocol: the failed step and the handler's message", async () => {
      const broken = source.replace(
        "this.#space(ctx).delete(key);",
        "throw new Error(`cannot delete ${key}: broken on purpose`);",
      );
      assert.notEqual(broken, source);
      await Deno.writeTextFile(`${dir}/mod.ts`, broken);
      const out = await check(dir);
      assert.equal(out.code, 1, out.stdout + out.stderr);
      assert.match(out.stdout, /✗ broken \(configuration\)/);
      assert.match(out.stdout, /✓ setValue\(\) overwrites an existing key/);
      assert.match(out.stdout, /✗ deleteKey\(\) removes a key and is idempotent\n\s+.*broken on purpose/);
      assert.match(out.stdout, /\n\d+ passed, [1-9]\d* failed/);
    });

    await t.step("a module that does not compile: the bundler's reason", async () => {
      await Deno.writeTextFile(`${dir}/mod.ts`, source.replace("export const plugins", "export const = plugins"));
      const out = await check(dir);
      assert.equal(out.code, 1);
      assert.match(out.stderr, /^✗ \.: Cannot bundle @imbi\/plugin-broken/);
    });

    await t.step("an invalid manifest: which entry and which field", async () => {
      await Deno.writeTextFile(`${dir}/mod.ts`, source.replace('api_version: "^1.0.0"', 'api_version: "latest"'));
      const out = await check(dir);
      assert.equal(out.code, 1);
      assert.match(out.stderr, /^✗ \.: Cannot load plugin "broken" .*api_version "latest" is not a semver range/);
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
