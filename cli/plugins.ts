// deno-lint-ignore-file no-console -- a CLI entry point: its output is the user interface.
/**
 * `deno task plugins <command>`: manage `plugins.lock.json` from a shell.
 *
 * - `add <specifier-or-path> [--catalog <name>] [--yes]`, or `add --catalog <name> [--yes]`: resolve, fetch, verify,
 *   inspect and lock a package (from the catalog when only `--catalog` is given). Without `--yes` it prints the
 *   network hosts and credential fields the package would get and changes nothing.
 * - `upgrade <package> <version-or-range> [--yes]`: move a package to another version, printing what changes
 *   (the same preview and `--yes` as `add`).
 * - `remove <package> [--force]`: remove a package; `--force` disables Plugin nodes still using it.
 * - `rollback <revision> [--force]`: restore the packages of a kept revision.
 * - `history [--json]`, `audit [--json]`: kept revisions, and who changed what.
 * - `list [--json]`: every package and entry point with its status and reason.
 * - `import [--force] [--file <path>]`: import the lockfile into the graph store's lock state (every replica
 *   moves to it within seconds); refused when the store has changes the file lacks, unless `--force`.
 * - `export [--file <path>]`: write the graph store's current lock revision to the lockfile.
 * - `test <org>/<service>/<plugin> [--json]`: test a Plugin node's connection (exit 1 when it fails).
 *
 * `add`, `upgrade`, `remove`, `rollback`, `history` and `audit` work on the
 * file (the git workflow: change it, review it, commit it, import it on
 * deploy); `import` and `export` move it to and from the graph store, which
 * the running service reads (`docs/lockfile.md`).
 * Reads `IMBI_LOCKFILE` (default `./plugins.lock.json`), `IMBI_DATA_DIR`
 * (default `./data`), `IMBI_MIN_PACKAGE_AGE` (default `24h`, `0` is off),
 * `IMBI_CATALOG`, `NPM_CONFIG_REGISTRY`, `JSR_URL`, and the graph store's
 * variables (for the in-use checks of upgrade, remove and rollback, and for
 * import and export, with `IMBI_DEPLOYMENT`). The logic lives in
 * `core/packages/changes/` and `core/packages/lock_file_sync.ts`, shared with
 * the service; this file parses arguments and prints.
 *
 * @module
 */

import { resolve } from "node:path";
import { catalogInstallSpecifier, DEFAULT_CATALOG_PATH, readCatalog } from "../core/packages/catalog.ts";
import { type Config, ConfigError, loadConfig } from "../core/config.ts";
import { ConflictError, NotFoundError, PackageError, ValidationError } from "../core/errors.ts";
import type { GraphStore } from "../core/graph/store.ts";
import { readLockfile } from "../core/packages/lockfile.ts";
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
import { describePermissions, type PermissionPreview, requireAcceptance } from "../core/packages/permissions.ts";
import { AuditLog } from "../core/audit.ts";
import { exportLockfile, importLockfile } from "../core/packages/lock_file_sync.ts";
import { StoreLockState } from "../core/packages/store_lock_state.ts";
import { buildServices, openStore, replicaId } from "../core/wiring.ts";
import { wantsHelp } from "./_args.ts";

/** What a command needs from the environment. */
interface Context {
  config: Config;
  lockfilePath: string;
  store: PackageStore;
  user: string;
  /** Opens the graph store (once); closed when the command ends. */
  graph(): Promise<GraphStore>;
}

/** Parsed arguments of one subcommand. */
interface Args {
  positional: string[];
  values: Record<string, string>;
  switches: Set<string>;
}

/** One subcommand. */
interface Command {
  usage: string;
  summary: string;
  /**
   * Its options: `--name value` ones and switches; any other `--option` is a
   * usage error. Default: those `usage` declares ({@linkcode declared}).
   */
  flags?: { values?: string[]; switches?: string[] };
  /** Whether the parsed arguments fit the usage; default: as many positional arguments as `usage` declares. */
  fits?: (args: Args) => boolean;
  run(args: Args, ctx: Context): Promise<number>;
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

/** {@linkcode common} with the permission check of an install or upgrade: accepted by `--yes`. */
function accepting(args: Args, ctx: Context): Pick<ChangeOptions, "checkPermissions"> {
  return { checkPermissions: requireAcceptance(args.switches.has("--yes"), ctx.config.egress) };
}

/** The accepted permissions as lines under a change's summary. */
function permissionLines(preview: PermissionPreview | undefined): string[] {
  return preview ? [`permissions accepted: ${describePermissions(preview)}`] : [];
}

/** Options of a change that checks Plugin nodes: {@linkcode common} and the graph store. */
async function withGraph(ctx: Context): Promise<ChangeOptions & { graph: PluginNodeGraph }> {
  return { ...common(ctx), graph: await ctx.graph() };
}

/**
 * What a usage line declares: each word with `<name>` outside brackets is a
 * positional argument, `[--name <value>]` an option with a value, `[--name]`
 * a switch.
 */
function declared(usage: string): { flags: NonNullable<Command["flags"]>; positionals: number } {
  const values = [...usage.matchAll(/\[(--[\w-]+) <[^>]+>\]/g)].map((m) => m[1]!);
  const switches = [...usage.matchAll(/\[(--[\w-]+)\]/g)].map((m) => m[1]!);
  const positionals = usage.replace(/\[[^\]]*\]/g, "").split(/\s+/).filter((word) => word.includes("<")).length;
  return { flags: { values, switches }, positionals };
}

/**
 * Splits a command's `--name value` options and switches from its positional
 * arguments, or prints its usage when they do not fit.
 */
function parseArgs(command: Command, args: string[]): Args | undefined {
  const parsed: Args = { positional: [], values: {}, switches: new Set() };
  const usage = declared(command.usage);
  const flags = command.flags ?? usage.flags;
  let bad = false;
  for (let i = 0; i < args.length && !bad; i++) {
    const arg = args[i]!;
    if (flags?.values?.includes(arg)) {
      const value = args[++i];
      if (value === undefined) bad = true;
      else parsed.values[arg] = value;
    } else if (flags.switches?.includes(arg)) {
      if (arg.startsWith("--")) parsed.switches.add(arg);
      else parsed.positional.push(arg);
    } else if (arg.startsWith("--")) {
      console.error(`plugins: unknown option "${arg}" (see --help)`);
      return undefined;
    } else parsed.positional.push(arg);
  }
  if (!bad && (command.fits?.(parsed) ?? parsed.positional.length === usage.positionals)) return parsed;
  console.error(`usage: deno task plugins ${command.usage}`);
  return undefined;
}

/** Prints a listing as JSON (`--json`) or as lines. */
function listed(args: Args, listing: { json: unknown; lines: string[] }): number {
  if (args.switches.has("--json")) console.log(JSON.stringify(listing.json, null, 2));
  else for (const line of listing.lines) console.log(line);
  return 0;
}

/** Prints what a change did, and that a running service has not loaded it yet. */
function changed(line: string, details: { lines?: string[]; disabled?: PluginNodeInUse[] } = {}): number {
  console.log(line);
  for (const detail of details.lines ?? []) console.log(`  ${detail}`);
  for (const node of details.disabled ?? []) {
    console.log(`  disabled Plugin node ${node.org}/${node.service}/${node.slug} (${node.plugin})`);
  }
  console.error("the service loads it after deno task plugins import");
  return 0;
}

/** The graph store's lock state for `import` and `export`, stamped with this CLI process as the replica. */
async function storeLock(ctx: Context): Promise<StoreLockState> {
  const store = await ctx.graph();
  const audit = new AuditLog(store.control.audit, { replica: `cli:${replicaId({ replicaId: undefined })}` });
  return new StoreLockState(store.control.deployment(ctx.config.deployment).lock, audit);
}

/** The subcommands by name. */
export const commands: Record<string, Command> = {
  add: {
    usage: "add <npm:name@range | jsr:@scope/name@range | ./path> [--catalog <name>] [--yes] | " +
      "add --catalog <name> [--yes]",
    summary: "install a package into plugins.lock.json (from the catalog when only --catalog is given); " +
      "--yes accepts the network hosts and credential fields it gets",
    flags: { values: ["--catalog"], switches: ["--yes"] },
    fits: (a) => a.positional.length === 1 || (a.positional.length === 0 && !!a.values["--catalog"]),
    async run(args, ctx) {
      const catalogName = args.values["--catalog"];
      const given = args.positional[0];
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
        ...accepting(args, ctx),
        source: catalogName ? { kind: "catalog", name: catalogName } : { kind: "manual" },
      });
      return changed(
        `added ${result.name} ${result.entry.specifier} (${result.entry.integrity}) ` +
          `entry points: ${result.entry.entry_points.join(", ")}; lockfile revision ${result.lockfile.revision}`,
        { lines: permissionLines(result.permissions) },
      );
    },
  },
  upgrade: {
    usage: "upgrade <package> <version-or-range> [--yes]",
    summary: "move an installed package to another version and show what changes; --yes accepts its permissions",
    async run(args, ctx) {
      const [name, version] = args.positional as [string, string];
      const result = await upgradePackage(name, version, { ...await withGraph(ctx), ...accepting(args, ctx) });
      return changed(`upgraded ${result.name}; lockfile revision ${result.lockfile.revision}`, {
        lines: [...result.diff.summary, ...permissionLines(result.permissions)],
      });
    },
  },
  remove: {
    usage: "remove <package> [--force]",
    summary: "remove a package (refused while Plugin nodes use it; --force disables them)",
    async run(args, ctx) {
      const force = args.switches.has("--force");
      const result = await removePackage(args.positional[0]!, { ...await withGraph(ctx), force });
      return changed(
        `removed ${result.name} ${result.removed.specifier}; lockfile revision ${result.lockfile.revision}`,
        { disabled: result.disabled },
      );
    },
  },
  rollback: {
    usage: "rollback <revision> [--force]",
    summary: "restore the packages of a kept lockfile revision (see history)",
    fits: (a) => a.positional.length === 1 && /^\d+$/.test(a.positional[0]!),
    async run(args, ctx) {
      const force = args.switches.has("--force");
      const result = await rollbackLockfile(Number(args.positional[0]), { ...await withGraph(ctx), force });
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
      return listed(args, {
        json: revisions,
        lines: revisions.map((r) =>
          `${r.current ? "*" : " "} ${String(r.revision).padStart(4)}  ${r.written_at ?? "-".padEnd(24)}  ` +
          `${(r.written_by ?? "-").padEnd(20)}  ${r.summary}`
        ),
      });
    },
  },
  audit: {
    usage: "audit [--json]",
    summary: "show who changed what, from which revision to which",
    async run(args, ctx) {
      const records = await auditRecords({ lockfilePath: ctx.lockfilePath, store: ctx.store });
      return listed(args, {
        json: records,
        lines: records.map((r) =>
          `${r.at}  ${r.actor.padEnd(20)}  ${r.action.padEnd(8)}  ${r.package ?? "-"}  ` +
          `revision ${r.from_revision} → ${r.to_revision}`
        ),
      });
    },
  },
  import: {
    usage: "import [--force] [--file <path>]",
    summary: "import the lockfile into the graph store (refused when the store has changes the file lacks)",
    async run(args, ctx) {
      const path = resolve(args.values["--file"] ?? ctx.lockfilePath);
      const file = await readLockfile(path);
      for (const [name, entry] of Object.entries(file.packages)) {
        await ctx.store.ensure(name, entry, { onProgress: progress });
      }
      const result = await importLockfile(await storeLock(ctx), path, {
        force: args.switches.has("--force"),
        actor: ctx.user,
        requestId: null,
        now: () => new Date(),
      });
      console.log(
        result.outcome === "unchanged"
          ? `the graph store already holds the packages of ${path} (revision ${result.revision})`
          : `imported ${path} as lock revision ${result.revision} (was ${result.from_revision}); ` +
            "every replica moves to it within seconds",
      );
      return 0;
    },
  },
  export: {
    usage: "export [--file <path>]",
    summary: "write the graph store's current lock revision to the lockfile",
    async run(args, ctx) {
      const path = resolve(args.values["--file"] ?? ctx.lockfilePath);
      const written = await exportLockfile(await storeLock(ctx), path);
      console.log(
        `exported lock revision ${written.revision} (${Object.keys(written.packages).length} packages) to ${path}`,
      );
      return 0;
    },
  },
  list: {
    usage: "list [--json]",
    summary: "show every package and entry point with status and reason",
    async run(args, ctx) {
      const registry = await listPackages({ lockfilePath: ctx.lockfilePath, store: ctx.store, onProgress: progress });
      return listed(args, {
        json: { revision: registry.revision, packages: registry.packages },
        lines: registry.packages.length === 0 ? [`no packages in ${ctx.lockfilePath}`] : registry.packages.flatMap(
          (pkg) => [
            `${pkg.name} ${pkg.specifier} ${pkg.status}${pkg.status === "failed" ? `: ${pkg.reason}` : ""}`,
            ...pkg.entries.map((e) =>
              `  ${e.slug ?? `plugins[${e.index}]`} ${e.status}${e.reason ? `: ${e.reason}` : ""}`
            ),
          ],
        ),
      });
    },
  },
  test: {
    usage: "test <org>/<service>/<plugin> [--json]",
    summary: "test a Plugin node's connection: its endpoint answers and accepts its credentials (exit 1 if not)",
    fits: (a) => a.positional.length === 1 && a.positional[0]!.split("/").length === 3,
    async run(args, ctx) {
      const [org, service, plugin] = args.positional[0]!.split("/") as [string, string, string];
      const services = await buildServices(ctx.config);
      try {
        const report = await services.connections.test({ org, service, plugin, requestId: crypto.randomUUID() });
        listed(args, {
          json: report,
          lines: [
            `${report.ok ? "ok" : "failed"} in ${report.duration_ms} ms`,
            ...report.checked.map((line) => `  checked: ${line}`),
            ...(report.error ? [`  ${report.error.kind}: ${report.error.message}`] : []),
          ],
        });
        return report.ok ? 0 : 1;
      } finally {
        await services.close();
      }
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
  if (error.kind === "permissions_not_accepted") lines.push("run the command again with --yes to accept them");
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
  if (wantsHelp(args) || args[0] === "help") {
    console.log(command ? `usage: deno task plugins ${command.usage}\n  ${command.summary}` : usage());
    return 0;
  }
  if (!command && args[0]?.startsWith("-")) {
    console.error(`plugins: unknown option "${args[0]}" (see --help)`);
    return 2;
  }
  if (!command) {
    console.error(usage());
    return 2;
  }
  let graph: Promise<GraphStore> | undefined;
  try {
    const config = loadConfig(env);
    const parsed = parseArgs(command, args.slice(1));
    if (!parsed) return 2;
    return await command.run(parsed, {
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
