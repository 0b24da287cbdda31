/**
 * What the routes need, built by `main.ts` (or a test) and passed to
 * `createApp`.
 *
 * @module
 */

import type { PluginNodes } from "../core/plugin_nodes.ts";
import type { GraphStore } from "../core/graph/store.ts";
import type { PluginRuntime } from "../core/runtime.ts";
import type { Tabs } from "../core/tabs.ts";

/** The application's dependencies. */
export interface AppDeps {
  store: GraphStore;
  directory: PluginNodes;
  tabs: Tabs;
  runtime: PluginRuntime;
  /** Package operations behind the admin API (install, upgrade, remove, rollback). */
  admin: PackageAdmin;
  tokens: { admin: string; read: string[] };
  /** The service's version, for `/openapi.json` and `/healthz`. */
  version: string;
  /** The clock (default logs time ranges end now); tests pass a fixed one. */
  clock: () => Date;
}

/** Per-request values set by the middleware. */
export type AppEnv = {
  Variables: { requestId: string; actor: string };
};

/** Who asked, for the audit log. */
export interface Actor {
  /** `admin` or `read:<n>`, the token that authenticated. */
  id: string;
  requestId: string;
}

/**
 * The package operations the admin routes call. Each returns a JSON-ready
 * result and throws `PackageError` (409, 422, 502) or `ValidationError`.
 */
export interface PackageAdmin {
  catalog(): Promise<unknown[]>;
  install(request: { catalog?: string; specifier?: string }, actor: Actor): Promise<unknown>;
  upgrade(packageName: string, version: string, actor: Actor): Promise<unknown>;
  remove(packageName: string, options: { force: boolean }, actor: Actor): Promise<unknown>;
  history(): Promise<unknown[]>;
  rollback(revision: number, actor: Actor): Promise<unknown>;
  audit(): Promise<unknown[]>;
}
