/**
 * What the routes need, built by `main.ts` (or a test) and passed to
 * `createApp`.
 *
 * @module
 */

import type { AuditLog } from "../core/audit.ts";
import type { ConnectionTests } from "../core/connection.ts";
import type { Keyring } from "../core/crypto.ts";
import type { IfMatch } from "../core/graph/etag.ts";
import type { LockSync } from "../core/lock_sync.ts";
import type { PluginNodes } from "../core/plugin_nodes.ts";
import type { GraphStore } from "../core/graph/store.ts";
import type { Readiness } from "../core/ops/readiness.ts";
import type { PluginRuntime } from "../core/runtime.ts";
import type { Tabs } from "../core/tabs.ts";

/** The application's dependencies. */
export interface AppDeps {
  /** The graph store. */
  store: GraphStore;
  /** Directory use cases: credentials, Plugin nodes, bindings. */
  directory: PluginNodes;
  /** The Configuration and Logs tabs. */
  tabs: Tabs;
  /** Test-connection of Plugin nodes. */
  connections: ConnectionTests;
  /** The plugin registry and process pool. */
  runtime: PluginRuntime;
  /** Package operations behind the admin API (install, upgrade, remove, rollback). */
  admin: PackageAdmin;
  /** The admin token and the read-only tokens. */
  tokens: { admin: string; read: string[] };
  /** The service's version, for `/openapi.json` and `/healthz`. */
  version: string;
  /** The clock (default logs time ranges end now, audit records' time); tests pass a fixed one. */
  clock: () => Date;
  /** The shared audit log, stamped with this replica's id. */
  audit: AuditLog;
  /** This replica's lock-revision poller and the deployment's heartbeats. */
  sync: LockSync;
  /** The checks behind `/readyz`. */
  readiness: Readiness;
  /** The encryption keyring (the console seals its session cookies with it). */
  keyring: Keyring;
  /** Largest request body, in bytes (`IMBI_MAX_BODY_BYTES`); default 1 MiB. */
  maxBodyBytes?: number;
}

/**
 * How a request's bearer token checked out: the admin token, a read-only
 * token, none given, or one that matches no token.
 */
export type Access = "admin" | "read" | "missing" | "invalid";

/** Per-request values set by the middleware. */
export type AppEnv = {
  Variables: {
    /** The request id, given or generated; echoed as `x-request-id`. */
    requestId: string;
    /** How the bearer token checked out. */
    access: Access;
    /** `admin` or `read:<n>`, the token that authenticated (unset otherwise). */
    actor: string;
    /** The parsed `If-Match` of an operation that declares it (unset when absent). */
    ifMatch: IfMatch | undefined;
  };
};

/** Who asked, for the audit log. */
export interface Actor {
  /** `admin` or `read:<n>`, the token that authenticated. */
  id: string;
  /** The request id. */
  requestId: string;
}

/**
 * The package operations the admin routes call. Each returns a JSON-ready
 * result and throws `PackageError` (409, 422, 502) or `ValidationError`.
 */
export interface PackageAdmin {
  /** The curated catalog with what is installed. */
  catalog(): Promise<unknown[]>;
  /** Installs a package by catalog name or specifier, then reloads. */
  install(
    request: { catalog?: string; specifier?: string; accept_permissions?: boolean },
    actor: Actor,
  ): Promise<unknown>;
  /** Moves a package to another version or range, then reloads. */
  upgrade(
    packageName: string,
    request: { version: string; accept_permissions?: boolean },
    actor: Actor,
  ): Promise<unknown>;
  /** Removes a package (`force` disables the Plugin nodes that use it). */
  remove(packageName: string, options: { force: boolean }, actor: Actor): Promise<unknown>;
  /** Previous lockfile revisions, newest first. */
  history(): Promise<unknown[]>;
  /** Restores a previous lockfile revision, then reloads. */
  rollback(revision: number, actor: Actor): Promise<unknown>;
}
