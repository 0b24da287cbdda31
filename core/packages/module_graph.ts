/**
 * The module-graph check every package passes before it is bundled: the
 * bundler inlines whatever the graph reaches, so a package that imports
 * `/proc/self/environ` with `{ type: "text" }`, `/etc/passwd`, a file out of
 * its own directory, a `data:` URL or a remote module would carry that text
 * into its bundle. `deno info --json` lists the graph without running any of
 * it; every edge must stay inside the package (or the workspace members of a
 * local package), in the npm registry (`npm:`), in the JSR registry, or in
 * Deno's built-ins (`node:`). npm packages' own files are not in this graph:
 * the bundler's read permission confines them (see `bundle.ts`).
 *
 * @module
 */

import { dirname, resolve as resolvePath } from "node:path";
import { PackageError } from "../errors.ts";
import { readJsonObject } from "./files.ts";

/** Options of {@linkcode checkModuleGraph}. */
export interface ModuleGraphOptions {
  /** The directory `deno info` runs in (the package's). */
  cwd: string;
  /** Directories a `file:` module may be in (after symlinks are resolved). */
  roots: string[];
  /** Names the package in errors. */
  label: string;
  /** The Deno binary. */
  denoPath: string;
  /** The environment of `deno info`: the bundler's, cleared. */
  env: Record<string, string>;
  /** The JSR registry: its modules are the only remote ones allowed. */
  jsrUrl: string;
  /** Extra `deno info` flags: the bundler's `--config`, `--node-modules-dir`. */
  flags: string[];
  /** Longest `deno info` may run. */
  timeoutMs: number;
}

/** One import edge as `deno info --json` reports it. */
interface InfoDependency {
  specifier: string;
  code?: { specifier?: string };
  type?: { specifier?: string };
  assertionType?: string | null;
}

interface InfoModule {
  specifier: string;
  error?: string | null;
  dependencies?: InfoDependency[];
}

/**
 * Refuses a package whose module graph reaches outside it, naming the
 * offending import as written and the module that wrote it.
 *
 * @param entry The entry module, relative to `options.cwd`.
 * @param options Where, with which binary and environment, and what is inside.
 * @throws {PackageError} kind `refused` naming the specifier and the rule it broke, or when `deno info` fails.
 */
export async function checkModuleGraph(entry: string, options: ModuleGraphOptions): Promise<void> {
  const jsr = new URL(options.jsrUrl);
  const port = jsr.port || (jsr.protocol === "https:" ? "443" : "80");
  const output = await runDeno(options.denoPath, {
    args: ["info", "--json", `--allow-import=${jsr.hostname}:${port}`, ...options.flags, entry],
    cwd: options.cwd,
    env: options.env,
    timeoutMs: options.timeoutMs,
  });
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr).trim();
    throw new PackageError(
      "refused",
      `Cannot read the module graph of ${options.label} (deno info exit ${output.code}): ${stderr.slice(0, 600)}`,
      { extra: { package: options.label } },
    );
  }
  const graph = JSON.parse(new TextDecoder().decode(output.stdout)) as { modules?: InfoModule[] };
  const roots = await Promise.all(options.roots.map((r) => Deno.realPath(r).catch(() => resolvePath(r))));
  const refuse = (referrer: string, specifier: string, rule: string) =>
    new PackageError(
      "refused",
      `Refusing ${options.label}: ${shown(referrer, roots)} imports "${specifier}", ${rule}`,
      { extra: { package: options.label, specifier, referrer: shown(referrer, roots) } },
    );
  for (const module of graph.modules ?? []) {
    for (const dependency of module.dependencies ?? []) {
      for (const target of [dependency.code?.specifier, dependency.type?.specifier]) {
        if (target === undefined) continue;
        const rule = await ruleBroken(target, { roots, jsrUrl: jsr.href });
        if (rule) throw refuse(module.specifier, dependency.specifier, rule);
      }
    }
  }
}

/** The rule a resolved specifier breaks, or undefined when it may be bundled. */
async function ruleBroken(target: string, at: { roots: string[]; jsrUrl: string }): Promise<string | undefined> {
  const url = new URL(target);
  switch (url.protocol) {
    case "npm:":
    case "node:":
    case "jsr:":
      return undefined;
    case "file:": {
      const path = decodeURIComponent(url.pathname);
      const real = await Deno.realPath(path).catch(() => resolvePath(path));
      const inside = at.roots.some((root) => real === root || real.startsWith(`${root}/`));
      return inside ? undefined : `which is outside the package (${real}); a package may import only its own files`;
    }
    case "http:":
    case "https:":
      return target.startsWith(at.jsrUrl.endsWith("/") ? at.jsrUrl : `${at.jsrUrl}/`)
        ? undefined
        : `a remote module; a package may import only npm: and jsr: packages from the configured registries`;
    default:
      return `a ${url.protocol} URL; a package may import only its own files and npm: or jsr: packages`;
  }
}

/** A module named relative to its package, so errors say `mod.ts`, not a staging path. */
function shown(specifier: string, roots: string[]): string {
  if (!specifier.startsWith("file:")) return specifier;
  const path = decodeURIComponent(new URL(specifier).pathname);
  const root = roots.find((r) => path.startsWith(`${r}/`));
  return root ? path.slice(root.length + 1) : path;
}

/**
 * The directories a local package may import from: its own; when it is a
 * member of a Deno workspace (`"workspace"` in a `deno.json` above it), the
 * other members, whose packages it imports by name (e.g. the SDK); and the
 * packages its own `deno.json` maps a name to by path (`"@imbi/plugin-sdk":
 * "../sdk/mod.ts"`, as `plugin:new --sdk` writes). A local path is the
 * operator's (the admin API refuses them); registry packages get only their own directory.
 *
 * @param dir The local package's directory.
 * @returns Absolute directories, the package's first.
 */
export async function localPackageRoots(dir: string): Promise<string[]> {
  const own = resolvePath(dir);
  const roots = new Set([own, ...await mappedPackages(own)]);
  for (let at = dirname(own); at !== dirname(at); at = dirname(at)) {
    const config = await readConfig(at);
    if (!config || !Array.isArray(config.workspace)) continue;
    const members = await workspaceMembers(at, config.workspace.filter((m): m is string => typeof m === "string"));
    if (members.includes(own)) members.forEach((m) => roots.add(m));
    break;
  }
  return [...roots];
}

async function readConfig(dir: string): Promise<Record<string, unknown> | undefined> {
  return await readJsonObject(`${dir}/deno.json`).catch(() => undefined) ??
    await readJsonObject(`${dir}/deno.jsonc`).catch(() => undefined);
}

/** The package directories a `deno.json`'s `imports` name by path: the nearest named, non-workspace package above each. */
async function mappedPackages(dir: string): Promise<string[]> {
  const imports = (await readConfig(dir))?.imports;
  if (!imports || typeof imports !== "object") return [];
  const found: string[] = [];
  for (const target of Object.values(imports)) {
    if (typeof target !== "string" || !/^(\.\.?\/|\/)/.test(target)) continue;
    for (let at = dirname(resolvePath(dir, target)); at !== dirname(at); at = dirname(at)) {
      const config = await readConfig(at) ?? await readJsonObject(`${at}/package.json`).catch(() => undefined);
      if (!config) continue;
      if (typeof config.name === "string" && !("workspace" in config)) found.push(at);
      break;
    }
  }
  return found;
}

async function workspaceMembers(root: string, patterns: string[]): Promise<string[]> {
  const members: string[] = [];
  for (const pattern of patterns) {
    if (!pattern.endsWith("/*")) {
      members.push(resolvePath(root, pattern));
      continue;
    }
    const parent = resolvePath(root, pattern.slice(0, -2));
    for await (const entry of Deno.readDir(parent)) {
      if (entry.isDirectory) members.push(`${parent}/${entry.name}`);
    }
  }
  return members;
}

/**
 * Runs a Deno subcommand with a cleared environment and a deadline (killed after it).
 *
 * @param denoPath The Deno binary.
 * @param options Arguments, working directory, the whole environment, the deadline.
 * @returns Its exit status and output.
 */
export async function runDeno(
  denoPath: string,
  options: { args: string[]; cwd: string; env: Record<string, string>; timeoutMs: number },
): Promise<Deno.CommandOutput> {
  const child = new Deno.Command(denoPath, {
    args: options.args,
    cwd: options.cwd,
    clearEnv: true,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
  }, options.timeoutMs);
  try {
    return await child.output();
  } finally {
    clearTimeout(timer);
  }
}
