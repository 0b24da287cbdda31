/**
 * Turns a package into one self-contained ESM file with Deno's bundler, under
 * the same minimum-age policy for its dependencies as for the package, in a
 * sandbox: a cleared environment, a checked module graph, and a bundler that
 * may read only the package and Deno's package caches and write only its output.
 *
 * @module
 */

import { resolve as resolvePath } from "node:path";
import { PackageError } from "../errors.ts";
import { pathExists } from "./files.ts";
import { checkModuleGraph, runDeno } from "./module_graph.ts";
import { formatDuration } from "./npm.ts";
import type { RegistryAuth } from "./npmrc.ts";
import { defaultDenoDir } from "../sandbox/process.ts";

/** Options of {@linkcode bundlePackage}. */
export interface BundleOptions {
  /** The package directory the bundler runs in. */
  cwd: string;
  /** Directories the package may import files from. Default: `cwd` only. */
  roots?: string[];
  /** Where the bundle is written. */
  out: string;
  /** Names the package in errors. */
  label: string;
  /** A Deno config to use instead of the one found from `cwd`. */
  configPath?: string;
  /** Resolve npm dependencies into Deno's global cache, never a `node_modules` folder (registry packages). */
  globalCache?: boolean;
  /** The Deno binary. */
  denoPath: string;
  /** Longest the bundler may run; it is killed after that. */
  timeoutMs: number;
  /** Minimum age of a dependency version, in milliseconds (0 is off). */
  minPackageAgeMs: number;
  /** The npm registry dependencies come from. */
  npmRegistry: string;
  /** The JSR registry dependencies come from. */
  jsrUrl: string;
  /** Registry credentials (`IMBI_NPMRC`); the bundler reads them from an `.npmrc` in its private `HOME`. */
  auth?: RegistryAuth;
  /** Deno's cache the bundler resolves dependencies into. Default: the service's own (`DENO_DIR`, else under `HOME`). */
  denoDir?: string;
}

const CHILD = new URL(import.meta.url.endsWith(".ts") ? "./_bundle_child.ts" : "./bundle_child.js", import.meta.url);

/**
 * The bundler's environment: these variables and nothing else, so the
 * operator's secrets (`IMBI_ADMIN_TOKEN`, keys, cloud credentials) are not
 * there for a package's build to read. `HOME` is a private directory holding
 * only the registry credentials the bundler needs.
 *
 * @param home The bundler's private home directory.
 * @param options The registries and Deno's cache.
 * @returns The whole environment of `deno info` and the bundler.
 */
export function bundlerEnv(
  home: string,
  options: Pick<BundleOptions, "npmRegistry" | "jsrUrl" | "denoDir">,
): Record<string, string> & { DENO_DIR: string } {
  return {
    HOME: home,
    DENO_DIR: options.denoDir ?? defaultDenoDir() ?? `${home}/.cache/deno`,
    NPM_CONFIG_REGISTRY: options.npmRegistry,
    JSR_URL: options.jsrUrl,
    NO_COLOR: "1",
    DENO_NO_UPDATE_CHECK: "1",
  };
}

/**
 * Bundles a package's entry module and its dependencies into one file, in two
 * sandboxed steps with the environment of {@linkcode bundlerEnv}: the module
 * graph is checked first (`module_graph.ts`: nothing outside the package but
 * registry packages), then Deno's bundler runs in a child that may read only
 * the package's directories and Deno's npm and JSR caches, may write only the
 * output file, and has no network, environment or subprocess permission (the
 * registries are fetched by Deno itself, from the two URLs in its environment).
 *
 * @param entry The entry module, relative to `options.cwd`.
 * @param options Where, with which binary, registries and age policy.
 * @throws {PackageError} kind `refused` when the graph reaches outside the package (naming the import), when the
 *   bundler fails, or when it writes nothing, with its error lines.
 */
export async function bundlePackage(entry: string, options: BundleOptions): Promise<void> {
  const home = await Deno.makeTempDir({ prefix: "imbi-bundler-home-" });
  try {
    const npmrc = options.auth?.toNpmrc() ?? "";
    if (npmrc) await Deno.writeTextFile(`${home}/.npmrc`, npmrc, { mode: 0o600 });
    const env = bundlerEnv(home, options);
    const flags = [
      "--no-lock",
      ...(options.globalCache ? ["--node-modules-dir=none"] : []),
      ...(options.configPath ? [`--config=${options.configPath}`] : []),
    ];
    const roots = options.roots ?? [options.cwd];
    const unusable = [...roots, options.out, env.DENO_DIR].find((path) => /[,\n\0]/.test(path));
    if (unusable !== undefined) {
      throw new PackageError(
        "refused",
        `Cannot bundle ${options.label}: ${
          JSON.stringify(unusable)
        } holds a comma or a line break, which a permission flag cannot name`,
        {
          extra: { package: options.label },
        },
      );
    }
    const common = { cwd: options.cwd, env, denoPath: options.denoPath, timeoutMs: options.timeoutMs };
    await checkModuleGraph(entry, { ...common, roots, label: options.label, jsrUrl: options.jsrUrl, flags });
    const jsr = new URL(options.jsrUrl);
    const args = [
      "run",
      "--unstable-bundle",
      "--no-prompt",
      ...flags,
      `--min-dep-age=${Math.ceil(options.minPackageAgeMs / 60_000)}`,
      `--allow-read=${[...roots, `${env.DENO_DIR}/npm`, `${env.DENO_DIR}/remote`].join(",")}`,
      `--allow-write=${options.out}`,
      `--allow-import=${jsr.hostname}:${jsr.port || (jsr.protocol === "https:" ? "443" : "80")}`,
      decodeURIComponent(CHILD.pathname),
      resolvePath(options.cwd, entry),
      options.out,
    ];
    const result = await runDeno(options.denoPath, { ...common, args });
    const answer = parseAnswer(new TextDecoder().decode(result.stdout));
    if (!result.success || !answer?.success || !await pathExists(options.out)) {
      const stderr = new TextDecoder().decode(result.stderr).trim();
      const lines = answer?.errors ??
        stderr.split("\n").filter((l) => !/experimental|^Warning|Stack backtrace|^\s+\d+: /.test(l));
      throw new PackageError(
        "refused",
        `Cannot bundle ${options.label} (deno bundle exit ${result.code}, dependency age policy ${
          formatDuration(options.minPackageAgeMs)
        }): ` + lines.join(" ").replaceAll(`${options.cwd}/`, "").slice(0, 800),
        { extra: { package: options.label } },
      );
    }
  } finally {
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
}

function parseAnswer(stdout: string): { success: boolean; errors: string[] } | undefined {
  try {
    const value = JSON.parse(stdout.trim().split("\n").pop() ?? "");
    return typeof value?.success === "boolean" && Array.isArray(value.errors) ? value : undefined;
  } catch {
    return undefined;
  }
}
