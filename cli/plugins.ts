// deno-lint-ignore-file no-console -- a CLI entry point: its output is the user interface.
/**
 * `deno task plugins <command>`: manage `plugins.lock.json` from a shell.
 *
 * - `add <specifier-or-path> [--catalog <name>]`: resolve, fetch, verify, inspect and lock a package.
 * - `list [--json]`: every package and entry point with its status and reason.
 *
 * Reads `IMBI_LOCKFILE` (default `./plugins.lock.json`), `IMBI_DATA_DIR`
 * (default `./data`), `IMBI_MIN_PACKAGE_AGE` (default `24h`, `0` is off),
 * `NPM_CONFIG_REGISTRY` and `JSR_URL`. The logic lives in
 * `core/plugin_admin.ts`, shared with the admin API; this file parses
 * arguments and prints.
 *
 * @module
 */

import { dirname, resolve } from "node:path";
import { ConfigError, loadConfig } from "../core/config.ts";
import { PackageError } from "../core/errors.ts";
import { PackageStore, type ProgressEvent } from "../core/package_store.ts";
import { addPackage, listPackages } from "../core/plugin_admin.ts";

/** What a command needs from the environment. */
interface Context {
  lockfilePath: string;
  store: PackageStore;
  user: string;
}

/** One subcommand. */
interface Command {
  usage: string;
  summary: string;
  run(args: string[], ctx: Context): Promise<number>;
}

function progress(event: ProgressEvent): void {
  console.error(`  ${event.phase.padEnd(8)} ${event.message}`);
}

function isRegistrySpecifier(spec: string): boolean {
  return spec.startsWith("npm:") || spec.startsWith("jsr:");
}

/**
 * The subcommands by name. `upgrade`, `remove` and `rollback` join here as
 * they are built.
 */
export const commands: Record<string, Command> = {
  add: {
    usage: "add <npm:name@range | jsr:@scope/name@range | ./path> [--catalog <name>]",
    summary: "install a package into plugins.lock.json",
    async run(args, ctx) {
      const catalogAt = args.indexOf("--catalog");
      const catalog = catalogAt >= 0 ? args[catalogAt + 1] : undefined;
      const positional = catalogAt < 0 ? args : args.filter((_, i) => i !== catalogAt && i !== catalogAt + 1);
      if (positional.length !== 1 || (catalogAt >= 0 && !catalog)) {
        console.error(`usage: deno task plugins ${this.usage}`);
        return 2;
      }
      const spec = isRegistrySpecifier(positional[0]!) ? positional[0]! : resolve(positional[0]!);
      const result = await addPackage(spec, {
        lockfilePath: ctx.lockfilePath,
        store: ctx.store,
        source: catalog ? { kind: "catalog", name: catalog } : { kind: "manual" },
        addedBy: ctx.user,
        onProgress: progress,
      });
      console.log(
        `added ${result.name} ${result.entry.specifier} (${result.entry.integrity}) ` +
          `entry points: ${result.entry.entry_points.join(", ")}; lockfile revision ${result.lockfile.revision}`,
      );
      return 0;
    },
  },
  list: {
    usage: "list [--json]",
    summary: "show every package and entry point with status and reason",
    async run(args, ctx) {
      const registry = await listPackages({ lockfilePath: ctx.lockfilePath, store: ctx.store, onProgress: progress });
      if (args.includes("--json")) {
        console.log(JSON.stringify({ revision: registry.revision, packages: registry.packages }, null, 2));
        return 0;
      }
      if (registry.packages.length === 0) console.log(`no packages in ${ctx.lockfilePath}`);
      for (const pkg of registry.packages) {
        console.log(`${pkg.name} ${pkg.specifier} ${pkg.status}${pkg.status === "failed" ? `: ${pkg.reason}` : ""}`);
        for (const e of pkg.entries) {
          console.log(`  ${e.slug ?? `plugins[${e.index}]`} ${e.status}${e.reason ? `: ${e.reason}` : ""}`);
        }
      }
      return 0;
    },
  },
};

function usage(): string {
  return [
    "usage: deno task plugins <command>",
    ...Object.values(commands).map((c) => `  ${c.usage}\n      ${c.summary}`),
  ]
    .join("\n");
}

/**
 * Runs the CLI.
 *
 * @param args Command-line arguments.
 * @param env The environment.
 * @returns The exit code.
 */
export async function main(args: string[], env: Record<string, string | undefined>): Promise<number> {
  const command = commands[args[0] ?? ""];
  if (!command) {
    console.error(usage());
    return 2;
  }
  try {
    const config = loadConfig(env);
    const lockfilePath = resolve(config.lockfilePath);
    const store = new PackageStore(config.dataDir, {
      minPackageAgeMs: config.minPackageAgeMs,
      projectRoot: dirname(lockfilePath),
      ...(env.NPM_CONFIG_REGISTRY ? { npmRegistry: env.NPM_CONFIG_REGISTRY } : {}),
      ...(env.JSR_URL ? { jsrUrl: env.JSR_URL } : {}),
    });
    return await command.run(args.slice(1), {
      lockfilePath,
      store,
      user: `cli:${env.USER ?? env.LOGNAME ?? "unknown"}`,
    });
  } catch (error) {
    if (error instanceof PackageError || error instanceof ConfigError || error instanceof SyntaxError) {
      console.error(`error: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args, Deno.env.toObject()));
