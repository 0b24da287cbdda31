/**
 * The SQLite store's schema, as numbered migrations applied at open. Private
 * to `core/`: only `core/graph/sqlite/store.ts` imports it.
 *
 * Internal integer keys join the tables; the public ids (project ids, Plugin
 * node ids) are unique text columns. Every lookup resolution makes is backed
 * by an index: projects by id and by (org, slug), a project's types, bindings
 * by (project, tab) and (project type, tab), Plugin nodes by key.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";

/** The newest schema version this build knows. */
export const SCHEMA_VERSION = 3;

const MIGRATIONS: readonly string[] = [
  // 1: the graph of spec section 6.
  `
  CREATE TABLE organizations (
    id   INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL
  );
  CREATE TABLE project_types (
    id     INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES organizations(id),
    slug   TEXT NOT NULL,
    name   TEXT NOT NULL,
    UNIQUE (org_id, slug)
  );
  CREATE TABLE projects (
    rid    INTEGER PRIMARY KEY,
    id     TEXT NOT NULL UNIQUE,
    org_id INTEGER NOT NULL REFERENCES organizations(id),
    slug   TEXT NOT NULL,
    name   TEXT NOT NULL,
    UNIQUE (org_id, slug)
  );
  CREATE TABLE project_project_types (
    project_rid     INTEGER NOT NULL REFERENCES projects(rid) ON DELETE CASCADE,
    project_type_id INTEGER NOT NULL REFERENCES project_types(id),
    PRIMARY KEY (project_rid, project_type_id)
  ) WITHOUT ROWID;
  CREATE INDEX project_project_types_by_type ON project_project_types (project_type_id);
  CREATE TABLE services (
    id       INTEGER PRIMARY KEY,
    org_id   INTEGER NOT NULL REFERENCES organizations(id),
    slug     TEXT NOT NULL,
    name     TEXT NOT NULL,
    vendor   TEXT,
    base_url TEXT,
    account  TEXT,
    region   TEXT,
    UNIQUE (org_id, slug)
  );
  CREATE TABLE applications (
    id          INTEGER PRIMARY KEY,
    service_id  INTEGER NOT NULL REFERENCES services(id),
    slug        TEXT NOT NULL,
    name        TEXT NOT NULL,
    credentials TEXT NOT NULL CHECK (json_valid(credentials)),
    UNIQUE (service_id, slug)
  );
  CREATE TABLE plugins (
    rid            INTEGER PRIMARY KEY,
    id             TEXT NOT NULL UNIQUE,
    service_id     INTEGER NOT NULL REFERENCES services(id),
    application_id INTEGER REFERENCES applications(id),
    slug           TEXT NOT NULL,
    plugin         TEXT NOT NULL,
    plugin_type    TEXT NOT NULL,
    label          TEXT NOT NULL,
    options        TEXT NOT NULL CHECK (json_valid(options)),
    enabled        INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    UNIQUE (service_id, slug)
  );
  CREATE INDEX plugins_by_manifest ON plugins (plugin);
  CREATE INDEX plugins_by_application ON plugins (application_id);
  CREATE TABLE bindings (
    id                  INTEGER PRIMARY KEY,
    project_type_id     INTEGER REFERENCES project_types(id) ON DELETE CASCADE,
    project_rid         INTEGER REFERENCES projects(rid) ON DELETE CASCADE,
    position            INTEGER NOT NULL,
    plugin_rid          INTEGER NOT NULL REFERENCES plugins(rid),
    tab                 TEXT NOT NULL,
    is_default          INTEGER NOT NULL CHECK (is_default IN (0, 1)),
    search_template     TEXT NOT NULL,
    identity_plugin_rid INTEGER REFERENCES plugins(rid),
    CHECK ((project_type_id IS NULL) <> (project_rid IS NULL))
  );
  CREATE INDEX bindings_by_project ON bindings (project_rid, tab) WHERE project_rid IS NOT NULL;
  CREATE INDEX bindings_by_project_type ON bindings (project_type_id, tab) WHERE project_type_id IS NOT NULL;
  CREATE INDEX bindings_by_plugin ON bindings (plugin_rid);
  CREATE INDEX bindings_by_identity ON bindings (identity_plugin_rid) WHERE identity_plugin_rid IS NOT NULL;
  `,
  // 2: the audit log (`../audit_store.ts`); AUTOINCREMENT so a seq is never reused.
  `
  CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    replica     TEXT NOT NULL,
    request_id  TEXT,
    action      TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target      TEXT NOT NULL,
    from_value  TEXT NOT NULL CHECK (json_valid(from_value)),
    to_value    TEXT NOT NULL CHECK (json_valid(to_value)),
    detail      TEXT NOT NULL CHECK (json_valid(detail))
  );
  CREATE INDEX audit_log_by_target ON audit_log (target_kind, target, seq);
  CREATE INDEX audit_log_by_action ON audit_log (action, seq);
  `,
  // 3: the lock state and its history (`../lock_store.ts`), the replicas' heartbeats (`../replica_store.ts`).
  `
  CREATE TABLE lock_revisions (
    deployment    TEXT NOT NULL,
    revision      INTEGER NOT NULL,
    document      TEXT NOT NULL CHECK (json_valid(document)),
    written_at    TEXT NOT NULL,
    written_by    TEXT NOT NULL,
    request_id    TEXT,
    action        TEXT NOT NULL,
    package       TEXT,
    from_revision INTEGER NOT NULL,
    summary       TEXT NOT NULL,
    replica       TEXT NOT NULL,
    PRIMARY KEY (deployment, revision)
  );
  CREATE TABLE replicas (
    deployment TEXT NOT NULL,
    id         TEXT NOT NULL,
    host       TEXT NOT NULL,
    started_at TEXT NOT NULL,
    seen_at    TEXT NOT NULL,
    revision   INTEGER NOT NULL,
    error      TEXT,
    PRIMARY KEY (deployment, id)
  );
  `,
];

/**
 * Creates or upgrades the schema in one `BEGIN IMMEDIATE` transaction.
 * Idempotent: a database already at {@linkcode SCHEMA_VERSION} is left alone.
 *
 * @param db An open connection.
 * @returns The schema version after the call.
 * @throws {RangeError} When the file was written by a newer build.
 */
export function migrate(db: DatabaseSync): number {
  db.exec("BEGIN IMMEDIATE");
  try {
    db.exec(
      "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
    );
    const row = db.prepare("SELECT COALESCE(MAX(version), 0) AS version FROM schema_version").get() as
      | { version: number }
      | undefined;
    const current = row?.version ?? 0;
    if (current > SCHEMA_VERSION) {
      throw new RangeError(
        `Cannot open graph database: schema version ${current} is newer than this build supports (${SCHEMA_VERSION})`,
      );
    }
    const record = db.prepare("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)");
    for (let version = current + 1; version <= SCHEMA_VERSION; version++) {
      db.exec(MIGRATIONS[version - 1]!);
      record.run(version, new Date().toISOString());
    }
    db.exec("COMMIT");
    return SCHEMA_VERSION;
  } catch (error) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw error;
  }
}
