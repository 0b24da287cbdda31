import assert from "node:assert/strict";
import { runCommand } from "../tests/support/command.ts";
import { LOCAL_SDK, scaffold } from "./plugin_new.ts";

const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);

for (const type of ["configuration", "logs"] as const) {
  Deno.test(`scaffold() makes a ${type} package whose own test and check tasks pass from inside its folder`, async () => {
    const root = await Deno.makeTempDir({ prefix: "imbi_plugin_new_" });
    const dir = `${root}/my-${type}`;
    try {
      await scaffold({ name: `my-${type}`, type, dir, sdk: LOCAL_SDK });
      const test = await runCommand("deno", ["task", "test"], { cwd: dir });
      assert.equal(test.code, 0, test.stdout + test.stderr);
      assert.match(test.stdout + test.stderr, /ok \| 1 passed/);
      const check = await runCommand("deno", ["task", "check"], { cwd: dir });
      assert.equal(check.code, 0, check.stdout + check.stderr);
      assert.match(check.stdout, new RegExp(`✓ my-${type} \\(${type}\\)`));
      assert.match(check.stdout, /\n\d+ passed, 0 failed/);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  });
}

Deno.test("scaffold() points the import map and tasks at npm:@imbi/plugin-sdk and npm:@imbi/plugin-testing", async () => {
  const root = await Deno.makeTempDir({ prefix: "imbi_plugin_new_" });
  try {
    await scaffold({ name: "from-npm", type: "logs", dir: `${root}/p`, sdk: "npm:@imbi/plugin-sdk@^1" });
    const deno = JSON.parse(await Deno.readTextFile(`${root}/p/deno.json`));
    assert.deepEqual(deno.imports, {
      "@imbi/plugin-sdk": "npm:@imbi/plugin-sdk@^1",
      "@imbi/plugin-sdk/testing": "npm:@imbi/plugin-sdk@^1/testing",
      "@imbi/plugin-testing": "npm:@imbi/plugin-testing@^1",
    });
    assert.equal(deno.tasks.test, "deno test");
    assert.match(deno.tasks.check, / npm:@imbi\/plugin-testing@\^1\/check \.$/);
    assert.match(deno.tasks.publish, / npm:@imbi\/plugin-testing@\^1\/publish \.$/);
    assert.equal(deno.license, "UNLICENSED");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("scaffold() refuses a bad name, an unknown SDK, and a non-empty folder unless forced", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/notes.txt`, "mine");
    const sdk = LOCAL_SDK;
    await assert.rejects(scaffold({ name: "Bad_Name", type: "logs", dir: `${dir}/n`, sdk }), RangeError);
    await assert.rejects(
      scaffold({ name: "good", type: "logs", dir: `${dir}/n`, sdk: "https://example.test/sdk.ts" }),
      /neither npm:@imbi\/plugin-sdk@<range>/,
    );
    await assert.rejects(scaffold({ name: "good", type: "logs", dir: `${dir}/n`, sdk: dir }), /not the plugins\/sdk/);
    await assert.rejects(
      scaffold({ name: "good", type: "logs", dir, sdk }),
      /is not empty: give another --dir, empty it, or pass --force/,
    );
    const written = await scaffold({ name: "good", type: "logs", dir, sdk, force: true });
    assert.equal(written.length, 4);
    assert.equal(await Deno.readTextFile(`${dir}/notes.txt`), "mine", "other files are left alone");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// Every deno.json task is covered by cli/tasks_test.ts; this is the scaffold's own publish command.
Deno.test("publish answers --help with usage and a wrong flag with one line", async (t) => {
  const commands: Record<string, string[]> = {
    "publish (a scaffold's deno task publish)": ["run", "-A", "plugins/testing/publish.ts"],
  };
  for (const [name, command] of Object.entries(commands)) {
    await t.step(name, async () => {
      const help = await runCommand("deno", [...command, "--help"], { cwd: ROOT });
      assert.equal(help.code, 0, help.stderr);
      assert.match(help.stdout, /^usage: /);
      const wrong = await runCommand("deno", [...command, "--no-such-flag"], { cwd: ROOT });
      assert.equal(wrong.code, 2);
      assert.equal(wrong.stderr.trim().split("\n").length, 1, wrong.stderr);
      assert.match(wrong.stderr, /Unknown option '--no-such-flag' \(see --help\)/);
      assert.doesNotMatch(wrong.stderr, /\bat \w|Stack/);
    });
  }
});
