/**
 * Tab requests (spec section 6, steps 1 to 7): resolve the binding, lease the
 * Plugin node's sandbox process, call the handler, check what it returned,
 * and say which plugin answered and why.
 *
 * Everything a plugin returns is untrusted: results are checked against the
 * protocol's shapes (the SDK's `parse*` functions, which the conformance
 * suite runs too), and a malformed answer is a `protocol` failure (502),
 * never passed through.
 *
 * @module
 */

import {
  type CallContext,
  type ConfigKey,
  type ConfigValue,
  type HistogramBucket,
  type LogField,
  type LogPage,
  type LogQuery,
  parseConfigKey,
  parseConfigKeys,
  parseConfigValues,
  parseHistogram,
  parseLogFields,
  parseLogPage,
  type PluginType,
  type ProtocolMethod,
} from "@imbi/plugin-sdk";
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
    return this.#call("configuration", request, "listKeys", (ctx) => [ctx], parseConfigKeys);
  }

  /** Configuration: values of some or all keys (missing keys omitted). */
  getValues(request: TabRequest, keys: string[] | undefined): Promise<TabAnswer<ConfigValue[]>> {
    return this.#call(
      "configuration",
      request,
      "getValues",
      (ctx) => (keys ? [ctx, keys] : [ctx]),
      parseConfigValues,
    );
  }

  /** Configuration: writes one key. */
  setValue(
    request: TabRequest,
    key: string,
    input: { value: string; data_type: string },
  ): Promise<TabAnswer<ConfigKey>> {
    return this.#call("configuration", request, "setValue", (ctx) => [ctx, key, input], parseConfigKey);
  }

  /** Configuration: deletes one key (idempotent). */
  deleteKey(request: TabRequest, key: string): Promise<TabAnswer<null>> {
    return this.#call("configuration", request, "deleteKey", (ctx) => [ctx, key], () => null);
  }

  /** Logs: one page of entries, newest first. */
  search(request: TabRequest, query: LogQuery): Promise<TabAnswer<LogPage>> {
    return this.#call("logs", request, "search", (ctx) => [ctx, query], (v) => parseLogPage(v, query.limit));
  }

  /** Logs: the searchable fields. */
  schema(request: TabRequest): Promise<TabAnswer<LogField[]>> {
    return this.#call("logs", request, "schema", (ctx) => [ctx], parseLogFields);
  }

  /** Logs: counts per time bucket. */
  histogram(request: TabRequest, query: LogQuery, buckets: number): Promise<TabAnswer<HistogramBucket[]>> {
    return this.#call("logs", request, "histogram", (ctx) => [ctx, query, buckets], parseHistogram);
  }
}
