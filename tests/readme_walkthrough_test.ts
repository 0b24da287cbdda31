/**
 * The README walk-through "from an empty service to a Configuration tab",
 * run as a reader pastes it: every shell block of that section joined into
 * one script and run with bash from the repository root, the service
 * started by the script itself (`./bin/deno task serve &`) on a fresh data
 * directory and a free port. Catches a walk-through that reads the token
 * before the service wrote it, or a block that depends on being run alone.
 *
 * @module
 */

import assert from "node:assert/strict";
import { runCommand } from "./support/command.ts";
import { freePort } from "./support/local.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const README = await Deno.readTextFile(`${ROOT}README.md`);

/** The shell blocks of one README section, joined as one paste. */
function section(title: string): string {
  const start = README.indexOf(`## ${title}`);
  assert.ok(start >= 0, `README.md has no section "${title}"`);
  const end = README.indexOf("\n## ", start + 3);
  const text = README.slice(start, end < 0 ? undefined : end);
  return [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]).join("\n");
}

Deno.test("README walk-through, pasted as one block, ends with both tabs answering", async () => {
  const script = section("Walk-through: from an empty service to a Configuration tab");
  assert.match(script, /readyz/, "the walk-through waits for readiness");
  const dataDir = await Deno.makeTempDir({ prefix: "imbi-readme-" });
  // `set -m`: the service started with `&` gets a process group of its own, ended with the script.
  const wrapped = `set -m\n${script}\necho "--- done"\nkill -TERM -- -$! 2>/dev/null; wait\n`;
  try {
    const { stdout, stderr } = await runCommand("bash", ["-c", wrapped], {
      cwd: ROOT,
      env: { IMBI_PORT: String(freePort()), IMBI_DATA_DIR: dataDir },
      signal: AbortSignal.timeout(240_000),
    });
    const context = `${stdout.slice(-3000)}\n${stderr.slice(-3000)}`;
    assert.match(stdout, /--- done/, context);
    assert.doesNotMatch(stdout, /"status":40[13]/, `a call was refused:\n${context}`);
    assert.match(stdout, /"key":"GREETING"/, context);
    assert.match(stdout, /"key":"API_URL".*"value":"https:\/\/api\.example"/, context);
    assert.match(stdout, /"plugin":"demo-logs"/, context);
    assert.match(stdout, /"entries":\[/, context);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
