// deno-lint-ignore-file no-console -- a CLI entry point: its output is the user interface.
/**
 * `deno task prefetch`: fetch and verify every package of the lockfile into
 * the data directory's package store, bundle it, and inspect every entry
 * point, exactly as the service's start-up does, so that a later start needs
 * no network. Exits 1 when any package or entry point would not load.
 *
 * Used twice by the production image (see `Dockerfile`):
 *
 * - at build time, `deno task prefetch` fills the image's seed data
 *   directory from the image's lockfile;
 * - at container start, `deno task prefetch --seed-from <seed data dir>
 *   --seed-lockfile <image lockfile> --seed-only` copies the image's
 *   lockfile to `IMBI_LOCKFILE` when the volume has none yet (local paths
 *   made absolute, since the lockfile moves away from the code) and copies
 *   every cached package the volume's store lacks, one directory at a time
 *   with a rename, so the service starts offline and admin installs on the
 *   volume survive restarts and image upgrades.
 *
 * Reads the same environment as the service (`IMBI_LOCKFILE`,
 * `IMBI_DATA_DIR`, `IMBI_MIN_PACKAGE_AGE`, `NPM_CONFIG_REGISTRY`, `JSR_URL`).
 *
 * @module
 */

import { dirname, join, resolve } from "node:path";
import { ConfigError, loadConfig } from "../core/config.ts";
import { PackageError } from "../core/errors.ts";
import {
  fileLockfileIo,
  isLocalSpecifier,
  type Lockfile,
  parseLockfile,
  readLockfile,
  serializeLockfile,
} from "../core/packages/lockfile.ts";
import { packageStoreFor, type ProgressEvent } from "../core/packages/store.ts";
import { copyTree, pathExists } from "../core/packages/files.ts";
import { buildRegistry } from "../core/packages/registry.ts";
import { inspectStoredBundle } from "../core/sandbox/inspect.ts";
import { parseCommand } from "./_args.ts";

const USAGE = `usage: deno task prefetch [--seed-from <data dir>] [--seed-lockfile <lockfile>] [--seed-only]

Fetches, verifies and bundles every package of the lockfile (IMBI_LOCKFILE) into the data directory's package store
(IMBI_DATA_DIR) and inspects every entry point, as the service's start-up does. Exits 1 when any would not load.
  --seed-from <dir>       copy the cached packages of another data directory first (one rename per package)
  --seed-lockfile <file>  copy this lockfile to IMBI_LOCKFILE when there is none yet
  --seed-only             only seed; do not fetch or verify`;

function progress(event: ProgressEvent): void {
  console.error(`  ${event.phase.padEnd(8)} ${event.message}`);
}

/**
 * Writes `seed` to `lockfilePath` when that file does not exist yet, with
 * local specifiers made absolute against the seed's directory.
 *
 * @param seed The lockfile shipped with the image.
 * @param lockfilePath Where the service reads its lockfile (a volume).
 * @returns True when it was written.
 */
export async function seedLockfile(seed: string, lockfilePath: string): Promise<boolean> {
  await Deno.mkdir(dirname(resolve(lockfilePath)), { recursive: true });
  const release = await fileLockfileIo.lock(lockfilePath, { staleMs: 30_000, timeoutMs: 15_000 });
  try {
    if (await pathExists(lockfilePath)) return false;
    const text = await fileLockfileIo.read(seed);
    if (text === undefined) return false;
    const lockfile: Lockfile = parseLockfile(text, seed);
    for (const entry of Object.values(lockfile.packages)) {
      if (isLocalSpecifier(entry.specifier)) entry.specifier = resolve(dirname(resolve(seed)), entry.specifier);
    }
    await fileLockfileIo.writeAtomic(lockfilePath, serializeLockfile(lockfile));
    return true;
  } finally {
    await release();
  }
}

/**
 * Copies every package directory of a seed store that `storeRoot` lacks.
 * Each arrives whole (copied to a staging directory, then renamed); store
 * directories are named by content hash, so existing ones are never touched.
 *
 * @param seedRoot The seed's `packages` directory.
 * @param storeRoot The service's `packages` directory.
 * @returns The names copied.
 */
export async function seedPackages(seedRoot: string, storeRoot: string): Promise<string[]> {
  const copied: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(seedRoot));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return copied;
    throw error;
  }
  await Deno.mkdir(join(storeRoot, ".staging"), { recursive: true });
  for (const entry of entries) {
    if (!entry.isDirectory || entry.name.startsWith(".")) continue;
    const target = join(storeRoot, entry.name);
    if (await pathExists(target)) continue;
    const staging = join(storeRoot, ".staging", `seed-${crypto.randomUUID()}`);
    try {
      await copyTree(join(seedRoot, entry.name), staging);
      await Deno.rename(staging, target);
      copied.push(entry.name);
    } catch (error) {
      if (!(await pathExists(target))) throw error;
    } finally {
      await Deno.remove(staging, { recursive: true }).catch(() => {});
    }
  }
  return copied;
}

/**
 * Runs the prefetch.
 *
 * @param args Command-line arguments.
 * @param env The environment.
 * @returns The exit code: 0 when every package and entry point loads.
 */
export async function main(args: string[], env: Record<string, string | undefined>): Promise<number> {
  const { values } = parseCommand(args, {
    name: "prefetch",
    usage: USAGE,
    options: {
      "seed-from": { type: "string" },
      "seed-lockfile": { type: "string" },
      "seed-only": { type: "boolean", default: false },
    },
  });
  const options: Record<string, string | undefined> = {
    "--seed-from": values["seed-from"],
    "--seed-lockfile": values["seed-lockfile"],
  };
  const seedOnly = values["seed-only"] ?? false;
  try {
    const config = loadConfig(env);
    const lockfilePath = resolve(config.lockfilePath);
    const store = packageStoreFor(config);
    if (options["--seed-lockfile"]) {
      if (await seedLockfile(options["--seed-lockfile"], lockfilePath)) {
        console.error(`seeded ${lockfilePath} from ${options["--seed-lockfile"]}`);
      }
    }
    if (options["--seed-from"]) {
      const copied = await seedPackages(join(resolve(options["--seed-from"]), "packages"), store.root);
      if (copied.length > 0) console.error(`copied ${copied.length} cached packages into ${store.root}`);
    }
    if (seedOnly) return 0;
    const lockfile = await readLockfile(lockfilePath);
    const started = performance.now();
    const registry = await buildRegistry(lockfile, { store, inspect: inspectStoredBundle, onProgress: progress });
    let failures = 0;
    for (const pkg of registry.packages) {
      console.log(`${pkg.name} ${pkg.specifier} ${pkg.status}`);
      for (const e of pkg.entries) console.log(`  ${e.slug ?? `plugins[${e.index}]`} ${e.status}`);
      if (pkg.status !== "loaded") {
        failures++;
        console.error(`error: ${pkg.reason}`);
      }
    }
    console.log(
      `${registry.packages.length - failures} of ${registry.packages.length} packages of ${lockfilePath} ` +
        `(revision ${lockfile.revision}) verified in ${store.root} in ${Math.round(performance.now() - started)} ms`,
    );
    return failures === 0 ? 0 : 1;
  } catch (error) {
    if (error instanceof PackageError || error instanceof ConfigError || error instanceof SyntaxError) {
      console.error(`error: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args, Deno.env.toObject()));
