/**
 * Checks more than one package change makes: that the package is
 * installed, and that no Plugin node uses an entry point the change takes
 * away.
 *
 * @module
 */

import { PackageError } from "../../errors.ts";
import type { LockEntry, Lockfile } from "../lockfile.ts";
import type { PluginNodeGraph, PluginNodeInUse } from "./commit.ts";

/**
 * The lock entry of an installed package.
 *
 * @param lockfile The lockfile (or the draft under its lock).
 * @param name The package name.
 * @returns Its entry.
 * @throws {PackageError} kind `not_installed` when the lockfile does not have it.
 */
export function installedEntry(lockfile: Lockfile, name: string): LockEntry {
  const entry = lockfile.packages[name];
  if (!entry) {
    throw new PackageError("not_installed", `Package "${name}" is not installed`, { extra: { package: name } });
  }
  return entry;
}

function describeNodes(nodes: PluginNodeInUse[]): string {
  const shown = nodes.slice(0, 5).map((n) => `${n.org}/${n.service}/${n.slug} (${n.plugin})`).join(", ");
  return nodes.length > 5 ? `${shown} and ${nodes.length - 5} more` : shown;
}

/** Options of {@linkcode refuseIfUsed}. */
export interface RefuseIfUsedOptions {
  /** Where Plugin nodes are found. */
  graph: PluginNodeGraph;
  /** Return the nodes instead of refusing (the caller disables them). */
  force?: boolean;
  /** The package named in the refusal's `extra.package`; null when several are (a rollback). */
  name: string | null;
  /** The refusal's message, given the nodes described (`org/service/slug (plugin), …`). */
  message: (nodes: string) => string;
}

/**
 * Finds the Plugin nodes using any of `slugs` and, unless forced, refuses
 * the change while there are any.
 *
 * @param slugs Entry points the change takes away.
 * @param options The graph, `force`, and the refusal's package and message.
 * @returns The nodes using them (empty when none; only non-empty with `force`).
 * @throws {PackageError} kind `in_use`, with `extra.plugin_nodes`.
 */
export async function refuseIfUsed(slugs: string[], options: RefuseIfUsedOptions): Promise<PluginNodeInUse[]> {
  const nodes = slugs.length > 0 ? await options.graph.findPluginNodes(slugs) : [];
  if (nodes.length > 0 && !options.force) {
    throw new PackageError("in_use", options.message(describeNodes(nodes)), {
      extra: {
        ...(options.name ? { package: options.name } : {}),
        plugin_nodes: nodes.map((n) => ({ org: n.org, service: n.service, id: n.id, slug: n.slug, plugin: n.plugin })),
      },
    });
  }
  return nodes;
}
