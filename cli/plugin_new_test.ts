import assert from "node:assert/strict";
import { scaffold } from "./plugin_new.ts";
import { checkPlugin } from "../plugins/testing/mod.ts";

const SDK = new URL("../plugins/sdk/", import.meta.url).pathname;

async function scaffolded(type: "configuration" | "logs"): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "imbi_plugin_new_" });
  const dir = `${root}/my-${type}`;
  const rel = (await Deno.realPath(SDK)).replace(/\/$/, "");
  await scaffold({ name: `my-${type}`, type, dir, sdk: { main: `${rel}/mod.ts`, testing: `${rel}/testing.ts` } });
  return dir;
}

for (const type of ["configuration", "logs"] as const) {
  Deno.test(`scaffold() makes a ${type} package whose own tests pass and that passes plugin:check in the sandbox`, async () => {
    const dir = await scaffolded(type);
    try {
      const test = await new Deno.Command(Deno.execPath(), {
        args: ["test", "--quiet", "--no-prompt"],
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const output = new TextDecoder().decode(test.stdout) + new TextDecoder().decode(test.stderr);
      assert.ok(test.success, output);
      assert.match(output, /1 passed/);
      const outcomes = await checkPlugin(dir);
      assert.equal(outcomes.length, 1);
      const outcome = outcomes[0]!;
      assert.equal(outcome.status, "checked");
      if (outcome.status === "checked") {
        assert.deepEqual(outcome.report.results.filter((r) => !r.ok), []);
        assert.equal(outcome.report.plugin_type, type);
      }
    } finally {
      await Deno.remove(dir.replace(/\/[^/]+$/, ""), { recursive: true });
    }
  });
}

Deno.test("scaffold() refuses a bad name and a non-empty directory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/x`, "");
    const sdk = { main: "npm:@imbi/plugin-sdk@^1.0.0", testing: "npm:@imbi/plugin-sdk@^1.0.0/testing" };
    await assert.rejects(scaffold({ name: "Bad_Name", type: "logs", dir: `${dir}/n`, sdk }), RangeError);
    await assert.rejects(scaffold({ name: "good", type: "logs", dir, sdk }), /not empty/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkPlugin() skips an entry that needs credentials when no config is given", async () => {
  const outcomes = await checkPlugin(new URL("../plugins/logzio/", import.meta.url).pathname);
  assert.deepEqual(outcomes.map((o) => [o.slug, o.status]), [["logzio", "skipped"]]);
});
