/**
 * What an upgrade changes, for an operator to read at a glance: entry
 * points added and removed, and per kept entry point its plugin type,
 * `api_version`, network hosts and credential fields.
 *
 * @module
 */

/** The operator-facing facts of one entry point's manifest. */
interface EntryFacts {
  plugin_type: string | null;
  api_version: string | null;
  hosts: string[];
  credentials: { name: string; required: boolean; secret: boolean }[];
}

/** How one entry point changes between two versions. */
export interface EntryChange {
  /** The entry point. */
  slug: string;
  /** `added`, `removed`, or `changed` (only entry points with a difference are listed). */
  change: "added" | "removed" | "changed";
  /** Present when the plugin type differs. */
  plugin_type?: { from: string | null; to: string | null };
  /** Present when the `api_version` range differs. */
  api_version?: { from: string | null; to: string | null };
  /** Present when `network.hosts` entries were added or removed (as written, placeholders included). */
  network_hosts?: { added: string[]; removed: string[] };
  /** Present when credential fields were added, removed, or changed `required`/`secret`. */
  credential_fields?: { added: string[]; removed: string[]; changed: string[] };
}

/** What an upgrade changes, for an operator to read at a glance. */
export interface PackageDiff {
  /** The installed version. */
  from: { version: string; specifier: string; integrity: string };
  /** The version it moves to. */
  to: { version: string; specifier: string; integrity: string };
  /** Why the previous version's manifests could not be compared, or null. */
  previous_unavailable: string | null;
  /** Slugs added, removed and kept. */
  entry_points: { added: string[]; removed: string[]; unchanged: string[] };
  /** Per entry point with a difference. */
  changes: EntryChange[];
  /** The same, one line each. */
  summary: string[];
}

function facts(manifest: unknown): EntryFacts {
  const m = (manifest ?? {}) as Record<string, unknown>;
  const network = (m.network ?? {}) as { hosts?: unknown };
  const creds = Array.isArray(m.credentials) ? m.credentials as Record<string, unknown>[] : [];
  return {
    plugin_type: typeof m.plugin_type === "string" ? m.plugin_type : null,
    api_version: typeof m.api_version === "string" ? m.api_version : null,
    hosts: Array.isArray(network.hosts) ? network.hosts.filter((h): h is string => typeof h === "string") : [],
    credentials: creds.filter((c) => typeof c?.name === "string").map((c) => ({
      name: c.name as string,
      required: c.required !== false,
      secret: c.secret !== false,
    })),
  };
}

function credentialLabel(c: { name: string; required: boolean; secret: boolean }): string {
  return `${c.name} (${c.required ? "required" : "optional"}, ${c.secret ? "secret" : "not secret"})`;
}

/**
 * Compares the manifests of two versions of a package: entry points added
 * and removed, and per kept entry point its plugin type, `api_version`,
 * network hosts and credential fields.
 *
 * @param before Slug → manifest of the installed version (undefined when it could not be read).
 * @param after Slug → manifest of the new version.
 * @param versions The two versions, and why `before` is missing.
 * @returns The diff with one summary line per difference.
 */
export function diffPackages(
  before: Map<string, unknown> | undefined,
  after: Map<string, unknown>,
  versions: { from: PackageDiff["from"]; to: PackageDiff["to"]; previousUnavailable?: string; fromSlugs: string[] },
): PackageDiff {
  const oldSlugs = before ? [...before.keys()] : versions.fromSlugs;
  const newSlugs = [...after.keys()];
  const added = newSlugs.filter((s) => !oldSlugs.includes(s));
  const removed = oldSlugs.filter((s) => !newSlugs.includes(s));
  const unchanged = newSlugs.filter((s) => oldSlugs.includes(s));
  const summary = [`${versions.from.version} → ${versions.to.version} (${versions.to.specifier})`];
  const changes: EntryChange[] = [];
  for (const slug of added) {
    const f = facts(after.get(slug));
    changes.push({
      slug,
      change: "added",
      plugin_type: { from: null, to: f.plugin_type },
      api_version: { from: null, to: f.api_version },
      network_hosts: { added: f.hosts, removed: [] },
      credential_fields: { added: f.credentials.map((c) => c.name), removed: [], changed: [] },
    });
    summary.push(
      `entry point added: ${slug} (${f.plugin_type}, api_version ${f.api_version}, network hosts: ${
        f.hosts.join(", ") || "none"
      }, credential fields: ${f.credentials.map(credentialLabel).join(", ") || "none"})`,
    );
  }
  for (const slug of removed) {
    const f = before ? facts(before.get(slug)) : undefined;
    changes.push({
      slug,
      change: "removed",
      ...(f
        ? {
          plugin_type: { from: f.plugin_type, to: null },
          api_version: { from: f.api_version, to: null },
          network_hosts: { added: [], removed: f.hosts },
          credential_fields: { added: [], removed: f.credentials.map((c) => c.name), changed: [] },
        }
        : {}),
    });
    summary.push(`entry point removed: ${slug}`);
  }
  if (before) {
    for (const slug of unchanged) {
      const a = facts(before.get(slug));
      const b = facts(after.get(slug));
      const change: EntryChange = { slug, change: "changed" };
      if (a.plugin_type !== b.plugin_type) {
        change.plugin_type = { from: a.plugin_type, to: b.plugin_type };
        summary.push(`${slug}: plugin_type ${a.plugin_type} → ${b.plugin_type}`);
      }
      if (a.api_version !== b.api_version) {
        change.api_version = { from: a.api_version, to: b.api_version };
        summary.push(`${slug}: api_version ${a.api_version} → ${b.api_version}`);
      }
      const hostsAdded = b.hosts.filter((h) => !a.hosts.includes(h));
      const hostsRemoved = a.hosts.filter((h) => !b.hosts.includes(h));
      if (hostsAdded.length + hostsRemoved.length > 0) {
        change.network_hosts = { added: hostsAdded, removed: hostsRemoved };
        summary.push(
          `${slug}: network hosts` + (hostsAdded.length ? ` added ${hostsAdded.join(", ")}` : "") +
            (hostsAdded.length && hostsRemoved.length ? ";" : "") +
            (hostsRemoved.length ? ` removed ${hostsRemoved.join(", ")}` : ""),
        );
      }
      const names = (list: EntryFacts["credentials"]) => list.map((c) => c.name);
      const credAdded = b.credentials.filter((c) => !names(a.credentials).includes(c.name));
      const credRemoved = a.credentials.filter((c) => !names(b.credentials).includes(c.name));
      const credChanged = b.credentials.filter((c) => {
        const old = a.credentials.find((o) => o.name === c.name);
        return old !== undefined && (old.required !== c.required || old.secret !== c.secret);
      });
      if (credAdded.length + credRemoved.length + credChanged.length > 0) {
        change.credential_fields = {
          added: names(credAdded),
          removed: names(credRemoved),
          changed: names(credChanged),
        };
        const parts = [
          credAdded.length ? `added ${credAdded.map(credentialLabel).join(", ")}` : "",
          credRemoved.length ? `removed ${names(credRemoved).join(", ")}` : "",
          credChanged.length ? `now ${credChanged.map(credentialLabel).join(", ")}` : "",
        ].filter(Boolean);
        summary.push(`${slug}: credential fields ${parts.join("; ")}`);
      }
      if (Object.keys(change).length > 2) changes.push(change);
    }
  } else {
    summary.push(`the installed version's manifests could not be read: ${versions.previousUnavailable}`);
  }
  if (summary.length === 1) {
    summary.push("no change to entry points, api_version, network hosts or credential fields");
  }
  return {
    from: versions.from,
    to: versions.to,
    previous_unavailable: before ? null : versions.previousUnavailable ?? "unknown",
    entry_points: { added, removed, unchanged },
    changes,
    summary,
  };
}
