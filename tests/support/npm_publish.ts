/**
 * Publishes a fixture directory to the test npm registry (Verdaccio) with the
 * real `npm publish`, authenticated by a user created for the run and a
 * per-call userconfig (never the global ~/.npmrc).
 *
 * @module
 */

import { copyDir } from "./package_copy.ts";

const tokens = new Map<string, Promise<string>>();

/**
 * Creates a user of the test registry (Verdaccio's CouchDB-style user API).
 *
 * @param registry Base URL with trailing slash.
 * @returns The new user's token.
 * @throws {Error} When the registry refuses.
 */
export async function registryToken(registry: string): Promise<string> {
  const user = `imbi-test-${crypto.randomUUID().slice(0, 8)}`;
  const res = await fetch(`${registry}-/user/org.couchdb.user:${user}`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: user, password: crypto.randomUUID(), email: `${user}@example.test`, type: "user" }),
  });
  const body = await res.json();
  if (!res.ok || typeof body.token !== "string") {
    throw new Error(`cannot create a test npm user: ${JSON.stringify(body)}`);
  }
  return body.token;
}

/** Options of {@linkcode publishFixture}. */
export interface PublishOptions {
  /** Replaces package.json `name`. */
  name?: string;
  /** Replaces package.json `version`. */
  version?: string;
  /** Replaces package.json `dependencies`. */
  dependencies?: Record<string, string>;
  /** Changes a file before publishing: path relative to the package, and its new text. */
  files?: Record<string, string>;
  /**
   * Skip publishing when the registry already has this name and version
   * (the same fixture published earlier in this test run, e.g. by the first
   * pass of the test command). Only for fixtures whose content never varies.
   */
  unlessPublished?: boolean;
}

async function isPublished(registry: string, name: string, version: string): Promise<boolean> {
  const response = await fetch(`${registry}${name.replace("/", "%2f")}`);
  if (!response.ok) {
    await response.body?.cancel();
    return false;
  }
  const packument = await response.json() as { versions?: Record<string, unknown> };
  return Object.hasOwn(packument.versions ?? {}, version);
}

/**
 * Publishes `dir` (a package.json package) to `registry`.
 *
 * @param registry Base URL with trailing slash (`IMBI_TEST_NPM_REGISTRY`).
 * @param dir The fixture directory.
 * @param options Name, version, dependency and file overrides.
 * @returns The published name and version.
 */
export async function publishFixture(
  registry: string,
  dir: string,
  options: PublishOptions = {},
): Promise<{ name: string; version: string }> {
  if (!tokens.has(registry)) tokens.set(registry, registryToken(registry));
  const authToken = await tokens.get(registry)!;
  const work = await Deno.makeTempDir({ prefix: "imbi-npm-publish-" });
  try {
    await copyDir(dir, `${work}/pkg`);
    const pkg = JSON.parse(await Deno.readTextFile(`${work}/pkg/package.json`));
    if (options.name) pkg.name = options.name;
    if (options.version) pkg.version = options.version;
    if (options.dependencies) pkg.dependencies = options.dependencies;
    if (options.unlessPublished && await isPublished(registry, pkg.name, pkg.version)) {
      return { name: pkg.name, version: pkg.version };
    }
    await Deno.writeTextFile(`${work}/pkg/package.json`, JSON.stringify(pkg, null, 2));
    for (const [path, text] of Object.entries(options.files ?? {})) {
      await Deno.writeTextFile(`${work}/pkg/${path}`, text);
    }
    const host = new URL(registry);
    await Deno.writeTextFile(`${work}/npmrc`, `//${host.host}${host.pathname}:_authToken=${authToken}\n`);
    const out = await new Deno.Command("npm", {
      args: ["publish", `--registry=${registry}`, `--userconfig=${work}/npmrc`, "--access=public", "--no-git-checks"],
      cwd: `${work}/pkg`,
      env: { npm_config_cache: `${work}/cache`, npm_config_update_notifier: "false", npm_config_fund: "false" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(
        `npm publish ${pkg.name}@${pkg.version} failed: ${new TextDecoder().decode(out.stderr).slice(-1500)}`,
      );
    }
    return { name: pkg.name, version: pkg.version };
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}
