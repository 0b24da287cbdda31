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

import type { CallContext, ConfigKey, ConfigValue, PluginType, ProtocolMethod } from "@imbi/plugin-sdk";
import type { HistogramBucket, LogField, LogPage, LogQuery } from "@imbi/plugin-sdk";
import * as results from "@imbi/plugin-sdk";
import { BadRequestError, NotFoundError, UnavailableError } from "./errors.ts";
import type { GraphStore, Resolution, ResolvedTarget, SelectionReason } from "./graph/store.ts";
import { ResolutionMemo } from "./graph/resolution_memo.ts";
import type { Credentials } from "./credentials.ts";
import { notFound } from "./graph/messages.ts";
import type { LoadedEntry, Registry } from "./packages/registry.ts";
import { callChecked, callOptional, type Lease, type PluginRuntime } from "./runtime.ts";
import { checkListInSlices } from "./slices.ts";
import {
  type EncodeAs,
  EncodedList,
  type EncodedMethod,
  maskedValue,
  secretDataTypes,
  type ShownValue,
} from "./encoded_list.ts";
import { addLogContext } from "./logger.ts";
import { metrics } from "./ops/metrics.ts";
import { renderTemplate } from "./template.ts";
import type { TabCache } from "./tab_cache.ts";

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
  /** The answer came from the response cache, not from a plugin call made for this request. */
  cached: boolean;
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
  /** `Cache-Control: no-cache`: ask the plugin even when the response cache holds an answer (and store the new one). */
  bypassCache?: boolean;
}

/** A checked result with its source block. */
export interface TabAnswer<T> {
  /** Which plugin answered. */
  source: SourceBlock;
  /** What it answered, checked. */
  result: T;
  /**
   * Whole seconds since the plugin gave this answer (HTTP `Age`): set on reads of a node whose manifest sets
   * `hints.cacheable` while the response cache is on, 0 when the plugin was called for this request.
   */
  age?: number;
}

/**
 * The Configuration tab's keys, with where they live when the plugin describes it. A long list is an
 * {@linkcode EncodedList}: checked and serialised off the main thread.
 */
export interface KeysAnswer extends TabAnswer<ConfigKey[] | EncodedList> {
  /** `describePrefix`'s answer; absent when the plugin does not implement it. */
  prefix?: string | null;
}

/** A histogram, with what the user should know about it. */
export interface HistogramAnswer extends TabAnswer<HistogramBucket[]> {
  /** E.g. that the plugin has no histogram support (then there are no buckets). */
  warnings: string[];
}

export { MASKED_VALUE, type ShownValue } from "./encoded_list.ts";

/** A handler method to call, its arguments after the context, and the check of its answer. */
interface Checked<T> {
  method: ProtocolMethod;
  args: unknown[];
  check: (value: unknown) => T | Promise<T>;
}

/** A selected target with why it was selected. */
type Target = ResolvedTarget & { reason: SelectionReason };

/** A resolved target with its rendered call context. */
interface Located {
  target: Target;
  ctx: CallContext;
  /** The context without the request id: what the response cache keys a read by. */
  rendered: Rendered;
}

/** A call context without its request id, and that as JSON, for one target and environment. */
interface Rendered {
  ctx: Omit<CallContext, "request_id">;
  json: string;
  /**
   * Response cache keys of reads in this context, by method and arguments as JSON: made once, so a hit's lookup
   * hashes a string V8 has hashed before instead of a new one of the context's length.
   */
  cacheKeys: Map<string, string>;
}

/** A resolved, leased target ready for calls. */
interface Bound extends Located {
  lease: Lease;
}

/**
 * The response cache's key of a read within its node: the method and its arguments, and the rendered context. Made
 * once per context, method and arguments (a few per context: `getValues`' arguments are client input).
 */
function cacheKey(rendered: Rendered, method: ProtocolMethod, args: unknown[]): string {
  const call = JSON.stringify([method, args]);
  let key = rendered.cacheKeys.get(call);
  if (key === undefined) {
    if (rendered.cacheKeys.size >= 64) rendered.cacheKeys.clear();
    rendered.cacheKeys.set(call, key = `${call}\n${rendered.json}`);
  }
  return key;
}

/** Resolves and calls tab handlers. */
export class Tabs {
  #store: GraphStore;
  #memo: ResolutionMemo;
  #runtime: PluginRuntime;
  #credentials: Credentials;
  #cache: TabCache | undefined;
  /**
   * Loaded entries whose handler answered that it does not implement `describePrefix`: a bundle never changes
   * (a reload makes new entries), so they are not asked again, saving a plugin round trip per `listKeys`.
   */
  #withoutPrefix = new WeakSet<LoadedEntry>();
  /** How each entry's long list answers come back encoded, made once per entry (a tab call's path allocates none). */
  #encoded = new WeakMap<LoadedEntry, Record<EncodedMethod, EncodeAs>>();
  /** The loaded slugs of a registry, one array each, so the resolution memo can compare them by identity. */
  #loaded = new WeakMap<Registry, string[]>();
  /** The target of a (memoised, frozen) selected resolution, made once. */
  #targets = new WeakMap<Resolution, Target>();
  /** The response cache's version of a target's node as served by an entry, made once per pair. */
  #versions = new WeakMap<Target, { entry: LoadedEntry; version: string }>();
  /** The source blocks of a target (fresh and cached) as served by an entry. */
  #sources = new WeakMap<Target, { entry: LoadedEntry; blocks: [SourceBlock | undefined, SourceBlock | undefined] }>();
  /** The rendered contexts of a target, by `=environment` (none: ""), made once each. */
  #rendered = new WeakMap<Target, Map<string, Rendered>>();

  /**
   * Builds the tab service.
   *
   * @param store The graph store.
   * @param options The runtime (registry and sandboxes), the credentials (decryption), and the response cache
   *   of reads from nodes whose manifest sets `hints.cacheable` (none: every read calls the plugin).
   */
  constructor(store: GraphStore, options: { runtime: PluginRuntime; credentials: Credentials; cache?: TabCache }) {
    this.#store = store;
    this.#memo = new ResolutionMemo(store);
    this.#runtime = options.runtime;
    this.#credentials = options.credentials;
    this.#cache = options.cache;
  }

  #loadedSlugs(): string[] {
    const registry = this.#runtime.registry;
    let slugs = this.#loaded.get(registry);
    if (slugs === undefined) {
      slugs = registry.loadedSlugs();
      this.#loaded.set(registry, slugs);
    }
    return slugs;
  }

  async #resolve(tab: PluginType, request: TabRequest): Promise<Target> {
    const resolution = await this.#memo.resolveTab({
      org: request.org,
      project: request.project,
      tab,
      ...(request.source !== undefined ? { source: request.source } : {}),
      loaded: this.#loadedSlugs(),
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
      case "selected": {
        let target = this.#targets.get(resolution);
        if (target === undefined) {
          target = { ...resolution.target, reason: resolution.reason };
          this.#targets.set(resolution, target);
        }
        return target;
      }
    }
  }

  async #bind(tab: PluginType, request: TabRequest): Promise<Bound> {
    return await this.#lease(await this.#locate(tab, request));
  }

  async #lease(located: Located): Promise<Bound> {
    const { target } = located;
    const lease = await this.#runtime.lease(
      target,
      () => this.#credentials.openNode(target.org.slug, target.binding.plugin, target.application),
    );
    return { ...located, lease };
  }

  async #locate(tab: PluginType, request: TabRequest): Promise<Located> {
    const target = await this.#resolve(tab, request);
    const node = target.binding.plugin;
    addLogContext({ plugin: node.plugin, node: `${target.org.slug}/${node.service}/${node.slug}` });
    const rendered = this.#render(target, request.environment);
    return { target, ctx: { ...rendered.ctx, request_id: request.requestId }, rendered };
  }

  /** The call context of a target for an environment, rendered once per pair (a memoised target is reused). */
  #render(target: Target, environment: string | undefined): Rendered {
    let byEnvironment = this.#rendered.get(target);
    const key = environment === undefined ? "" : `=${environment}`;
    const known = byEnvironment?.get(key);
    if (known !== undefined) return known;
    const project = target.project;
    const ctx: Omit<CallContext, "request_id"> = {
      org: { slug: target.org.slug },
      project: { id: project.id, slug: project.slug, name: project.name, project_types: project.project_types },
      search_template: renderTemplate(target.binding.search_template, {
        "org.slug": target.org.slug,
        "project.id": project.id,
        "project.slug": project.slug,
        "project.name": project.name,
        ...(environment !== undefined ? { environment } : {}),
      }),
      ...(environment !== undefined ? { environment } : {}),
    };
    const rendered = { ctx, json: JSON.stringify(ctx), cacheKeys: new Map<string, string>() };
    if (byEnvironment === undefined) {
      byEnvironment = new Map();
      this.#rendered.set(target, byEnvironment);
    }
    // Environments are client input: keep a few per target.
    if (byEnvironment.size >= 16) byEnvironment.clear();
    byEnvironment.set(key, rendered);
    return rendered;
  }

  #invoke<T>(
    bound: Bound,
    request: TabRequest,
    method: ProtocolMethod,
    args: unknown[],
    check: (value: unknown) => T | Promise<T>,
  ): Promise<T> {
    const encode = method === "listKeys" || method === "getValues"
      ? this.#encodeAs(method, bound.lease.entry)
      : undefined;
    return callChecked(bound.lease, node(bound), { method, args, requestId: request.requestId, encode }, check);
  }

  /** How a long list answer of an entry comes back encoded (with the manifest's secret types, for the masked copy). */
  #encodeAs(method: EncodedMethod, entry: LoadedEntry): EncodeAs {
    let known = this.#encoded.get(entry);
    if (known === undefined) {
      const secretTypes = secretDataTypes(entry.manifest.data_types);
      known = { listKeys: { method: "listKeys", secretTypes }, getValues: { method: "getValues", secretTypes } };
      this.#encoded.set(entry, known);
    }
    return known[method];
  }

  /** The source block of a target served by an entry, made once per target, entry and `cached` (frozen: shared). */
  #source(target: Located["target"], entry: LoadedEntry, cached = false): SourceBlock {
    let known = this.#sources.get(target);
    if (known === undefined || known.entry !== entry) {
      known = { entry, blocks: [undefined, undefined] };
      this.#sources.set(target, known);
    }
    const at = cached ? 1 : 0;
    return known.blocks[at] ??= this.#sourceBlock(target, entry, cached);
  }

  #sourceBlock(target: Located["target"], entry: LoadedEntry, cached: boolean): SourceBlock {
    const node = target.binding.plugin;
    const origin = target.binding.origin;
    return Object.freeze({
      plugin_id: node.id,
      slug: node.slug,
      service: node.service,
      plugin: node.plugin,
      label: node.label,
      package: entry.packageName,
      version: entry.version,
      specifier: entry.specifier,
      reason: target.reason,
      binding_from: origin.kind === "project" ? "project" : `project_type:${origin.slug}`,
      cached,
    });
  }

  /**
   * A read: through the response cache when the node's manifest sets `hints.cacheable`, keyed by the node, the
   * rendered context (without the request id), the method and the other arguments. The cache's version of the node
   * is what its sandbox is keyed by too (package, options, application and its credential ciphertexts, service), so
   * a hit needs no lease and a changed configuration drops the node's answers.
   */
  async #cached<T>(
    tab: PluginType,
    request: TabRequest,
    method: ProtocolMethod,
    args: unknown[],
    load: (bound: Bound) => Promise<T>,
  ): Promise<{ value: T; source: SourceBlock; age?: number }> {
    const located = await this.#locate(tab, request);
    const { target } = located;
    const node = target.binding.plugin;
    const entry = this.#runtime.registry.entry(node.plugin);
    const hints = entry?.manifest.hints;
    const cache = this.#cache;
    if (entry === undefined || cache === undefined || !cache.enabled || hints?.cacheable !== true) {
      const bound = await this.#lease(located);
      return { value: await load(bound), source: this.#source(target, bound.lease.entry) };
    }
    const version = this.#version(target, entry);
    let answeredBy = entry;
    const read = await cache.read(
      { node: node.id, version, ttlMs: hints.cache_ttl_ms },
      cacheKey(located.rendered, method, args),
      async () => {
        const bound = await this.#lease(located);
        answeredBy = bound.lease.entry;
        return await load(bound);
      },
      { bypass: request.bypassCache === true },
    );
    if (request.bypassCache !== true) metrics.cacheLookup(node.id, read.hit);
    return { value: read.value, source: this.#source(target, answeredBy, read.hit), age: read.ageSeconds };
  }

  async #read<T>(tab: PluginType, request: TabRequest, call: Checked<T>): Promise<TabAnswer<T>> {
    const { method, args, check } = call;
    const read = await this.#cached(
      tab,
      request,
      method,
      args,
      (bound) => this.#invoke(bound, request, method, [bound.ctx, ...args], check),
    );
    return { result: read.value, source: read.source, ...(read.age !== undefined ? { age: read.age } : {}) };
  }

  #version(target: Target, entry: LoadedEntry): string {
    const known = this.#versions.get(target);
    if (known?.entry === entry) return known.version;
    const version = JSON.stringify([
      entry.integrity,
      entry.bundlePath,
      target.binding.plugin.options,
      target.application?.slug ?? null,
      target.application?.credentials ?? null,
      target.service,
    ]);
    this.#versions.set(target, { entry, version });
    return version;
  }

  /** A write: drops the node's cached answers before it starts and after it ends, whatever the outcome. */
  async #write<T>(request: TabRequest, call: Checked<T>): Promise<TabAnswer<T>> {
    const { method, args, check } = call;
    const bound = await this.#bind("configuration", request);
    const node = bound.target.binding.plugin.id;
    this.#cache?.invalidate(node);
    try {
      const result = await this.#invoke(bound, request, method, [bound.ctx, ...args], check);
      return { result, source: this.#source(bound.target, bound.lease.entry) };
    } finally {
      this.#cache?.invalidate(node);
    }
  }

  /** A call that is neither cached nor a write (a log search). */
  async #call<T>(tab: PluginType, request: TabRequest, call: Checked<T>): Promise<TabAnswer<T>> {
    const bound = await this.#bind(tab, request);
    const result = await this.#invoke(bound, request, call.method, [bound.ctx, ...call.args], call.check);
    return { result, source: this.#source(bound.target, bound.lease.entry) };
  }

  /** Masks the values of secret keys unless the caller may see them. */
  #shown(
    answer: TabAnswer<ConfigValue[] | EncodedList>,
    request: TabRequest,
  ): TabAnswer<ShownValue[] | EncodedList> {
    if (request.revealSecrets === true) return answer;
    // An encoded list carries its masked copy, made by the same rule with the answering entry's secret types.
    if (answer.result instanceof EncodedList) return { ...answer, result: answer.result.shown(false) };
    const secretTypes = new Set(secretDataTypes(this.#runtime.manifest(answer.source.plugin)?.data_types));
    return { ...answer, result: answer.result.map((item) => maskedValue(item, secretTypes)) };
  }

  /** Configuration: every key, no values, and where they live when the plugin says (`describePrefix`). */
  async listKeys(request: TabRequest): Promise<KeysAnswer> {
    const read = await this.#cached("configuration", request, "listKeys", [], async (bound) => {
      const entry = bound.lease.entry;
      const [result, prefix] = await Promise.all([
        this.#invoke(bound, request, "listKeys", [bound.ctx], parseConfigKeys),
        this.#withoutPrefix.has(entry)
          ? undefined
          : callOptional(bound.lease, node(bound), callOf(request, "describePrefix", [bound.ctx]), parsePrefix)
            .then((prefix) => {
              if (prefix === undefined) this.#withoutPrefix.add(entry);
              return prefix;
            }),
      ]);
      return { result, prefix };
    });
    const { result, prefix } = read.value;
    return {
      result,
      source: read.source,
      ...(read.age !== undefined ? { age: read.age } : {}),
      ...(prefix !== undefined ? { prefix } : {}),
    };
  }

  /**
   * Configuration: values of some or all keys (missing keys omitted). Values
   * of secret keys are {@linkcode MASKED_VALUE} unless `request.revealSecrets`.
   */
  async getValues(request: TabRequest, keys: string[] | undefined): Promise<TabAnswer<ShownValue[] | EncodedList>> {
    const call = { method: "getValues", args: keys ? [keys] : [], check: parseConfigValues } as const;
    const answer = await this.#read("configuration", request, call);
    return this.#shown(answer, request);
  }

  /** Configuration: writes one key. */
  setValue(
    request: TabRequest,
    key: string,
    input: { value: string; data_type: string },
  ): Promise<TabAnswer<ConfigKey>> {
    return this.#write(request, { method: "setValue", args: [key, input], check: results.parseConfigKey });
  }

  /** Configuration: deletes one key (idempotent). */
  deleteKey(request: TabRequest, key: string): Promise<TabAnswer<null>> {
    return this.#write(request, { method: "deleteKey", args: [key], check: () => null });
  }

  /** Logs: one page of entries, newest first. */
  search(request: TabRequest, query: LogQuery): Promise<TabAnswer<LogPage>> {
    return this.#call("logs", request, {
      method: "search",
      args: [query],
      check: (v) => results.parseLogPage(v, query.limit),
    });
  }

  /** Logs: the searchable fields. */
  schema(request: TabRequest): Promise<TabAnswer<LogField[]>> {
    return this.#read("logs", request, { method: "schema", args: [], check: results.parseLogFields });
  }

  /**
   * Logs: counts per time bucket. A plugin that does not advertise
   * `hints.supports_histogram` (or does not implement `histogram`) answers
   * no buckets and a warning saying so.
   */
  async histogram(request: TabRequest, query: LogQuery, buckets: number): Promise<HistogramAnswer> {
    const bound = await this.#bind("logs", request);
    const source = this.#source(bound.target, bound.lease.entry);
    const unsupported = {
      result: [],
      source,
      warnings: [`The logs plugin "${source.plugin}" (${source.package}) does not support histograms`],
    };
    if (bound.lease.entry.manifest.hints?.supports_histogram !== true) return unsupported;
    const call = callOf(request, "histogram", [bound.ctx, query, buckets]);
    const result = await callOptional(bound.lease, node(bound), call, results.parseHistogram);
    return result === undefined ? unsupported : { result, source, warnings: [] };
  }
}

/** The Plugin node id of a bound target. */
function node(bound: Bound): string {
  return bound.target.binding.plugin.id;
}

/** One call of a handler for a tab request. */
function callOf(request: TabRequest, method: ProtocolMethod, args: unknown[]) {
  return { method, args, requestId: request.requestId };
}

/**
 * The list answers: checked in slices when long, so a plugin's 100,000 keys do not hold up other requests; a list of
 * megabytes arrives already checked by the answer worker, as an {@linkcode EncodedList}.
 */
const parseConfigKeys = orEncoded("listKeys", checkListInSlices(results.parseConfigKeys));
const parseConfigValues = orEncoded("getValues", checkListInSlices(results.parseConfigValues));

function orEncoded<T>(
  method: EncodedMethod,
  check: (value: unknown) => T[] | Promise<T[]>,
): (value: unknown) => T[] | EncodedList | Promise<T[]> {
  return (value) => value instanceof EncodedList && value.method === method ? value : check(value);
}

function parsePrefix(value: unknown): string | null {
  if (value === null || typeof value === "string") return value;
  throw new TypeError("describePrefix must return a string or null");
}
