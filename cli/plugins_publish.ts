// deno-lint-ignore-file no-console -- a CLI entry point: its output is the user interface.
/**
 * `deno task plugins:publish --registry <url> [--token <token>] [--only aws,etcd] [--out <dir>] [--dry-run]`:
 * publishes the first-party plugin packages and the SDK as npm packages.
 *
 * Each workspace package (`plugins/sdk`, `plugins/aws`, `plugins/etcd`,
 * `plugins/logzio`, `plugins/github`) is built into a directory holding:
 * - one self-contained ES module per public export, made with `deno bundle`
 *   (its npm dependencies and the SDK inlined, so the package has no
 *   dependencies to resolve at install time): `mod.js`, and for the SDK
 *   also `types.js`, `errors.js`, `testing.js` (the sandbox runner is
 *   host-only and not published);
 * - the TypeScript sources under `src/`, for reading;
 * - `README.md` and a generated `package.json` (name and version from
 *   `deno.json`, `type: module`, `exports`, and an `imbi` block listing the
 *   entry points with their plugin types).
 * Then `npm publish` sends it to `--registry`, authenticated with `--token`
 * (or `NPM_TOKEN`) through a temporary userconfig; never `~/.npmrc`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import type { HandlerClass } from "@imbi/plugin-sdk/types";

/** The packages this repository publishes, by directory under `plugins/`. */
export const FIRST_PARTY = ["sdk", "aws", "etcd", "logzio", "github"] as const;

const ROOT = new URL("../", import.meta.url);
/** Exports of the SDK that are published (the sandbox runner drives the host and stays home). */
const SDK_EXPORTS = [".", "./types", "./errors", "./testing"];

/** A package built for npm. */
export interface BuiltPackage {
  name: string;
  version: string;
  /** Directory holding `package.json` and the built files. */
  dir: string;
}

async function run(command: string, args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  const out = await new Deno.Command(command, { args, stdin: "null", stdout: "piped", stderr: "piped", ...options })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${command} ${args[0]} failed (exit ${out.code}):\n${text.slice(-3000)}`);
  return text;
}

async function copySources(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isFile && entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) {
      await Deno.copyFile(`${from}/${entry.name}`, `${to}/${entry.name}`);
    }
  }
}

/**
 * Builds one workspace package into an npm package directory.
 *
 * @param name The directory under `plugins/` (`"aws"`, `"sdk"`, ...).
 * @param outDir Where to build (created; must not hold another build).
 * @param options `version` replaces the deno.json version (release candidates, tests).
 * @returns The npm name, version and directory.
 * @throws {Error} When `deno bundle` fails or the package has no name/version.
 */
export async function buildPackage(
  name: string,
  outDir: string,
  options: { version?: string } = {},
): Promise<BuiltPackage> {
  const src = decodeURIComponent(new URL(`plugins/${name}/`, ROOT).pathname).replace(/\/$/, "");
  const deno = JSON.parse(await Deno.readTextFile(`${src}/deno.json`));
  if (typeof deno.name !== "string" || typeof deno.version !== "string") {
    throw new Error(`plugins/${name}/deno.json needs a name and a version`);
  }
  const version = options.version ?? deno.version;
  const exportsMap: Record<string, string> = typeof deno.exports === "string"
    ? { ".": deno.exports }
    : Object.fromEntries(
      Object.entries(deno.exports as Record<string, string>).filter(([k]) => SDK_EXPORTS.includes(k)),
    );
  await Deno.mkdir(outDir, { recursive: true });
  const npmExports: Record<string, string> = {};
  for (const [subpath, file] of Object.entries(exportsMap)) {
    const out = `${file.replace(/^\.\//, "").replace(/\.ts$/, "")}.js`;
    await run(Deno.execPath(), [
      "bundle",
      "--quiet",
      "--platform",
      "deno",
      "--output",
      `${outDir}/${out}`,
      `${src}/${file}`,
    ], {
      cwd: decodeURIComponent(ROOT.pathname),
    });
    npmExports[subpath] = `./${out}`;
  }
  await copySources(src, `${outDir}/src`);
  await Deno.copyFile(`${src}/README.md`, `${outDir}/README.md`).catch(() => {});
  let entryPoints: { slug: string; plugin_type: string }[] = [];
  if (name !== "sdk") {
    const mod = await import(pathToFileURL(`${src}/mod.ts`).href) as { plugins: HandlerClass[] };
    entryPoints = mod.plugins.map((p) => ({ slug: p.manifest.slug, plugin_type: p.manifest.plugin_type }));
  }
  const pkg = {
    name: deno.name,
    version,
    description: name === "sdk"
      ? "The Imbi plugin SDK (plugin API 1.0): types, typed errors, cursors and the conformance suite"
      : `Imbi plugins: ${entryPoints.map((e) => `${e.slug} (${e.plugin_type})`).join(", ")}`,
    type: "module",
    main: npmExports["."],
    exports: npmExports,
    files: [...Object.values(npmExports).map((p) => p.slice(2)), "src/", "README.md"],
    keywords: ["imbi", "imbi-plugin"],
    ...(entryPoints.length ? { imbi: { api_version: "^1.0.0", plugins: entryPoints } } : {}),
  };
  await Deno.writeTextFile(`${outDir}/package.json`, JSON.stringify(pkg, null, 2) + "\n");
  return { name: deno.name, version, dir: outDir };
}

/**
 * Publishes a built package with `npm publish`.
 *
 * @param built From {@linkcode buildPackage}.
 * @param registry The registry URL.
 * @param options `token` for the registry (anonymous when absent), `dryRun`.
 * @returns npm's output.
 * @throws {Error} When npm refuses (e.g. the version already exists).
 */
export async function publishPackage(
  built: BuiltPackage,
  registry: string,
  options: { token?: string; dryRun?: boolean } = {},
): Promise<string> {
  const work = await Deno.makeTempDir({ prefix: "imbi_publish_" });
  try {
    const url = new URL(registry.endsWith("/") ? registry : `${registry}/`);
    await Deno.writeTextFile(
      `${work}/npmrc`,
      options.token ? `//${url.host}${url.pathname}:_authToken=${options.token}\n` : "",
    );
    return await run("npm", [
      "publish",
      `--registry=${url.href}`,
      `--userconfig=${work}/npmrc`,
      "--access=public",
      ...(options.dryRun ? ["--dry-run"] : []),
    ], {
      cwd: built.dir,
      env: { npm_config_cache: `${work}/cache`, npm_config_update_notifier: "false", npm_config_fund: "false" },
    });
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      registry: { type: "string" },
      token: { type: "string" },
      only: { type: "string" },
      out: { type: "string" },
      "dry-run": { type: "boolean" },
    },
  });
  if (!values.registry) {
    console.error(
      "usage: deno task plugins:publish --registry <url> [--token <t>] [--only sdk,aws] [--out <dir>] [--dry-run]",
    );
    Deno.exit(2);
  }
  const names = values.only ? values.only.split(",").map((s) => s.trim()) : [...FIRST_PARTY];
  const unknown = names.filter((n) => !(FIRST_PARTY as readonly string[]).includes(n));
  if (unknown.length) {
    console.error(`plugins:publish: unknown package ${unknown.join(", ")} (known: ${FIRST_PARTY.join(", ")})`);
    Deno.exit(2);
  }
  const out = values.out ?? await Deno.makeTempDir({ prefix: "imbi_npm_build_" });
  const token = values.token ?? Deno.env.get("NPM_TOKEN");
  let failed = 0;
  for (const name of names) {
    try {
      const built = await buildPackage(name, `${out}/${name}`);
      await publishPackage(built, values.registry, { ...(token ? { token } : {}), dryRun: values["dry-run"] ?? false });
      console.log(`${values["dry-run"] ? "would publish" : "published"} ${built.name}@${built.version}`);
    } catch (error) {
      failed++;
      console.error(`plugins:publish: ${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (!values.out) await Deno.remove(out, { recursive: true });
  Deno.exit(failed > 0 ? 1 : 0);
}
