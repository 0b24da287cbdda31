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
 * The optional methods behave the same for every plugin: the Configuration
 * tab carries `prefix` when the plugin implements `describePrefix`, and a
 * logs plugin without histogram support answers an empty histogram with a
 * warning. Values of secret configuration keys (the key says `secret`, or
 * its data type is secret in the manifest) are shown only to the admin
 * token; everyone else sees {@linkcode MASKED_VALUE}, masked per caller on
 * the way out.
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
import type { Lease, PluginRuntime } from "./runtime.ts";
import { renderTemplate } from "./template.ts";

/** Which plugin answered a tab request, from which package, and why. */
export interface SourceBlock {
  /** The Plugin node's id. */
  plugin_id: string;
  /** The Plugin node's slug. */
  slug: string;
  /** Its service's slug. */
  service: string;
  /** The manifest slug of its handler. */
  plugin: string;
  /** The Plugin node's display name. */
  label: string;
  /** The package the handler comes from. */
  package: string;
  /** The package's exact version. */
  version: string;
  /** The package's locked specifier. */
  specifier: string;
  /** Why this node was chosen. */
  reason: SelectionReason;
  /** Whose binding chose it. */
  binding_from: "project" | `project_type:${string}`;
}

/** What identifies a tab request. */
export interface TabRequest {
  /** Organization slug. */
  org: string;
  /** Project id or slug. */
  project: string;
  /** `?source=`: which bound plugin answers. */
  source?: string | undefined;
  /** `?environment=`, passed to the handler. */
  environment?: string | undefined;
  /** For logs and the handler's context. */
  requestId: string;
  /** The caller holds the admin token: values of secret configuration keys are shown unmasked. */
  revealSecrets?: boolean;
}

/** A checked result with its source block. */
export interface TabAnswer<T> {
  /** Which plugin answered. */
  source: SourceBlock;
  /** What it answered, checked. */
  result: T;
}

/** The Configuration tab's keys, with where they live when the plugin describes it. */
export interface KeysAnswer extends TabAnswer<ConfigKey[]> {
  /** `describePrefix`'s answer; absent when the plugin does not implement it. */
  prefix?: string | null;
}

/** A histogram, with what the user should know about it. */
export interface HistogramAnswer extends TabAnswer<HistogramBucket[]> {
  /** E.g. that the plugin has no histogram support (then there are no buckets). */
  warnings: string[];
}

/** What a read-only caller sees in place of a secret configuration value. */
export const MASKED_VALUE = "********";

/** A configuration value as the API shows it: `masked` when the value was replaced by {@linkcode MASKED_VALUE}. */
export type ShownValue = ConfigValue & { masked?: true };

/** A resolved, leased target ready for calls. */
interface Bound {
  target: ResolvedTarget & { reason: SelectionReason };
  lease: Lease;
  ctx: CallContext;
}

/** Resolves and calls tab handlers. */
export class Tabs {
  #store: GraphStore;
  #runtime: PluginRuntime;
  #credentials: Credentials;

  /**
   * Builds the tab service.
   *
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

  async #bind(tab: PluginType, request: TabRequest): Promise<Bound> {
    const target = await this.#resolve(tab, request);
    const lease = await this.#runtime.lease(
      target,
      () => this.#credentials.openNode(target.org.slug, target.binding.plugin, target.application),
    );
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
    return { target, lease, ctx };
  }

  async #invoke<T>(
    bound: Bound,
    request: TabRequest,
    method: ProtocolMethod,
    args: unknown[],
    check: (value: unknown) => T,
  ): Promise<T> {
    const { lease } = bound;
    // The answer arrives with the node's credentials already redacted from its frame (core/sandbox/process.ts).
    const raw = await lease.supervisor.call(method, args, { requestId: request.requestId });
    try {
      return check(raw);
    } catch (error) {
      throw new PluginCallError(
        "protocol",
        `plugin "${lease.entry.slug}" broke the ${method} protocol: ${(error as Error).message}`,
      );
    }
  }

  /** Calls an optional method: undefined when the handler does not implement it. */
  async #optional<T>(
    bound: Bound,
    request: TabRequest,
    method: ProtocolMethod,
    args: unknown[],
    check: (value: unknown) => T,
  ): Promise<T | undefined> {
    try {
      return await this.#invoke(bound, request, method, args, check);
    } catch (error) {
      if (error instanceof PluginCallError && error.notImplemented) return undefined;
      throw error;
    }
  }

  #source({ target, lease }: Bound): SourceBlock {
    const node = target.binding.plugin;
    const origin = target.binding.origin;
    return {
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
    };
  }

  async #call<T>(
    tab: PluginType,
    request: TabRequest,
    method: ProtocolMethod,
    args: (ctx: CallContext) => unknown[],
    check: (value: unknown) => T,
  ): Promise<TabAnswer<T>> {
    const bound = await this.#bind(tab, request);
    const result = await this.#invoke(bound, request, method, args(bound.ctx), check);
    return { result, source: this.#source(bound) };
  }

  /** Masks the values of secret keys unless the caller may see them. */
  #shown(answer: TabAnswer<ConfigValue[]>, request: TabRequest): TabAnswer<ShownValue[]> {
    if (request.revealSecrets === true) return answer;
    const types = this.#runtime.manifest(answer.source.plugin)?.data_types ?? [];
    const secretTypes = new Set(types.filter((t) => t.secret).map((t) => t.name));
    const result = answer.result.map((item): ShownValue =>
      item.secret || secretTypes.has(item.data_type)
        ? { ...item, secret: true, value: MASKED_VALUE, masked: true }
        : item
    );
    return { ...answer, result };
  }

  /** Configuration: every key, no values, and where they live when the plugin says (`describePrefix`). */
  async listKeys(request: TabRequest): Promise<KeysAnswer> {
    const bound = await this.#bind("configuration", request);
    const [result, prefix] = await Promise.all([
      this.#invoke(bound, request, "listKeys", [bound.ctx], parseConfigKeys),
      this.#optional(bound, request, "describePrefix", [bound.ctx], parsePrefix),
    ]);
    return { result, source: this.#source(bound), ...(prefix !== undefined ? { prefix } : {}) };
  }

  /**
   * Configuration: values of some or all keys (missing keys omitted). Values
   * of secret keys are {@linkcode MASKED_VALUE} unless `request.revealSecrets`.
   */
  async getValues(request: TabRequest, keys: string[] | undefined): Promise<TabAnswer<ShownValue[]>> {
    const answer = await this.#call(
      "configuration",
      request,
      "getValues",
      (ctx) => (keys ? [ctx, keys] : [ctx]),
      parseConfigValues,
    );
    return this.#shown(answer, request);
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

  /**
   * Logs: counts per time bucket. A plugin that does not advertise
   * `hints.supports_histogram` (or does not implement `histogram`) answers
   * no buckets and a warning saying so.
   */
  async histogram(request: TabRequest, query: LogQuery, buckets: number): Promise<HistogramAnswer> {
    const bound = await this.#bind("logs", request);
    const source = this.#source(bound);
    const unsupported = {
      result: [],
      source,
      warnings: [`The logs plugin "${source.plugin}" (${source.package}) does not support histograms`],
    };
    if (bound.lease.entry.manifest.hints?.supports_histogram !== true) return unsupported;
    const result = await this.#optional(bound, request, "histogram", [bound.ctx, query, buckets], parseHistogram);
    return result === undefined ? unsupported : { result, source, warnings: [] };
  }
}

function parsePrefix(value: unknown): string | null {
  if (value === null || typeof value === "string") return value;
  throw new TypeError("describePrefix must return a string or null");
}
