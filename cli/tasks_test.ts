import assert from "node:assert/strict";
import { runCommand } from "../tests/support/command.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** Tasks that are not operator or author commands: the repository's own checks and benchmarks. */
function isDevelopmentTask(name: string): boolean {
  return name === "test" || name === "ok" || name === "bench" || name.startsWith("bench:");
}

const tasks = Object.keys(JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).tasks as Record<string, unknown>)
  .filter((name) => !isDevelopmentTask(name));

Deno.test("every task answers --help with its usage and a wrong flag with one line and exit 2", async (t) => {
  assert.ok(tasks.length >= 9, `only ${tasks.join(", ")}`);
  const work = await Deno.makeTempDir({ prefix: "imbi-tasks-" });
  // Nothing may be written into the repository should a task ignore its arguments.
  const env = { IMBI_DATA_DIR: `${work}/data`, IMBI_LOCKFILE: `${work}/plugins.lock.json`, IMBI_PORT: "0" };
  const rootEntries = () => Array.from(Deno.readDirSync(ROOT), (e) => e.name).sort();
  const before = rootEntries();
  try {
    for (const name of tasks) {
      await t.step(name, async () => {
        const help = await runCommand(`${ROOT}bin/deno`, ["task", "-q", name, "--help"], { cwd: ROOT, env });
        assert.equal(help.code, 0, help.text);
        assert.match(help.stdout, /^usage: /, help.text);
        const wrong = await runCommand(`${ROOT}bin/deno`, ["task", "-q", name, "--no-such-flag"], { cwd: ROOT, env });
        assert.equal(wrong.code, 2, wrong.text);
        assert.equal(wrong.stdout, "");
        const lines = wrong.stderr.trim().split("\n");
        assert.equal(lines.length, 1, wrong.stderr);
        assert.match(lines[0]!, /--no-such-flag.*\(see --help\)$/);
        assert.doesNotMatch(wrong.stderr, /\bat \w|Stack|Error:/);
      });
    }
    await t.step("plugins <command> --help and a wrong flag of a subcommand", async () => {
      const help = await runCommand(`${ROOT}bin/deno`, ["task", "-q", "plugins", "upgrade", "--help"], {
        cwd: ROOT,
        env,
      });
      assert.equal(help.code, 0, help.text);
      assert.match(help.stdout, /^usage: deno task plugins upgrade <package> <version-or-range>/);
      const wrong = await runCommand(`${ROOT}bin/deno`, ["task", "-q", "plugins", "list", "--jsn"], { cwd: ROOT, env });
      assert.equal(wrong.code, 2, wrong.text);
      assert.equal(wrong.stderr.trim(), 'plugins: unknown option "--jsn" (see --help)');
    });
    assert.deepEqual(rootEntries(), before, "a task wrote into the repository (an argument taken as a path?)");
    assert.equal(await Deno.stat(`${work}/data`).then(() => true, () => false), false, "a task wrote a data dir");
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});
