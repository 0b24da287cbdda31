/**
 * Test tools for the OpenAPI document, installed only (nothing runs until a
 * test calls them): Schemathesis from PyPI, in a virtualenv under the cache
 * directory, and Redocly CLI from npm, under the cache directory. Both are
 * pinned, so a new release never changes what the suite accepts.
 *
 * Exports `IMBI_TEST_SCHEMATHESIS` (the `st` executable) and
 * `IMBI_TEST_REDOCLY` (the `redocly` executable).
 *
 * @module
 */

import type { TestService } from "./service.ts";
import { pathExists } from "../support/local.ts";

/** The Schemathesis release the fuzz test runs. */
export const SCHEMATHESIS_VERSION = "4.32.5";
/** The Redocly CLI release the lint test runs. */
export const REDOCLY_VERSION = "2.77.0";

function paths(cacheDir: string) {
  const venv = `${cacheDir}/schemathesis-${SCHEMATHESIS_VERSION}`;
  const redocly = `${cacheDir}/redocly-cli-${REDOCLY_VERSION}`;
  return { venv, st: `${venv}/bin/st`, redocly, redoclyBin: `${redocly}/node_modules/.bin/redocly` };
}

async function run(command: string, args: string[], what: string): Promise<void> {
  const out = await new Deno.Command(command, { args, stdin: "null", stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    const tail = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-5).join("\n");
    throw new Error(`${what} failed (exit ${out.code}): ${tail}`);
  }
}

/** Schemathesis and Redocly CLI, installed into the cache directory. */
export const service: TestService = {
  name: "openapi-tools",
  async install(cacheDir, progress) {
    const p = paths(cacheDir);
    if (!await pathExists(p.st)) {
      progress(`installing schemathesis==${SCHEMATHESIS_VERSION} into ${p.venv}`);
      await run("python3", ["-m", "venv", p.venv], "python3 -m venv");
      await run(`${p.venv}/bin/pip`, ["install", "--quiet", `schemathesis==${SCHEMATHESIS_VERSION}`], "pip install");
    }
    if (!await pathExists(p.redoclyBin)) {
      progress(`installing @redocly/cli@${REDOCLY_VERSION} into ${p.redocly}`);
      await Deno.mkdir(p.redocly, { recursive: true });
      await Deno.writeTextFile(`${p.redocly}/package.json`, JSON.stringify({ private: true }));
      await run(
        "npm",
        [
          "install",
          "--prefix",
          p.redocly,
          "--no-audit",
          "--no-fund",
          "--save-exact",
          `@redocly/cli@${REDOCLY_VERSION}`,
        ],
        "npm install @redocly/cli",
      );
    }
  },
  start(cacheDir) {
    const p = paths(cacheDir);
    return Promise.resolve({
      env: { IMBI_TEST_SCHEMATHESIS: p.st, IMBI_TEST_REDOCLY: p.redoclyBin },
      stop: () => Promise.resolve(),
    });
  },
};
