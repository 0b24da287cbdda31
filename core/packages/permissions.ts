/**
 * What a package will be allowed, shown before it is installed or upgraded:
 * per entry point, the network hosts its manifest lists (resolved to
 * `host:port` where no Plugin node option is needed, with the egress
 * policy's decision) and the credential fields it will be given. The admin
 * API and the CLI refuse to change the lockfile until the operator accepts it
 * (`accept_permissions: true`, `--yes`); an upgrade also says which hosts and
 * credential fields are new.
 *
 * @module
 */

import type { PluginManifest } from "@imbi/plugin-sdk/types";
import { PackageError } from "../errors.ts";
import type { EgressPolicy } from "../sandbox/egress.ts";
import { computeNetHosts } from "../sandbox/network_hosts.ts";
import { credentialFields } from "./manifest.ts";

/** One manifest network host in a preview. */
export interface HostPreview {
  /** As the manifest lists it, e.g. `ssm.{region}.amazonaws.com` or `{endpoint}`. */
  declared: string;
  /** The `host:port` it stands for; null when a Plugin node's options or service fill it. */
  resolved: string | null;
  /** `allowed`, `denied: <why>`, or `checked when a Plugin node is written` for a placeholder. */
  egress: string;
}

/** One entry point's permissions. */
export interface EntryPermissions {
  /** The entry point's slug. */
  slug: string;
  /** The manifest's `plugin_type`. */
  plugin_type: string | null;
  /** The manifest's `api_version` range. */
  api_version: string | null;
  /** Its network hosts. */
  network_hosts: HostPreview[];
  /** The credential fields its process is given. */
  credentials: { name: string; secret: boolean; required: boolean }[];
}

/** The permissions of a package version, as the admin API and the CLI show them. */
export interface PermissionPreview {
  /** Package name. */
  package: string;
  /** The version that would be installed. */
  version: string;
  /** Per entry point. */
  entries: EntryPermissions[];
  /** On an upgrade: what the installed version did not have (`slug: host`, `slug: field`). */
  added?: { network_hosts: string[]; credentials: string[] };
}

/** What a package change hands its permission check. */
export interface PermissionChange {
  /** Package name. */
  name: string;
  /** The version to be written. */
  version: string;
  /** Its entry points' manifests by slug. */
  manifests: Map<string, unknown>;
  /** On an upgrade, the installed version's manifests by slug (when they could be read). */
  previous?: Map<string, unknown>;
}

/** Decides a change's permissions: returns the preview when accepted, throws when not. */
export type PermissionCheck = (change: PermissionChange) => PermissionPreview;

/**
 * The permission preview of a package version.
 *
 * @param change The package, its manifests and, on an upgrade, the installed ones.
 * @param egress The policy that decides each resolved host.
 * @returns The preview.
 */
export function permissionPreview(change: PermissionChange, egress: EgressPolicy): PermissionPreview {
  const entries = [...change.manifests].map(([slug, manifest]) => entryPermissions(slug, manifest, egress));
  const preview: PermissionPreview = { package: change.name, version: change.version, entries };
  if (change.previous) {
    const before = [...change.previous].map(([slug, manifest]) => entryPermissions(slug, manifest, egress));
    const keys = (list: EntryPermissions[], pick: (e: EntryPermissions) => string[]) =>
      new Set(list.flatMap((e) => pick(e).map((v) => `${e.slug}: ${v}`)));
    const hosts = (e: EntryPermissions) => e.network_hosts.map((h) => h.resolved ?? h.declared);
    const fields = (e: EntryPermissions) => e.credentials.map((c) => c.name);
    const [oldHosts, oldFields] = [keys(before, hosts), keys(before, fields)];
    preview.added = {
      network_hosts: [...keys(entries, hosts)].filter((h) => !oldHosts.has(h)),
      credentials: [...keys(entries, fields)].filter((f) => !oldFields.has(f)),
    };
  }
  return preview;
}

function entryPermissions(slug: string, manifest: unknown, egress: EgressPolicy): EntryPermissions {
  const m = manifest as PluginManifest;
  const declared = Array.isArray(m.network?.hosts) ? m.network.hosts.filter((h) => typeof h === "string") : [];
  const network_hosts = declared.map((host): HostPreview => {
    let resolved: string;
    try {
      [resolved] = computeNetHosts({ ...m, network: { hosts: [host] } }, { options: {}, service: {} as never }) as [
        string,
      ];
    } catch {
      return { declared: host, resolved: null, egress: "checked when a Plugin node is written" };
    }
    const decision = egress.check(resolved);
    return { declared: host, resolved, egress: decision.allowed ? "allowed" : `denied: ${decision.reason}` };
  });
  const credentials = credentialFields(m).map(({ name, secret, required }) => ({ name, secret, required }));
  const text = (value: unknown) => (typeof value === "string" ? value : null);
  return { slug, plugin_type: text(m.plugin_type), api_version: text(m.api_version), network_hosts, credentials };
}

/**
 * The check the admin API and the CLI install and upgrade with: the preview
 * when `accepted`, else a refusal carrying it.
 *
 * @param accepted Whether the request accepted the permissions (`accept_permissions: true`, `--yes`).
 * @param egress The policy that decides each resolved host.
 * @returns The check.
 * @throws {PackageError} (from the check) kind `permissions_not_accepted` (422) with `extra.permissions`, the
 *   preview, and an error at `/accept_permissions`.
 */
export function requireAcceptance(accepted: boolean, egress: EgressPolicy): PermissionCheck {
  return (change) => {
    const preview = permissionPreview(change, egress);
    if (accepted) return preview;
    const message = `must be true to accept the network hosts and credential fields ${change.name} ` +
      `${change.version} will get (see "permissions")`;
    throw new PackageError(
      "permissions_not_accepted",
      `${change.name} ${change.version} was not installed: its permissions were not accepted. ${
        describePermissions(preview)
      }`,
      { extra: { package: change.name, permissions: preview, errors: [{ pointer: "/accept_permissions", message }] } },
    );
  };
}

/**
 * The preview as lines an operator reads (the CLI prints them).
 *
 * @param preview The preview.
 * @returns One line per entry point, plus what an upgrade adds.
 */
export function describePermissions(preview: PermissionPreview): string {
  const lines = preview.entries.map((e) => {
    const hosts = e.network_hosts.map((h) => `${h.resolved ?? h.declared} (${h.egress})`).join(", ") || "none";
    const fields = e.credentials.map((c) => `${c.name}${c.secret ? " (secret)" : ""}`).join(", ") || "none";
    return `${e.slug}: network hosts ${hosts}; credential fields ${fields}.`;
  });
  if (preview.added) {
    lines.push(
      `New in ${preview.version}: network hosts ${preview.added.network_hosts.join(", ") || "none"}; ` +
        `credential fields ${preview.added.credentials.join(", ") || "none"}.`,
    );
  }
  return lines.join(" ");
}
