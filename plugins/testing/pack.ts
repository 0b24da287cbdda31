/**
 * Turns a Deno plugin package (its `deno.json`: name, version, license,
 * exports) into an npm package and publishes it: what `deno task
 * plugins:publish` does for the first-party packages and what a plugin's
 * own `deno task publish` does (`@imbi/plugin-testing/publish`).
 *
 * The built directory holds:
 * - the JavaScript, made by `deno bundle --code-splitting` over every export
 *   at once: each export is one ES module and whatever two exports share
 *   lives in one chunk they both import, so a class exists once per package
 *   (`instanceof` holds across subpaths). Dependencies are inlined except the
 *   `external` ones, which become `dependencies`;
 * - `.d.ts` files under `types/`, from `deno transpile --declaration` (Deno's
 *   own type checker over the package's module graph), the ones the exports
 *   reach, with relative imports pointing at `.js`;
 * - `package.json` with `exports` (a `types` and a `default` condition per
 *   subpath), `types`, `license`, `repository`, `dependencies`,
 *   `peerDependencies`, and for a plugin package an `imbi` block listing its
 *   entry points; the license file and README.
 *
 * @module
 */

import { basename, dirname, join, relative, resolve } from "node:path";
import { inspectBundle } from "../../core/sandbox/inspect.ts";

/** What to build besides the package's own `deno.json`. */
export interface PackOptions {
  /** Replaces the `deno.json` version (release candidates, tests). */
  version?: string;
  /** Specifiers left as imports (npm packages the built package depends on), each with its npm range. */
  external?: Record<string, string>;
  /** Packages the `.d.ts` files import but the JavaScript does not, as optional peer dependencies. */
  typePeers?: Record<string, string>;
  /** More single-file bundles: output name (e.g. `bootstrap.js`) → absolute path of the module. */
  extraBundles?: Record<string, string>;
  /** The license file to ship when the package has no `LICENSE` of its own. */
  licenseFile?: string;
  /** The SPDX license id when `deno.json` has no `license`. */
  license?: string;
  /** The package.json `repository` field. */
  repository?: { type: "git"; url: string; directory?: string };
  /** The package.json `description` (plugin packages default to their entry points). */
  description?: string;
  /** Read the manifests of `plugins` from the main export and list them in `imbi` (plugin packages). */
  plugin?: boolean;
  /** The working directory of `deno bundle` and `deno transpile` (default: the package directory). */
  cwd?: string;
}

/** A package built for npm. */
export interface BuiltPackage {
  /** The npm name. */
  name: string;
  /** The exact version. */
  version: string;
  /** Directory holding `package.json` and the built files. */
  dir: string;
}

interface DenoJson {
  name?: unknown;
  version?: unknown;
  license?: unknown;
  exports?: unknown;
}

async function run(args: string[], cwd: string): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`deno ${args[0]} failed (exit ${out.code}):\n${text.slice(-3000)}`);
  return text;
}

function exportsOf(deno: DenoJson, label: string): Record<string, string> {
  if (typeof deno.exports === "string") return { ".": deno.exports };
  if (deno.exports && typeof deno.exports === "object" && !Array.isArray(deno.exports)) {
    const entries = Object.entries(deno.exports as Record<string, unknown>);
    if (entries.length > 0 && entries.every(([, v]) => typeof v === "string")) {
      return Object.fromEntries(entries) as Record<string, string>;
    }
  }
  throw new Error(`${label} needs "exports": a path or a map of subpaths to paths`);
}

const RELATIVE_IMPORT = /(\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)(["'])(\.\.?\/[^"']+)\2/g;

/**
 * Copies the `.d.ts` files the entries reach (following relative imports)
 * from `deno transpile`'s output to `typesDir`, pointing imports at `.js`.
 */
async function collectDeclarations(emitted: string, entries: string[], typesDir: string): Promise<void> {
  const queue = [...entries];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    // Deno names some modules by their build path (`/// <amd-module name="file:///...">`): drop it.
    const text = (await Deno.readTextFile(join(emitted, file))).replace(/^\/\/\/ <amd-module [^>]*>\n/gm, "");
    const rewritten = text.replace(RELATIVE_IMPORT, (_m, lead: string, quote: string, spec: string) => {
      queue.push(join(dirname(file), spec.replace(/\.(ts|js)$/, ".d.ts")));
      return `${lead}${quote}${spec.replace(/\.ts$/, ".js")}${quote}`;
    });
    await Deno.mkdir(join(typesDir, dirname(file)), { recursive: true });
    await Deno.writeTextFile(join(typesDir, file), rewritten);
  }
}

/**
 * The source directory `deno transpile`'s output mirrors: it writes each
 * module below the graph's common directory, which is not always the package's.
 */
async function emittedRoot(emitted: string, modules: string[]): Promise<string> {
  for (let dir = dirname(modules[0]!);; dir = dirname(dir)) {
    const found = await Promise.all(
      modules.map((m) => exists(join(emitted, relative(dir, m).replace(/\.ts$/, ".d.ts")))),
    );
    if (found.every(Boolean)) return dir;
    if (dir === dirname(dir)) throw new Error(`deno transpile emitted no declarations for ${modules.join(", ")}`);
  }
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/**
 * Builds one package directory into an npm package directory.
 *
 * @param pkgDir The package directory (holding `deno.json`).
 * @param outDir Where to build (created; must not hold another build).
 * @param options Version override, externals, extra bundles, license, repository.
 * @returns The npm name, version and directory.
 * @throws {Error} When `deno.json` lacks a name, version, license or exports, when bundling or type
 *   declarations fail, or (plugin packages) when the bundle exports no valid `plugins`.
 */
export async function buildPackage(pkgDir: string, outDir: string, options: PackOptions = {}): Promise<BuiltPackage> {
  const src = resolve(pkgDir);
  const label = `${src}/deno.json`;
  const deno = JSON.parse(await Deno.readTextFile(`${src}/deno.json`)) as DenoJson;
  if (typeof deno.name !== "string" || typeof deno.version !== "string") {
    throw new Error(`${label} needs a "name" and a "version"`);
  }
  const licenseId = typeof deno.license === "string" ? deno.license : options.license;
  if (!licenseId) throw new Error(`${label} needs a "license" (an SPDX id, or "UNLICENSED")`);
  const version = options.version ?? deno.version;
  const exportsMap = exportsOf(deno, label);
  const cwd = options.cwd ?? src;
  const external = Object.keys(options.external ?? {}).flatMap((
    name,
  ) => ["--external", name, "--external", `${name}/*`]);
  await Deno.mkdir(outDir, { recursive: true });
  const modules = Object.values(exportsMap).map((file) => resolve(src, file));
  await run([
    "bundle",
    "--quiet",
    "--platform=deno",
    "--format=esm",
    "--code-splitting",
    ...external,
    "--outdir",
    outDir,
    ...modules,
  ], cwd);
  for (const [name, module] of Object.entries(options.extraBundles ?? {})) {
    await run(["bundle", "--quiet", "--platform=deno", "--format=esm", "-o", join(outDir, name), module], cwd);
  }
  const emitted = await Deno.makeTempDir({ prefix: "imbi_pack_types_" });
  const npmExports: Record<string, { types: string; default: string }> = {};
  try {
    await run(["transpile", "--quiet", "--declaration", "--outdir", emitted, ...modules], cwd);
    const root = await emittedRoot(emitted, modules);
    const declarations: string[] = [];
    for (const [subpath, file] of Object.entries(exportsMap)) {
      const js = `./${relative(src, resolve(src, file)).replace(/\.ts$/, ".js")}`;
      if (!await exists(join(outDir, js))) throw new Error(`deno bundle wrote no ${js} for export "${subpath}"`);
      const dts = relative(root, resolve(src, file)).replace(/\.ts$/, ".d.ts");
      declarations.push(dts);
      npmExports[subpath] = { types: `./types/${dts}`, default: js };
    }
    await collectDeclarations(emitted, declarations, join(outDir, "types"));
  } finally {
    await Deno.remove(emitted, { recursive: true });
  }
  const license = await exists(`${src}/LICENSE`) ? `${src}/LICENSE` : options.licenseFile;
  if (license) await Deno.copyFile(license, join(outDir, "LICENSE"));
  if (await exists(`${src}/README.md`)) await Deno.copyFile(`${src}/README.md`, join(outDir, "README.md"));
  const main = npmExports["."];
  const entryPoints = options.plugin && main ? await pluginEntries(join(outDir, main.default)) : [];
  const files = (await Array.fromAsync(Deno.readDir(outDir))).map((e) => e.name).sort();
  const pkg = {
    name: deno.name,
    version,
    description: options.description ??
      `Imbi plugins: ${entryPoints.map((e) => `${e.slug} (${e.plugin_type})`).join(", ")}`,
    license: licenseId,
    ...(options.repository ? { repository: options.repository } : {}),
    type: "module",
    ...(main ? { main: main.default, types: main.types } : {}),
    exports: npmExports,
    files,
    keywords: ["imbi", ...(options.plugin ? ["imbi-plugin"] : [])],
    ...(options.external && Object.keys(options.external).length ? { dependencies: options.external } : {}),
    ...(options.typePeers && Object.keys(options.typePeers).length
      ? {
        peerDependencies: options.typePeers,
        peerDependenciesMeta: Object.fromEntries(Object.keys(options.typePeers).map((n) => [n, { optional: true }])),
      }
      : {}),
    ...(options.plugin ? { imbi: { plugins: entryPoints } } : {}),
  };
  await Deno.writeTextFile(join(outDir, "package.json"), JSON.stringify(pkg, null, 2) + "\n");
  return { name: deno.name, version, dir: outDir };
}

/** The entry points a plugin bundle exports, read by the service's permission-less inspector. */
async function pluginEntries(bundle: string): Promise<{ slug: string; plugin_type: string; api_version: string }[]> {
  const inspected = await inspectBundle(bundle, { timeoutMs: 15_000 });
  if (!inspected.ok) throw new Error(`${basename(bundle)} is not a plugin bundle: ${inspected.reason}`);
  return inspected.entries.map(({ manifest }) => {
    const m = manifest as { slug?: unknown; plugin_type?: unknown; api_version?: unknown };
    return { slug: String(m.slug), plugin_type: String(m.plugin_type), api_version: String(m.api_version) };
  });
}

/**
 * Publishes a built package with `npm publish`, authenticated by `token`
 * through a temporary userconfig (never `~/.npmrc`).
 *
 * @param built From {@linkcode buildPackage}.
 * @param registry The registry URL.
 * @param options `token` for the registry (anonymous when absent), `dryRun`.
 * @returns npm's output.
 * @throws {Error} When npm refuses (e.g. the version already exists) or is not installed.
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
    const out = await new Deno.Command("npm", {
      args: [
        "publish",
        `--registry=${url.href}`,
        `--userconfig=${work}/npmrc`,
        "--access=public",
        "--tag=latest",
        ...(options.dryRun ? ["--dry-run"] : []),
      ],
      cwd: built.dir,
      env: { npm_config_cache: `${work}/cache`, npm_config_update_notifier: "false", npm_config_fund: "false" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    if (!out.success) throw new Error(`npm publish ${built.name}@${built.version} failed:\n${text.slice(-2000)}`);
    return text;
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}
