/**
 * Tab requests (spec section 6, steps 1 to 7): resolve the binding, lease the
 * Plugin node's sandbox process, call the handler, check what it returned,
 * and say which plugin answered and why.
 *
 * Everything a plugin returns is untrusted: results are checked against the
 * protocol's shapes, and a malformed answer is a `protocol` failure (502),
 * never passed through.
 *
 * @module
 */

import type {
  CallContext,
  ConfigKey,
  ConfigValue,
  HistogramBucket,
  LogField,
  LogPage,
  LogQuery,
  PluginType,
  ProtocolMethod,
} from "@imbi/plugin-sdk/types";
import { BadRequestError, NotFoundError, PluginCallError, UnavailableError } from "./errors.ts";
import type { GraphStore, ResolvedTarget, SelectionReason } from "./graph/store.ts";
import type { Credentials } from "./credentials.ts";
import { notFound } from "./graph/messages.ts";
import type { PluginRuntime } from "./runtime.ts";
import { log } from "./logger.ts";
import { renderTemplate } from "./template.ts";

/** Which plugin answered a tab request, from which package, and why. */
export interface SourceBlock {
  plugin_id: string;
  slug: string;
  service: string;
  plugin: string;
  label: string;
  package: string;
  version: string;
  specifier: string;
  reason: SelectionReason;
  binding_from: "project" | `project_type:${string}`;
}

/** What identifies a tab request. */
export interface TabRequest {
  org: string;
  project: string;
  source?: string | undefined;
  environment?: string | undefined;
  requestId: string;
}

/** A checked result with its source block. */
export interface TabAnswer<T> {
  source: SourceBlock;
  result: T;
}

/** Resolves and calls tab handlers. */
export class Tabs {
  #store: GraphStore;
  #runtime: PluginRuntime;
  #credentials: Credentials;

  /**
   * @param store The graph store.
   * @param options The runtime (registry and sandboxes) and the credentials (decryption).
   */
  constructor(store: GraphStore, options: { runtime: PluginRuntime; credentials: Credentials }) {
    this.#store = store;
    this.#runtime = options.runtime;
    this.#credentials = options.credentials;
  }

  async #resolve(tab: PluginType, request: TabRequest): Promise<ResolvedTarget & { reason: SelectionReason }> {
    const resolution = await this.#store.resolveTab({
      org: request.org,
      project: request.project,
      tab,
      ...(request.source !== undefined ? { source: request.source } : {}),
      loaded: this.#runtime.registry.loadedSlugs(),
    });
    switch (resolution.kind) {
      case "project_not_found": {
        await this.#store.getOrg(request.org);
        throw notFound("project", { org: request.org, slug: request.project });
      }
      case "none":
        if (resolution.dropped.length > 0) {
          const what = resolution.dropped.map((d) =>
            `"${d.slug}" is ${d.reason === "disabled" ? "disabled" : "not loaded"}`
          );
          throw new UnavailableError(`The plugin bound to the ${tab} tab cannot answer: ${what.join("; ")}`, {
            retryAfterSeconds: 30,
          });
        }
        throw new NotFoundError(`No plugin is bound to the ${tab} tab of project "${request.project}"`);
      case "source_not_found":
        throw new NotFoundError(
          `source "${resolution.source}" is not among the plugins bound to the ${tab} tab (candidates: ${
            resolution.candidates.map((c) => `${c.service}/${c.slug}`).join(", ") || "none"
          })`,
        );
      case "ambiguous":
        throw new BadRequestError(`Ambiguous ${tab} source: ${resolution.why}`, {
          extra: { candidates: resolution.candidates },
        });
      case "selected":
        return { ...resolution.target, reason: resolution.reason };
    }
  }

  async #call<T>(
    tab: PluginType,
    request: TabRequest,
    method: ProtocolMethod,
    args: (ctx: CallContext) => unknown[],
    check: (value: unknown) => T,
  ): Promise<TabAnswer<T>> {
    const target = await this.#resolve(tab, request);
    const lease = await this.#runtime.lease(target, async () => {
      const app = target.application;
      return app ? await this.#credentials.decryptCredentials(target.org.slug, target.service.slug, app) : {};
    });
    const project = target.project;
    const ctx: CallContext = {
      org: { slug: target.org.slug },
      project: { id: project.id, slug: project.slug, name: project.name, project_types: project.project_types },
      search_template: renderTemplate(target.binding.search_template, {
        "org.slug": target.org.slug,
        "project.id": project.id,
        "project.slug": project.slug,
        "project.name": project.name,
        ...(request.environment !== undefined ? { environment: request.environment } : {}),
      }),
      ...(request.environment !== undefined ? { environment: request.environment } : {}),
      request_id: request.requestId,
    };
    const raw = await lease.supervisor.call(method, args(ctx), { requestId: request.requestId });
    let result: T;
    try {
      result = check(raw);
    } catch (error) {
      throw new PluginCallError(
        "protocol",
        `plugin "${lease.entry.slug}" broke the ${method} protocol: ${(error as Error).message}`,
      );
    }
    const serialised = JSON.stringify(result) ?? "null";
    const redacted = lease.supervisor.redact(serialised);
    if (redacted !== serialised) {
      log.warn("plugin answer held its own credentials; redacted", {
        plugin: `${target.binding.plugin.service}/${target.binding.plugin.slug}`,
        method,
        requestId: request.requestId,
      });
      result = JSON.parse(redacted) as T;
    }
    const node = target.binding.plugin;
    const origin = target.binding.origin;
    return {
      result,
      source: {
        plugin_id: node.id,
        slug: node.slug,
        service: node.service,
        plugin: node.plugin,
        label: node.label,
        package: lease.entry.packageName,
        version: lease.entry.version,
        specifier: lease.entry.specifier,
        reason: target.reason,
        binding_from: origin.kind === "project" ? "project" : `project_type:${origin.slug}`,
      },
    };
  }

  /** Configuration: every key, no values. */
  listKeys(request: TabRequest): Promise<TabAnswer<ConfigKey[]>> {
    return this.#call("configuration", request, "listKeys", (ctx) => [ctx], (v) => checkList(v, checkKey));
  }

  /** Configuration: values of some or all keys (missing keys omitted). */
  getValues(request: TabRequest, keys: string[] | undefined): Promise<TabAnswer<ConfigValue[]>> {
    return this.#call(
      "configuration",
      request,
      "getValues",
      (ctx) => (keys ? [ctx, keys] : [ctx]),
      (v) => checkList(v, checkValue),
    );
  }

  /** Configuration: writes one key. */
  setValue(
    request: TabRequest,
    key: string,
    input: { value: string; data_type: string },
  ): Promise<TabAnswer<ConfigKey>> {
    return this.#call("configuration", request, "setValue", (ctx) => [ctx, key, input], checkKey);
  }

  /** Configuration: deletes one key (idempotent). */
  deleteKey(request: TabRequest, key: string): Promise<TabAnswer<null>> {
    return this.#call("configuration", request, "deleteKey", (ctx) => [ctx, key], () => null);
  }

  /** Logs: one page of entries, newest first. */
  search(request: TabRequest, query: LogQuery): Promise<TabAnswer<LogPage>> {
    return this.#call("logs", request, "search", (ctx) => [ctx, query], (v) => checkPage(v, query.limit));
  }

  /** Logs: the searchable fields. */
  schema(request: TabRequest): Promise<TabAnswer<LogField[]>> {
    return this.#call("logs", request, "schema", (ctx) => [ctx], (v) =>
      checkList(v, (f) => {
        const o = object(f);
        return { name: str(o.name, "name"), label: str(o.label, "label"), type: str(o.type, "type") };
      }));
  }

  /** Logs: counts per time bucket. */
  histogram(request: TabRequest, query: LogQuery, buckets: number): Promise<TabAnswer<HistogramBucket[]>> {
    return this.#call("logs", request, "histogram", (ctx) => [ctx, query, buckets], (v) =>
      checkList(v, (b) => {
        const o = object(b);
        if (typeof o.count !== "number" || o.count < 0) throw new TypeError("count must be a non-negative number");
        const levels = object(o.levels ?? {});
        for (const n of Object.values(levels)) {
          if (typeof n !== "number") throw new TypeError("levels must map to numbers");
        }
        return { timestamp: time(o.timestamp), count: o.count, levels: levels as Record<string, number> };
      }));
  }
}

function object(value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new TypeError("expected an object");
  return value as Record<string, unknown>;
}

function str(value: unknown, field: string): string {
  if (typeof value !== "string") throw new TypeError(`${field} must be a string`);
  return value;
}

function time(value: unknown): string {
  if (typeof value !== "string" || Number.isNaN(Date.parse(value))) {
    throw new TypeError("timestamp must be an ISO 8601 time");
  }
  return new Date(value).toISOString();
}

function checkList<T>(value: unknown, item: (v: unknown) => T): T[] {
  if (!Array.isArray(value)) throw new TypeError("expected a list");
  return value.map(item);
}

function checkKey(value: unknown): ConfigKey {
  const o = object(value);
  if (typeof o.secret !== "boolean") throw new TypeError("secret must be a boolean");
  const key: ConfigKey = { key: str(o.key, "key"), data_type: str(o.data_type, "data_type"), secret: o.secret };
  if (o.last_modified !== undefined && o.last_modified !== null) key.last_modified = time(o.last_modified);
  return key;
}

function checkValue(value: unknown): ConfigValue {
  return { ...checkKey(value), value: str(object(value).value, "value") };
}

function checkPage(value: unknown, limit: number): LogPage {
  const o = object(value);
  const entries = checkList(o.entries, (e) => {
    const entry = object(e);
    const out: LogPage["entries"][number] = {
      timestamp: time(entry.timestamp),
      message: str(entry.message, "message"),
      fields: object(entry.fields ?? {}),
    };
    if (entry.level !== undefined && entry.level !== null) out.level = str(entry.level, "level");
    return out;
  });
  if (entries.length > limit) throw new TypeError(`returned ${entries.length} entries for a limit of ${limit}`);
  for (let i = 1; i < entries.length; i++) {
    if (entries[i - 1]!.timestamp < entries[i]!.timestamp) throw new TypeError("entries are not newest first");
  }
  const warnings = o.warnings === undefined ? [] : checkList(o.warnings, (w) => str(w, "warning"));
  const page: LogPage = { entries, warnings };
  if (o.next_cursor !== undefined && o.next_cursor !== null) page.next_cursor = str(o.next_cursor, "next_cursor");
  return page;
}
