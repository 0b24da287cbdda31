// deno-lint-ignore-file no-console -- a CLI entry point: its output is the user interface.
/**
 * `deno task plugins <command>`: manage `plugins.lock.json` from a shell.
 *
 * - `add <specifier-or-path> [--catalog <name>]`, or `add --catalog <name>`: resolve, fetch, verify, inspect and
 *   lock a package (from the catalog when only `--catalog` is given).
 * - `upgrade <package> <version-or-range>`: move a package to another version, printing what changes.
 * - `remove <package> [--force]`: remove a package; `--force` disables Plugin nodes still using it.
 * - `rollback <revision> [--force]`: restore the packages of a kept revision.
 * - `history [--json]`, `audit [--json]`: kept revisions, and who changed what.
 * - `list [--json]`: every package and entry point with its status and reason.
 *
 * Reads `IMBI_LOCKFILE` (default `./plugins.lock.json`), `IMBI_DATA_DIR`
 * (default `./data`), `IMBI_MIN_PACKAGE_AGE` (default `24h`, `0` is off),
 * `IMBI_CATALOG`, `NPM_CONFIG_REGISTRY`, `JSR_URL`, and the graph store's
 * variables (for the in-use checks of upgrade, remove and rollback). The
 * logic lives in `core/packages/changes/`, shared with the admin API; this
 * file parses arguments and prints. A running service picks a change up on
 * `POST /admin/plugins/reload` or a restart.
 *
 * @module
 */

import { resolve } from "node:path";
import { catalogInstallSpecifier, DEFAULT_CATALOG_PATH, readCatalog } from "../core/packages/catalog.ts";
import { type Config, ConfigError, loadConfig } from "../core/config.ts";
import { ConflictError, NotFoundError, PackageError, ValidationError } from "../core/errors.ts";
import type { GraphStore } from "../core/graph/store.ts";
import { type PackageStore, packageStoreFor, type ProgressEvent } from "../core/packages/store.ts";
import {
  addPackage,
  auditRecords,
  type ChangeOptions,
  listPackages,
  lockfileRevisions,
  type PluginNodeGraph,
  type PluginNodeInUse,
  removePackage,
  rollbackLockfile,
  upgradePackage,
} from "../core/packages/changes/mod.ts";
import { openStore } from "../core/wiring.ts";

/** What a command needs from the environment. */
interface Context {
  config: Config;
  lockfilePath: string;
  store: PackageStore;
  user: string;
  /** Opens the graph store (once); closed when the command ends. */
  graph(): Promise<GraphStore>;
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

function common(ctx: Context): ChangeOptions {
  return { lockfilePath: ctx.lockfilePath, store: ctx.store, addedBy: ctx.user, onProgress: progress };
}

/** Options of a change that checks Plugin nodes: {@linkcode common} and the graph store. */
async function withGraph(ctx: Context): Promise<ChangeOptions & { graph: PluginNodeGraph }> {
  return { ...common(ctx), graph: await ctx.graph() };
}

/** Parsed arguments of one subcommand. */
interface Args {
  positional: string[];
  values: Record<string, string>;
  switches: Set<string>;
}

/**
 * Splits `--flag value` options and `--switch`es from positional arguments;
 * prints the command's usage when they do not fit.
 */
function parseArgs(
  command: Command,
  args: string[],
  spec: { values?: string[]; switches?: string[]; fits: (parsed: Args) => boolean },
): Args | undefined {
  const parsed: Args = { positional: [], values: {}, switches: new Set() };
  let bad = false;
  for (let i = 0; i < args.length && !bad; i++) {
    const arg = args[i]!;
    if (spec.values?.includes(arg)) {
      const value = args[++i];
      if (value === undefined) bad = true;
      else parsed.values[arg] = value;
    } else if (spec.switches?.includes(arg)) parsed.switches.add(arg);
    else if (arg.startsWith("--")) bad = true;
    else parsed.positional.push(arg);
  }
  if (!bad && spec.fits(parsed)) return parsed;
  console.error(`usage: deno task plugins ${command.usage}`);
  return undefined;
}

/** Prints what a change did, and that a running service has not loaded it yet. */
function changed(line: string, details: { lines?: string[]; disabled?: PluginNodeInUse[] } = {}): number {
  console.log(line);
  for (const detail of details.lines ?? []) console.log(`  ${detail}`);
  for (const node of details.disabled ?? []) {
    console.log(`  disabled Plugin node ${node.org}/${node.service}/${node.slug} (${node.plugin})`);
  }
  console.error("a running service loads it on POST /admin/plugins/reload or a restart");
  return 0;
}

/** The subcommands by name. */
export const commands: Record<string, Command> = {
  add: {
    usage: "add <npm:name@range | jsr:@scope/name@range | ./path> [--catalog <name>] | add --catalog <name>",
    summary: "install a package into plugins.lock.json (from the catalog when only --catalog is given)",
    async run(args, ctx) {
      const parsed = parseArgs(this, args, {
        values: ["--catalog"],
        fits: (p) => p.positional.length === 1 || (p.positional.length === 0 && !!p.values["--catalog"]),
      });
      if (!parsed) return 2;
      const catalogName = parsed.values["--catalog"];
      const given = parsed.positional[0];
      let spec: string;
      if (given !== undefined) {
        spec = isRegistrySpecifier(given) ? given : resolve(given);
      } else {
        const catalog = await readCatalog(ctx.config.catalogPath ?? DEFAULT_CATALOG_PATH);
        const entry = catalog.entries.find((e) => e.name === catalogName);
        if (!entry) {
          console.error(
            `error: no catalog entry is named "${catalogName}" (known: ${
              catalog.entries.map((e) => e.name).join(", ") || "none"
            })`,
          );
          return 1;
        }
        spec = catalogInstallSpecifier(catalog, entry);
      }
      const result = await addPackage(spec, {
        ...common(ctx),
        source: catalogName ? { kind: "catalog", name: catalogName } : { kind: "manual" },
      });
      return changed(
        `added ${result.name} ${result.entry.specifier} (${result.entry.integrity}) ` +
          `entry points: ${result.entry.entry_points.join(", ")}; lockfile revision ${result.lockfile.revision}`,
      );
    },
  },
  upgrade: {
    usage: "upgrade <package> <version-or-range>",
    summary: "move an installed package to another version and show what changes",
    async run(args, ctx) {
      const parsed = parseArgs(this, args, { fits: (p) => p.positional.length === 2 });
      if (!parsed) return 2;
      const [name, version] = parsed.positional as [string, string];
      const result = await upgradePackage(name, version, await withGraph(ctx));
      return changed(`upgraded ${result.name}; lockfile revision ${result.lockfile.revision}`, {
        lines: result.diff.summary,
      });
    },
  },
  remove: {
    usage: "remove <package> [--force]",
    summary: "remove a package (refused while Plugin nodes use it; --force disables them)",
    async run(args, ctx) {
      const parsed = parseArgs(this, args, { switches: ["--force"], fits: (p) => p.positional.length === 1 });
      if (!parsed) return 2;
      const force = parsed.switches.has("--force");
      const result = await removePackage(parsed.positional[0]!, { ...await withGraph(ctx), force });
      return changed(
        `removed ${result.name} ${result.removed.specifier}; lockfile revision ${result.lockfile.revision}`,
        { disabled: result.disabled },
      );
    },
  },
  rollback: {
    usage: "rollback <revision> [--force]",
    summary: "restore the packages of a kept lockfile revision (see history)",
    async run(args, ctx) {
      const parsed = parseArgs(this, args, {
        switches: ["--force"],
        fits: (p) => p.positional.length === 1 && /^\d+$/.test(p.positional[0]!),
      });
      if (!parsed) return 2;
      const force = parsed.switches.has("--force");
      const result = await rollbackLockfile(Number(parsed.positional[0]), { ...await withGraph(ctx), force });
      return changed(`restored revision ${result.restored} as lockfile revision ${result.lockfile.revision}`, {
        lines: result.changes.map((c) => `${c.package}: ${c.from ?? "(absent)"} → ${c.to ?? "(absent)"}`),
        disabled: result.disabled,
      });
    },
  },
  history: {
    usage: "history [--json]",
    summary: "list the kept lockfile revisions with who and when",
    async run(args, ctx) {
      const revisions = await lockfileRevisions({ lockfilePath: ctx.lockfilePath });
      if (args.includes("--json")) {
        console.log(JSON.stringify(revisions, null, 2));
        return 0;
      }
      for (const r of revisions) {
        console.log(
          `${r.current ? "*" : " "} ${String(r.revision).padStart(4)}  ${r.written_at ?? "-".padEnd(24)}  ` +
            `${(r.written_by ?? "-").padEnd(20)}  ${r.summary}`,
        );
      }
      return 0;
    },
  },
  audit: {
    usage: "audit [--json]",
    summary: "show who changed what, from which revision to which",
    async run(args, ctx) {
      const records = await auditRecords({ lockfilePath: ctx.lockfilePath, store: ctx.store });
      if (args.includes("--json")) {
        console.log(JSON.stringify(records, null, 2));
        return 0;
      }
      for (const r of records) {
        console.log(
          `${r.at}  ${r.actor.padEnd(20)}  ${r.action.padEnd(8)}  ${r.package ?? "-"}  ` +
            `revision ${r.from_revision} → ${r.to_revision}`,
        );
      }
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

function describe(error: PackageError): string {
  const nodes = error.extra.plugin_nodes as
    | { org: string; service: string; slug: string; plugin: string }[]
    | undefined;
  const lines = [`error: ${error.message}`];
  for (const n of nodes ?? []) lines.push(`  in use by ${n.org}/${n.service}/${n.slug} (${n.plugin})`);
  return lines.join("\n");
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
  let graph: Promise<GraphStore> | undefined;
  try {
    const config = loadConfig(env);
    return await command.run(args.slice(1), {
      config,
      lockfilePath: resolve(config.lockfilePath),
      store: packageStoreFor(config),
      user: `cli:${env.USER ?? env.LOGNAME ?? "unknown"}`,
      graph: () => (graph ??= openStore(config)),
    });
  } catch (error) {
    if (error instanceof PackageError) {
      console.error(describe(error));
      return 1;
    }
    if (
      error instanceof ConfigError || error instanceof SyntaxError || error instanceof ValidationError ||
      error instanceof NotFoundError || error instanceof ConflictError
    ) {
      console.error(`error: ${error.message}`);
      return 1;
    }
    throw error;
  } finally {
    if (graph) await (await graph.catch(() => undefined))?.close();
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args, Deno.env.toObject()));
