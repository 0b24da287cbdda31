/**
 * Restoring the packages of a kept lockfile revision as a new revision.
 *
 * @module
 */

import { ConflictError, NotFoundError, PackageError } from "../../errors.ts";
import type { Lockfile } from "../lockfile.ts";
import { refuseIfUsed } from "./_checks.ts";
import {
  changeContext,
  type ChangeOptions,
  commit,
  type Held,
  hold,
  type PluginNodeGraph,
  type PluginNodeInUse,
  whileHeld,
} from "./commit.ts";

/** Options of {@linkcode rollbackLockfile}. */
export interface RollbackOptions extends ChangeOptions {
  /** Finds Plugin nodes using entry points the rollback drops. */
  graph: PluginNodeGraph;
  /** Roll back even while Plugin nodes use dropped entry points, disabling them (CLI `--force`). */
  force?: boolean;
}

/** A package-level change a rollback makes. */
export interface PackageChange {
  /** The package name. */
  package: string;
  /** Its specifier before, or null when it was absent. */
  from: string | null;
  /** Its specifier after, or null when it is dropped. */
  to: string | null;
}

/** What {@linkcode rollbackLockfile} did. */
export interface RollbackResult {
  /** The revision whose packages were restored. */
  restored: number;
  /** The lockfile as written (a new revision). */
  lockfile: Lockfile;
  /** The revision it replaced. */
  fromRevision: number;
  /** Packages added, removed or moved. */
  changes: PackageChange[];
  /** Plugin nodes disabled because `force` was given. */
  disabled: PluginNodeInUse[];
}

function packageChanges(from: Lockfile["packages"], to: Lockfile["packages"]): PackageChange[] {
  const names = [...new Set([...Object.keys(from), ...Object.keys(to)])].sort();
  return names.flatMap((name) => {
    const a = from[name];
    const b = to[name];
    if (a && b && a.integrity === b.integrity && a.specifier === b.specifier) return [];
    return [{ package: name, from: a?.specifier ?? null, to: b?.specifier ?? null }];
  });
}

function droppedSlugs(from: Lockfile["packages"], to: Lockfile["packages"]): string[] {
  const kept = new Set(Object.values(to).flatMap((e) => e.entry_points));
  return Object.values(from).flatMap((e) => e.entry_points).filter((s) => !kept.has(s));
}

/**
 * Restores the packages of a kept revision as a new revision. Every package
 * of that revision must verify from the store or be fetched at its pinned
 * version first; otherwise the rollback is refused, naming the package.
 *
 * @param revision The revision to restore.
 * @param options Lockfile, store, graph, provenance.
 * @returns The new lockfile and what changed.
 * @throws {NotFoundError} When the revision is not kept (or is newer than the current one).
 * @throws {ConflictError} When it is the current revision.
 * @throws {PackageError} `registry` (not in the store and cannot be fetched) or `refused` (different bytes),
 *   naming the package; `in_use` when the rollback drops an entry point Plugin nodes use.
 */
export async function rollbackLockfile(revision: number, options: RollbackOptions): Promise<RollbackResult> {
  const { lock, limit } = changeContext(options);
  const current = await lock.read();
  if (revision === current.revision) {
    throw new ConflictError(`Revision ${revision} is the current lockfile revision; there is nothing to roll back`);
  }
  const record = revision < current.revision ? await lock.get(revision) : undefined;
  if (!record) {
    throw new NotFoundError(
      revision > current.revision
        ? `Revision ${revision} is newer than the current lockfile revision ${current.revision}`
        : `Lockfile revision ${revision} is not kept in ${lock.where}`,
    );
  }
  const target = record.lockfile.packages;
  const held: Held[] = [];
  return await whileHeld(held, async () => {
    const ensured = await Promise.allSettled(
      Object.entries(target).map(async ([name, entry]) => {
        try {
          const progress = options.onProgress ? { onProgress: options.onProgress } : {};
          held.push(
            await hold({ name, version: entry.version }, {
              ...options,
              get: () => limit(() => options.store.ensure(name, entry, progress)),
            }),
          );
        } catch (error) {
          const cause = error instanceof PackageError ? error : undefined;
          throw new PackageError(
            cause?.kind === "refused" ? "refused" : "registry",
            `Cannot roll back to revision ${revision}: package "${name}" (${entry.specifier}) is not in the package ` +
              `cache and cannot be fetched: ${(error as Error).message}`,
            { cause: error, extra: { package: name, specifier: entry.specifier, revision } },
          );
        }
      }),
    );
    const failed = ensured.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
    const refuse = (from: Lockfile["packages"]): Promise<PluginNodeInUse[]> => {
      const dropped = droppedSlugs(from, target);
      return refuseIfUsed(dropped, {
        graph: options.graph,
        force: options.force === true,
        name: null,
        message: (nodes) =>
          `Cannot roll back to revision ${revision}: it drops entry point ${dropped.join(", ")}, which Plugin ` +
          `nodes use: ${nodes}. Remove those packages with force first, or delete the nodes`,
      });
    };
    await refuse(current.packages);
    let changes: PackageChange[] = [];
    let disabled: PluginNodeInUse[] = [];
    const { lockfile, fromRevision } = await commit(options, async (draft) => {
      const nodes = await refuse(draft.packages);
      if (nodes.length > 0) await options.graph.disablePluginNodes(nodes.map((n) => n.id));
      disabled = nodes;
      changes = packageChanges(draft.packages, target);
      draft.packages = structuredClone(target);
      return {
        action: "rollback",
        package: null,
        summary: `roll back to revision ${revision}` +
          (changes.length
            ? `: ${changes.map((c) => `${c.package} ${c.from ?? "∅"} → ${c.to ?? "∅"}`).join(", ")}`
            : ""),
        detail: { restored_revision: revision, changes, disabled_plugin_nodes: nodes.map((n) => n.id) },
      };
    });
    return { restored: revision, lockfile, fromRevision, changes, disabled };
  });
}
