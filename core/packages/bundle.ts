/**
 * Turns a package into one self-contained ESM file with `deno bundle`, under
 * the same minimum-age policy for its dependencies as for the package.
 *
 * @module
 */

import { PackageError } from "../errors.ts";
import { defaultDenoDir } from "../sandbox/process.ts";
import { pathExists } from "./files.ts";
import { formatDuration } from "./npm.ts";
import type { RegistryAuth } from "./npmrc.ts";

/** Options of {@linkcode bundlePackage}. */
export interface BundleOptions {
  /** The package directory `deno bundle` runs in. */
  cwd: string;
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
  /** Deno's cache the bundler resolves dependencies into. Default: the service's (`DENO_DIR`, else under `HOME`). */
  denoDir?: string;
}

/**
 * The bundler's environment: these variables and nothing else, so the
 * operator's secrets (`IMBI_ADMIN_TOKEN`, keys, cloud credentials) are not
 * there for a package's build to read. `HOME` is a private directory holding
 * only the registry credentials the bundler needs.
 */
function bundlerEnv(home: string, options: BundleOptions): Record<string, string> {
  const env: Record<string, string> = {
    HOME: home,
    NPM_CONFIG_REGISTRY: options.npmRegistry,
    JSR_URL: options.jsrUrl,
    NO_COLOR: "1",
    DENO_NO_UPDATE_CHECK: "1",
  };
  const denoDir = options.denoDir ?? defaultDenoDir();
  if (denoDir) env.DENO_DIR = denoDir;
  return env;
}

/**
 * Bundles a package's entry module and its dependencies into one file.
 *
 * @param entry The entry module, relative to `options.cwd`.
 * @param options Where, with which binary, registries and age policy.
 * @throws {PackageError} kind `refused` when `deno bundle` fails or writes nothing, with its error lines.
 */
export async function bundlePackage(entry: string, options: BundleOptions): Promise<void> {
  const args = [
    "bundle",
    "--quiet",
    "--platform=deno",
    "--format=esm",
    "--no-lock",
    `--minimum-dependency-age=${Math.ceil(options.minPackageAgeMs / 60_000)}`,
    ...(options.globalCache ? ["--node-modules-dir=none"] : []),
    ...(options.configPath ? [`--config=${options.configPath}`] : []),
    "-o",
    options.out,
    entry,
  ];
  const home = await Deno.makeTempDir({ prefix: "imbi-bundler-home-" });
  let result: Deno.CommandOutput;
  try {
    const npmrc = options.auth?.toNpmrc() ?? "";
    if (npmrc) await Deno.writeTextFile(`${home}/.npmrc`, npmrc, { mode: 0o600 });
    const child = new Deno.Command(options.denoPath, {
      args,
      cwd: options.cwd,
      clearEnv: true,
      env: bundlerEnv(home, options),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
    }, options.timeoutMs);
    result = await child.output();
    clearTimeout(timer);
  } finally {
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
  if (!result.success || !await pathExists(options.out)) {
    const stderr = new TextDecoder().decode(result.stderr).trim();
    const lines = stderr.split("\n").filter((l) => !/experimental|^Warning|Stack backtrace|^\s+\d+: /.test(l));
    throw new PackageError(
      "refused",
      `Cannot bundle ${options.label} (deno bundle exit ${result.code}, dependency age policy ${
        formatDuration(options.minPackageAgeMs)
      }): ` + lines.join(" ").slice(0, 800),
      { extra: { package: options.label } },
    );
  }
}
