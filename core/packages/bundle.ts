/**
 * Turns a package into one self-contained ESM file with `deno bundle`, under
 * the same minimum-age policy for its dependencies as for the package.
 *
 * @module
 */

import { PackageError } from "../errors.ts";
import { pathExists } from "./files.ts";
import { formatDuration } from "./npm.ts";

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
  const child = new Deno.Command(options.denoPath, {
    args,
    cwd: options.cwd,
    env: { NPM_CONFIG_REGISTRY: options.npmRegistry, JSR_URL: options.jsrUrl, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
  }, options.timeoutMs);
  const result = await child.output();
  clearTimeout(timer);
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
