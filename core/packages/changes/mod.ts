/**
 * Package changes, shared by the `plugins` CLI and the admin API: installing,
 * upgrading, removing and rolling back packages in the lockfile, and
 * listing what it holds. Both front ends call these functions, so a change
 * from a shell and one from the API go through the same checks and leave
 * the same history and audit trail.
 *
 * Every change follows one protocol, written once in `commit.ts`: prepare
 * (resolve, fetch, verify, bundle, inspect, check; nothing written), commit
 * (the lockfile written atomically under its lock, the history record and
 * audit line written just before the rename), and on any refusal discard
 * what the attempt put into the package store. Each operation has its own
 * file: `add.ts`, `upgrade.ts` (with the manifest diff of `diff.ts`),
 * `remove.ts`, `rollback.ts`, and the read-only `list.ts`.
 *
 * @example
 * ```ts
 * import { addPackage } from "./core/packages/changes/mod.ts";
 * await addPackage("npm:@imbi/plugin-aws@^1", { lockfilePath: "plugins.lock.json", store });
 * ```
 *
 * @module
 */

export { addPackage, type AddPackageOptions, type AddPackageResult } from "./add.ts";
export { type ChangeOptions, type PluginNodeGraph, type PluginNodeInUse, type TaskLimit } from "./commit.ts";
export { diffPackages, type EntryChange, type PackageDiff } from "./diff.ts";
export { auditRecords, listPackages, type ListPackagesOptions, lockfileRevisions, type RevisionView } from "./list.ts";
export { removePackage, type RemovePackageOptions, type RemovePackageResult } from "./remove.ts";
export { type PackageChange, rollbackLockfile, type RollbackOptions, type RollbackResult } from "./rollback.ts";
export { upgradePackage, type UpgradePackageOptions, type UpgradePackageResult } from "./upgrade.ts";
