/**
 * Test service: a real npm registry (Verdaccio 6) on loopback. Packages under
 * `@imbi-test/*` and `@imbi/*` are published by the tests themselves; every
 * other name is proxied to the public npm registry (so `deno bundle` can get
 * esbuild and third-party dependencies through it).
 *
 * Verdaccio 6 needs Node 22, so the `node@22` npm package is installed beside
 * it and its binary runs the server. `node-fetch` is pinned to 2.7.0 through
 * npm `overrides` (Verdaccio's own range pulls a broken release).
 *
 * Exports `IMBI_TEST_NPM_REGISTRY` (`http://127.0.0.1:<port>/`) and
 * `IMBI_TEST_NPM_STORAGE` (the storage directory, so tests can corrupt a
 * stored tarball).
 *
 * @module
 */

import type { RunningService, TestService } from "./service.ts";
import { freePort, pathExists } from "../support/local.ts";

const PACKAGE_JSON = {
  name: "imbi-test-verdaccio",
  private: true,
  dependencies: { verdaccio: "^6.0.0", node: "^22.0.0" },
  overrides: { "node-fetch": "2.7.0" },
};

function paths(cacheDir: string) {
  const dir = `${cacheDir}/verdaccio`;
  return {
    dir,
    node: `${dir}/node_modules/node/bin/node`,
    verdaccio: `${dir}/node_modules/verdaccio/bin/verdaccio`,
    packageJson: `${dir}/package.json`,
  };
}

function config(storage: string, port: number): string {
  return [
    `storage: ${JSON.stringify(`${storage}/storage`)}`,
    "auth:",
    "  htpasswd:",
    `    file: ${JSON.stringify(`${storage}/htpasswd`)}`,
    "    max_users: 1000",
    "uplinks:",
    "  npmjs:",
    "    url: https://registry.npmjs.org/",
    "    timeout: 60s",
    "packages:",
    "  '@imbi-test/*':",
    "    access: $all",
    "    publish: $anonymous $authenticated",
    "    unpublish: $anonymous $authenticated",
    "  '@imbi/*':",
    "    access: $all",
    "    publish: $anonymous $authenticated",
    "    unpublish: $anonymous $authenticated",
    "  '**':",
    "    access: $all",
    "    proxy: npmjs",
    `listen: 127.0.0.1:${port}`,
    "max_body_size: 50mb",
    "log: { type: stdout, format: pretty, level: warn }",
    "",
  ].join("\n");
}

async function waitReady(url: string, child: Deno.ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child.status.then(() => exited = true);
  while (Date.now() < deadline) {
    if (exited) throw new Error("verdaccio exited before it was ready");
    try {
      const res = await fetch(`${url}-/ping`);
      await res.body?.cancel();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`verdaccio did not answer ${url}-/ping within ${timeoutMs} ms`);
}

/** Verdaccio 6 on a free loopback port, with a fresh storage directory per start. */
export const service: TestService = {
  name: "verdaccio",
  async install(cacheDir, progress) {
    const p = paths(cacheDir);
    const wanted = JSON.stringify(PACKAGE_JSON, null, 2) + "\n";
    const current = await Deno.readTextFile(p.packageJson).catch(() => "");
    if (current === wanted && await pathExists(p.node) && await pathExists(p.verdaccio)) return;
    progress("npm install verdaccio@6 node@22 (first run only)");
    await Deno.mkdir(p.dir, { recursive: true });
    await Deno.writeTextFile(p.packageJson, wanted);
    const out = await new Deno.Command("npm", {
      args: ["install", "--no-audit", "--no-fund", "--registry=https://registry.npmjs.org/"],
      cwd: p.dir,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success || !await pathExists(p.node) || !await pathExists(p.verdaccio)) {
      throw new Error(`npm install in ${p.dir} failed: ${new TextDecoder().decode(out.stderr).slice(-2000)}`);
    }
  },
  async start(cacheDir, progress): Promise<RunningService> {
    const p = paths(cacheDir);
    const storage = await Deno.makeTempDir({ prefix: "imbi-verdaccio-" });
    const port = freePort();
    await Deno.writeTextFile(`${storage}/config.yaml`, config(storage, port));
    const child = new Deno.Command(p.node, {
      args: [p.verdaccio, "--config", `${storage}/config.yaml`],
      cwd: storage,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      env: { NODE_ENV: "production" },
    }).spawn();
    const url = `http://127.0.0.1:${port}/`;
    try {
      await waitReady(url, child, 60_000);
    } catch (error) {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      const err = await new Response(child.stderr).text();
      await child.status;
      await Deno.remove(storage, { recursive: true }).catch(() => {});
      throw new Error(`${(error as Error).message}: ${err.slice(-1000)}`);
    }
    progress(`listening on ${url}`);
    return {
      env: { IMBI_TEST_NPM_REGISTRY: url, IMBI_TEST_NPM_STORAGE: `${storage}/storage` },
      async stop() {
        try {
          child.kill("SIGTERM");
        } catch { /* already gone */ }
        await child.stderr.cancel().catch(() => {});
        await child.status;
        await Deno.remove(storage, { recursive: true }).catch(() => {});
      },
    };
  },
};
