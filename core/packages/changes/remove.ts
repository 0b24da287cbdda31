/**
 * Removing a package from the lockfile, refused while Plugin nodes use it
 * unless forced.
 *
 * @module
 */

import { log } from "../../logger.ts";
import { type LockEntry, type Lockfile } from "../lockfile.ts";
import { installedEntry, refuseIfUsed } from "./_checks.ts";
import { type ChangeOptions, commit, lockOf, type PluginNodeGraph, type PluginNodeInUse } from "./commit.ts";

/** Options of {@linkcode removePackage}. */
export interface RemovePackageOptions extends ChangeOptions {
  /** Finds (and with `force`, disables) Plugin nodes using the package's entry points. */
  graph: PluginNodeGraph;
  /** Remove even while Plugin nodes use it, disabling those nodes. */
  force?: boolean;
}

/** What {@linkcode removePackage} did. */
export interface RemovePackageResult {
  /** The package name. */
  name: string;
  /** The lock entry removed. */
  removed: LockEntry;
  /** Plugin nodes disabled because `force` was given. */
  disabled: PluginNodeInUse[];
  /** The lockfile as written. */
  lockfile: Lockfile;
}

/**
 * Removes a package from the lockfile. While Plugin nodes use any of its
 * entry points this is refused, listing them, unless `force` is given,
 * which disables those nodes. The package's store directory is kept, so a
 * rollback needs no network.
 *
 * @param name The package's name.
 * @param options Lockfile, graph, force, provenance.
 * @returns The removed entry and the nodes disabled.
 * @throws {PackageError} `not_installed`; `in_use` (with `extra.plugin_nodes`).
 */
export async function removePackage(name: string, options: RemovePackageOptions): Promise<RemovePackageResult> {
  const refuse = (entry: LockEntry): Promise<PluginNodeInUse[]> =>
    refuseIfUsed(entry.entry_points, {
      graph: options.graph,
      force: options.force === true,
      name,
      message: (nodes) =>
        `Cannot remove "${name}": Plugin nodes use its entry points: ${nodes}. ` +
        `Delete them, or remove with force=true to disable them`,
    });
  await refuse(installedEntry(await lockOf(options).read(), name));
  let removed!: LockEntry;
  let disabled: PluginNodeInUse[] = [];
  const { lockfile } = await commit(options, async (draft) => {
    const entry = installedEntry(draft, name);
    const nodes = await refuse(entry);
    if (nodes.length > 0) {
      await options.graph.disablePluginNodes(nodes.map((n) => n.id));
      log.warn("Plugin nodes disabled by a forced package removal", { package: name, nodes: nodes.map((n) => n.id) });
    }
    disabled = nodes;
    removed = entry;
    delete draft.packages[name];
    return {
      action: "remove",
      package: name,
      summary: `remove ${name} ${entry.version}` + (nodes.length ? ` (disabled ${nodes.length} Plugin nodes)` : ""),
      detail: {
        specifier: entry.specifier,
        version: entry.version,
        entry_points: entry.entry_points,
        force: options.force === true,
        disabled_plugin_nodes: nodes.map((n) => n.id),
      },
    };
  });
  return { name, removed, disabled, lockfile };
}
