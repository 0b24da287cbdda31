/**
 * The SDK and the test kit as packages: standalone, publishable, documented,
 * versioned by the plugin API.
 *
 * @module
 */

import assert from "node:assert/strict";
import { PLUGIN_API_VERSION } from "../../core/packages/manifest.ts";
import { SDK_API_VERSION } from "../../plugins/sdk/mod.ts";
import { type CommandResult, runCommand } from "../support/command.ts";

const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);
const SDK = `${ROOT}plugins/sdk`;

function deno(args: string[], cwd: string): Promise<CommandResult> {
  return runCommand("deno", args, { cwd });
}

async function exportedFiles(dir: string): Promise<string[]> {
  const { exports } = JSON.parse(await Deno.readTextFile(`${dir}/deno.json`));
  return Object.values(exports as Record<string, string>).map((file) => `${dir}/${file.replace(/^\.\//, "")}`);
}

Deno.test("plugins/sdk imports nothing from outside its folder", async () => {
  const modules = new Set<string>();
  for (const file of await exportedFiles(SDK)) {
    const info = await deno(["info", "--json", file], ROOT);
    assert.ok(info.ok, info.text);
    for (const m of JSON.parse(info.text).modules as { specifier: string }[]) modules.add(m.specifier);
  }
  assert.ok(modules.size > 10);
  assert.deepEqual([...modules].filter((s) => !s.startsWith(`file://${SDK}/`)), []);
});

Deno.test("plugins/sdk passes deno publish --dry-run (license, no slow types) and leaves its tests out", async () => {
  const out = await deno(["publish", "--dry-run", "--allow-dirty"], SDK);
  assert.ok(out.ok, out.text);
  assert.match(out.text, /plugins\/sdk\/LICENSE/);
  assert.doesNotMatch(out.text, /_test\.ts/);
});

Deno.test("deno doc --lint is clean on every export of plugins/sdk and plugins/testing", async () => {
  for (const dir of [SDK, `${ROOT}plugins/testing`]) {
    const out = await deno(["doc", "--lint", ...await exportedFiles(dir)], ROOT);
    assert.ok(out.ok, out.text);
  }
});

Deno.test("the SDK's version follows the plugin API: same major and minor as SDK_API_VERSION and the host's", async () => {
  const majorMinor = (v: string) => v.split(".").slice(0, 2).join(".");
  for (const dir of [SDK, `${ROOT}plugins/testing`]) {
    const { version } = JSON.parse(await Deno.readTextFile(`${dir}/deno.json`));
    assert.equal(majorMinor(version), majorMinor(SDK_API_VERSION), `${dir}/deno.json`);
  }
  assert.equal(SDK_API_VERSION, PLUGIN_API_VERSION);
});
