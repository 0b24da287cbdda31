/**
 * Test-connection (`POST .../plugins/{plugin}/test`, `deno task plugins
 * test`): does a Plugin node's endpoint answer, and does it accept the
 * node's credentials, before a user opens a tab.
 *
 * The node's handler runs in its own sandbox process, exactly as for a tab
 * call. Its `checkConnection` method answers what it checked; a handler
 * without one gets the cheapest read of its type instead (`listKeys` with an
 * empty search template, or the logs `schema`, else a one-entry `search` of
 * the last five minutes). A failure is reported by kind with the plugin's
 * scrubbed message, never with a secret.
 *
 * @module
 */

import {
  type CallContext,
  type CheckContext,
  parseConfigKeys,
  parseConnectionCheck,
  parseLogFields,
  parseLogPage,
  type ProtocolMethod,
} from "@imbi/plugin-sdk";
import type { Credentials } from "./credentials.ts";
import { PluginCallError } from "./errors.ts";
import type { GraphStore, PluginNode } from "./graph/store.ts";
import { log } from "./logger.ts";
import { callChecked, callOptional, type Lease, type PluginRuntime } from "./runtime.ts";

/** The answer of a connection test. */
export interface ConnectionReport {
  /** The endpoint answered and accepted the credentials. */
  ok: boolean;
  /** How long the check took, including a process start. */
  duration_ms: number;
  /** What was checked, for an operator (empty when the check failed before any answer). */
  checked: string[];
  /** Why it failed: a plugin error kind (`credentials_rejected`, `upstream_unavailable`, `timeout`, ...) or `not_loaded`. */
  error?: { kind: string; message: string };
}

/** Which Plugin node to test. */
export interface ConnectionTarget {
  /** Organization slug. */
  org: string;
  /** Third-party service slug. */
  service: string;
  /** Plugin node id or slug. */
  plugin: string;
  /** For logs and the handler's context. */
  requestId: string;
}

const FALLBACK_WINDOW_MS = 5 * 60_000;

/** Tests Plugin nodes' connections. */
export class ConnectionTests {
  #store: GraphStore;
  #runtime: PluginRuntime;
  #credentials: Credentials;
  #clock: () => Date;

  /**
   * Builds the service.
   *
   * @param store The graph store.
   * @param options The runtime, the credentials, and the clock (the fallback log search's window).
   */
  constructor(
    store: GraphStore,
    options: { runtime: PluginRuntime; credentials: Credentials; clock?: () => Date },
  ) {
    this.#store = store;
    this.#runtime = options.runtime;
    this.#credentials = options.credentials;
    this.#clock = options.clock ?? (() => new Date());
  }

  /**
   * Tests one Plugin node.
   *
   * @param target The node and the request id.
   * @returns The report; `ok: false` with the error's kind when the check failed.
   * @throws {NotFoundError} When the organization, service or node does not exist.
   */
  async test(target: ConnectionTarget): Promise<ConnectionReport> {
    const { org, service: serviceSlug, requestId } = target;
    const organization = await this.#store.getOrg(org);
    const node = await this.#store.getPlugin(org, serviceSlug, target.plugin);
    const service = await this.#store.getService(org, serviceSlug);
    const application = node.application ? await this.#store.getApplication(org, serviceSlug, node.application) : null;
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    if (!this.#runtime.registry.entry(node.plugin)) {
      return {
        ok: false,
        duration_ms: elapsed(),
        checked: [],
        error: { kind: "not_loaded", message: `plugin "${node.plugin}" is not loaded (see GET /admin/plugins)` },
      };
    }
    const failed = (error: PluginCallError, scrub: (text: string) => string): ConnectionReport => ({
      ok: false,
      duration_ms: elapsed(),
      checked: [],
      error: { kind: error.kind, message: scrub(error.message) },
    });
    let report: ConnectionReport;
    try {
      // The lease itself may refuse: the egress policy denies a host of the node (`egress_denied`).
      const lease = await this.#runtime.lease(
        { org: organization, binding: { plugin: node }, service, application },
        () => this.#credentials.openNode(org, node, application),
      );
      try {
        report = { ok: true, checked: await this.#check(lease, node, org, requestId), duration_ms: elapsed() };
      } catch (error) {
        if (!(error instanceof PluginCallError)) throw error;
        report = failed(error, (text) => lease.supervisor.redact(text));
      }
    } catch (error) {
      if (!(error instanceof PluginCallError)) throw error;
      report = failed(error, (text) => text);
    }
    log.info("connection tested", {
      plugin: `${node.service}/${node.slug}`,
      ok: report.ok,
      ...(report.error ? { kind: report.error.kind } : {}),
      duration_ms: report.duration_ms,
      requestId,
    });
    return report;
  }

  async #check(lease: Lease, node: PluginNode, org: string, requestId: string): Promise<string[]> {
    const check: CheckContext = { org: { slug: org }, request_id: requestId };
    const call = <T>(method: ProtocolMethod, args: unknown[], parse: (value: unknown) => T) =>
      callChecked(lease, node.id, { method, args, requestId }, parse);
    const optional = <T>(method: ProtocolMethod, args: unknown[], parse: (value: unknown) => T) =>
      callOptional(lease, node.id, { method, args, requestId }, parse);
    const own = await optional("checkConnection", [check], parseConnectionCheck);
    if (own) return own.checked.map((line) => lease.supervisor.redact(line));

    const ctx: CallContext = {
      org: check.org,
      project: { id: "", slug: "", name: "", project_types: [] },
      search_template: "",
      request_id: requestId,
    };
    if (node.plugin_type === "configuration") {
      const keys = await call("listKeys", [ctx], parseConfigKeys);
      return [`listKeys answered with ${keys.length} keys (the plugin has no checkConnection)`];
    }
    const fields = await optional("schema", [ctx], parseLogFields);
    if (fields) return [`schema answered with ${fields.length} fields (the plugin has no checkConnection)`];
    const end = this.#clock();
    const query = {
      start: new Date(end.getTime() - FALLBACK_WINDOW_MS).toISOString(),
      end: end.toISOString(),
      filters: [],
      levels: [],
      limit: 1,
    };
    await call("search", [ctx, query], (v) => parseLogPage(v, 1));
    return ["a search of the last five minutes answered (the plugin has no checkConnection)"];
  }
}
