/**
 * Refusals more than one package change makes: a package that is not
 * installed, and entry points Plugin nodes still use.
 *
 * @module
 */

import { PackageError } from "../../errors.ts";
import type { PluginNodeRef } from "./commit.ts";

/**
 * The refusal for a package the lockfile does not have.
 *
 * @param name The package name.
 * @returns A PackageError of kind `not_installed`.
 */
export function notInstalled(name: string): PackageError {
  return new PackageError("not_installed", `Package "${name}" is not installed`, { extra: { package: name } });
}

/**
 * The refusal for a change that would take entry points from Plugin nodes.
 *
 * @param message Says what was refused and why; {@linkcode describeNodes} names the nodes.
 * @param options The package (null for a rollback) and the nodes, listed in `extra.plugin_nodes`.
 * @returns A PackageError of kind `in_use`.
 */
export function inUse(message: string, options: { name: string | null; nodes: PluginNodeRef[] }): PackageError {
  return new PackageError("in_use", message, {
    extra: {
      ...(options.name ? { package: options.name } : {}),
      plugin_nodes: options.nodes.map((n) => ({
        org: n.org,
        service: n.service,
        id: n.id,
        slug: n.slug,
        plugin: n.plugin,
      })),
    },
  });
}

/**
 * Names Plugin nodes for a message: the first five, then how many more.
 *
 * @param nodes The nodes.
 * @returns `org/service/slug (plugin), ... and N more`.
 */
export function describeNodes(nodes: PluginNodeRef[]): string {
  const shown = nodes.slice(0, 5).map((n) => `${n.org}/${n.service}/${n.slug} (${n.plugin})`).join(", ");
  return nodes.length > 5 ? `${shown} and ${nodes.length - 5} more` : shown;
}
