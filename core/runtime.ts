/**
 * The plugin runtime: the current registry, its reload, and which sandbox
 * process serves which Plugin node.
 *
 * A reload builds the new registry beside the old one and swaps it in one
 * assignment. A request holds the supervisor it started with, so it finishes
 * on the old handler; new requests find supervisors keyed by the new
 * package integrity. Supervisors of replaced or removed packages, and of
 * Plugin nodes whose configuration changed, are drained (in-flight calls
 * finish, then the process closes).
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { PluginManifest, ProtocolMethod } from "@imbi/plugin-sdk/types";
import type { OpenedNode } from "./credentials.ts";
import type { EncodeAs } from "./encoded_list.ts";
import { PluginCallError } from "./errors.ts";
import type { PluginNode, ResolvedTarget } from "./graph/store.ts";
import { log } from "./logger.ts";
import { metrics } from "./ops/metrics.ts";
import { EgressPolicy } from "./sandbox/egress.ts";
import { computeNetHosts } from "./sandbox/network_hosts.ts";
import type { LoadedEntry, Registry } from "./packages/registry.ts";
import type { SandboxPool } from "./sandbox/pool.ts";
import type { Supervisor } from "./sandbox/supervisor.ts";

/** What a lease needs of a target: the Plugin node, its service and its application (a tab's resolution, or a node alone). */
export type LeaseTarget = { binding: { plugin: PluginNode } } & Pick<ResolvedTarget, "org" | "service" | "application">;

/** Builds a registry from the lockfile on disk. */
export type RegistryBuilder = (generation: number) => Promise<Registry>;

/** Options of {@linkcode PluginRuntime.start}. */
export interface RuntimeOptions {
  /** Ceiling on every call's deadline; a manifest's `timeout_ms` may only lower it. */
  timeoutCeilingMs: number;
  /** The operator's egress policy: a node with a denied host never gets a process. Default: the built-in denials. */
  egress?: EgressPolicy;
}

/** A supervisor lease for one call, with what the `source` block reports. */
export interface Lease {
  supervisor: Supervisor;
  entry: LoadedEntry;
}

const DEFAULT_EGRESS = new EgressPolicy();

/** How long a reload waits for the next processes of busy nodes before it swaps its registry in anyway, ms. */
export const PRESTART_MS = 5000;

interface Derived {
  entry: LoadedEntry;
  netHosts: string[];
  timeoutMs: number;
  key: string;
}

/**
 * Calls one protocol method on a leased process and checks the answer: a
 * malformed one is a `protocol` failure (502), never passed on. Every call
 * is counted in the plugin-call metrics with its outcome.
 *
 * @param lease The lease.
 * @param nodeId The Plugin node's id (metric label).
 * @param call The method, its arguments and the request id; `encode` when a long list answer may come back as an
 *   `EncodedList` (then `check` must take one).
 * @param check Parses the answer, throwing (or rejecting) on a bad shape; a long list may be checked in slices
 *   (`core/slices.ts`).
 * @returns The checked answer.
 * @throws {PluginCallError} The call's failure, or `protocol`.
 */
export async function callChecked<T>(
  lease: Lease,
  nodeId: string,
  call: { method: ProtocolMethod; args: unknown[]; requestId: string; encode?: EncodeAs | undefined },
  check: (value: unknown) => T | Promise<T>,
): Promise<T> {
  const { method } = call;
  const started = performance.now();
  const labels = { plugin: lease.entry.slug, nodeId, method };
  let result: T;
  try {
    // The answer arrives with the node's credentials already redacted from its frame (core/sandbox/process.ts).
    const raw = await lease.supervisor.call(method, call.args, { requestId: call.requestId, encode: call.encode });
    try {
      result = await check(raw);
    } catch (error) {
      throw new PluginCallError(
        "protocol",
        `plugin "${lease.entry.slug}" broke the ${method} protocol: ${(error as Error).message}`,
      );
    }
  } catch (error) {
    const outcome = !(error instanceof PluginCallError)
      ? "internal"
      : error.notImplemented
      ? "not_implemented"
      : error.kind;
    metrics.pluginCall({ ...labels, outcome }, (performance.now() - started) / 1000);
    throw error;
  }
  metrics.pluginCall({ ...labels, outcome: "ok" }, (performance.now() - started) / 1000);
  return result;
}

/**
 * {@linkcode callChecked} for an optional method (`describePrefix`, `schema`, `checkConnection`, ...).
 *
 * @returns The checked answer, or undefined when the handler does not implement the method.
 */
export async function callOptional<T>(
  lease: Lease,
  nodeId: string,
  call: { method: ProtocolMethod; args: unknown[]; requestId: string },
  check: (value: unknown) => T,
): Promise<T | undefined> {
  try {
    return await callChecked(lease, nodeId, call, check);
  } catch (error) {
    if (error instanceof PluginCallError && error.notImplemented) return undefined;
    throw error;
  }
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 24);
}

/** The current registry and the sandbox processes serving Plugin nodes. */
export class PluginRuntime {
  #registry: Registry;
  #build: RegistryBuilder;
  #pool: SandboxPool;
  #options: RuntimeOptions;
  #reloading: Promise<unknown> = Promise.resolve();
  #nodeKeys = new Map<string, string>();
  /** What `lease` derives from a target and its entry, kept per target object (a memoised resolution's is reused). */
  #derived = new WeakMap<LeaseTarget, Derived>();
  /** The last target and credential opener each node was leased with: a reload starts a busy node's next processes. */
  #leased = new Map<string, { target: LeaseTarget; decrypt: () => Promise<OpenedNode> }>();
  #reloadFailure: string | null = null;

  private constructor(registry: Registry, build: RegistryBuilder, pool: SandboxPool, options: RuntimeOptions) {
    this.#registry = registry;
    this.#build = build;
    this.#pool = pool;
    this.#options = options;
  }

  /**
   * Builds the first registry and returns the runtime.
   *
   * @param build Builds a registry from the lockfile for a generation number.
   * @param pool The sandbox pool.
   * @param options Deadlines.
   * @returns The started runtime.
   */
  static async start(build: RegistryBuilder, pool: SandboxPool, options: RuntimeOptions): Promise<PluginRuntime> {
    const registry = await build(1);
    logRegistry(registry);
    return new PluginRuntime(registry, build, pool, options);
  }

  /** The registry requests use right now. */
  get registry(): Registry {
    return this.#registry;
  }

  /**
   * Why the last reload could not read the lock state (the registry in use is
   * then the previous one), or null when it succeeded; `/readyz` reports it.
   */
  get reloadFailure(): string | null {
    return this.#reloadFailure;
  }

  /** The sandbox pool, for operations reports. */
  get pool(): SandboxPool {
    return this.#pool;
  }

  /**
   * The manifest of a loaded entry point.
   *
   * @param slug Manifest slug.
   * @returns The manifest, or undefined when it is not loaded.
   */
  manifest(slug: string): PluginManifest | undefined {
    return this.#registry.entry(slug)?.manifest;
  }

  /**
   * Rebuilds the registry from the lockfile and swaps it in. Reloads are
   * serialised; each one reads the lockfile as it is when it starts.
   *
   * @param options `skipIf`, asked when this reload's turn comes: true keeps the registry served then (a lock
   *   poll's reload that an admin change's reload already made moot).
   * @returns The new registry (or the one kept).
   */
  reload(options: { skipIf?: (current: Registry) => Promise<boolean> } = {}): Promise<Registry> {
    const next = this.#reloading.catch(() => undefined).then(async () =>
      options.skipIf && await options.skipIf(this.#registry) ? this.#registry : await this.#reloadNow()
    );
    this.#reloading = next;
    return next;
  }

  async #reloadNow(): Promise<Registry> {
    const started = performance.now();
    let fresh: Registry;
    try {
      fresh = await this.#build(this.#registry.generation + 1);
    } catch (error) {
      this.#reloadFailure = error instanceof Error ? error.message : String(error);
      log.error("plugin registry reload failed; the previous one stays in use", { error: this.#reloadFailure });
      throw error;
    }
    this.#reloadFailure = null;
    await this.#prestart(fresh);
    this.#registry = fresh;
    const live = new Set(fresh.loadedSlugs().map((slug) => `${slug}|${fresh.entry(slug)!.integrity}`));
    const stale = (key: string) => !live.has(key.split("|").slice(1, 3).join("|"));
    for (const [node, key] of this.#nodeKeys) if (stale(key)) this.#nodeKeys.delete(node);
    void this.#pool.drain(stale).catch((error) =>
      log.error("draining plugin processes failed", { error: String(error) })
    );
    logRegistry(fresh);
    log.info("plugin registry swapped in", {
      generation: fresh.generation,
      ms: Math.round(performance.now() - started),
    });
    return fresh;
  }

  /**
   * The supervisor for a resolved target. Credentials and secret options are
   * decrypted only when a new process configuration is needed; a change of
   * options, credentials or package drains the node's previous process.
   *
   * @param target A tab's resolution, or a Plugin node with its service and application.
   * @param decrypt Decrypts the target's application credentials and secret options.
   * @returns The lease for this call.
   * @throws {PluginCallError} "crashed" when the entry is no longer loaded.
   */
  async lease(target: LeaseTarget, decrypt: () => Promise<OpenedNode>): Promise<Lease> {
    const node = target.binding.plugin;
    metrics.nameNode(node.id, `${target.org.slug}/${node.service}/${node.slug}`);
    const entry = this.#registry.entry(node.plugin);
    if (!entry) {
      throw new PluginCallError("crashed", `plugin "${node.plugin}" is not loaded`, { retryAfterSeconds: 5 });
    }
    const derived = this.#derive(target, entry);
    const previous = this.#nodeKeys.get(node.id);
    if (previous !== derived.key) {
      this.#nodeKeys.set(node.id, derived.key);
      if (previous !== undefined) void this.#pool.drain((k) => k === previous);
    }
    this.#leased.set(node.id, { target, decrypt });
    return { supervisor: await this.#acquire(target, derived, decrypt), entry };
  }

  /** The pool's supervisor for a target under an entry, made (egress checked, credentials opened) when new. */
  async #acquire(target: LeaseTarget, derived: Derived, decrypt: () => Promise<OpenedNode>): Promise<Supervisor> {
    const node = target.binding.plugin;
    const service = target.service;
    const { entry, netHosts, timeoutMs, key } = derived;
    const known = this.#pool.has(key);
    if (!known) await this.#assertEgress(node.slug, netHosts);
    const opened = known ? { credentials: {}, options: node.options, secrets: {} } : await decrypt();
    const supervisor = this.#pool.acquire(key, () => ({
      nodeId: node.id,
      bundlePath: entry.bundlePath,
      entry: entry.slug,
      netHosts,
      timeoutMs,
      secrets: opened.secrets,
      init: {
        options: opened.options,
        credentials: opened.credentials,
        plugin: { id: node.id, slug: node.slug },
        service: {
          slug: service.slug,
          name: service.name,
          vendor: service.vendor,
          base_url: service.base_url,
          account: service.account,
          region: service.region,
        },
      },
    }));
    return supervisor;
  }

  /**
   * Before a reload swaps its registry in: starts, for each node with processes now whose package changes, as many
   * processes of the new package, so the first requests after the swap find them ready instead of starting them.
   * Waits at most {@linkcode PRESTART_MS}; a node that cannot start now is left to its first call, as before.
   */
  async #prestart(fresh: Registry): Promise<void> {
    const running = new Map(this.#pool.list().map(({ key, stats }) => [key, stats.processes.length]));
    const warming: Promise<void>[] = [];
    for (const [nodeId, { target, decrypt }] of this.#leased) {
      const current = this.#nodeKeys.get(nodeId);
      const processes = current === undefined ? 0 : running.get(current) ?? 0;
      if (processes === 0) {
        this.#leased.delete(nodeId);
        continue;
      }
      const entry = fresh.entry(target.binding.plugin.plugin);
      if (entry === undefined) continue;
      const derived = this.#derive(target, entry);
      if (this.#pool.has(derived.key)) continue;
      warming.push(
        this.#acquire(target, derived, decrypt).then((supervisor) => supervisor.warm(processes)).catch((error) =>
          log.warn("could not start a plugin process before the reload", { nodeId, error: String(error) })
        ),
      );
    }
    if (warming.length === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const bound = new Promise<void>((resolve) => timer = setTimeout(resolve, PRESTART_MS));
    await Promise.race([Promise.all(warming), bound]);
    clearTimeout(timer);
  }

  /**
   * The node's network hosts, deadline and pool key for an entry: computed once per target object and entry (the
   * objects of a memoised resolution are frozen, so what they say cannot change under the key).
   */
  #derive(target: LeaseTarget, entry: LoadedEntry): Derived {
    const known = this.#derived.get(target);
    if (known?.entry === entry) return known;
    const node = target.binding.plugin;
    const netHosts = computeNetHosts(entry.manifest, { options: node.options, service: target.service });
    const timeoutMs = Math.min(
      entry.manifest.timeout_ms ?? this.#options.timeoutCeilingMs,
      this.#options.timeoutCeilingMs,
    );
    const fingerprint = sha256(JSON.stringify([
      node.options,
      target.application?.slug ?? null,
      target.application?.credentials ?? null,
      target.service,
      netHosts,
      timeoutMs,
      entry.bundlePath,
    ]));
    const derived = { entry, netHosts, timeoutMs, key: `${node.id}|${entry.slug}|${entry.integrity}|${fingerprint}` };
    if (Object.isFrozen(node)) this.#derived.set(target, derived);
    return derived;
  }

  /**
   * Refuses to start a process whose `--allow-net` would hold a host the
   * egress policy denies, as written or by the address its name resolves to now.
   */
  async #assertEgress(node: string, netHosts: string[]): Promise<void> {
    const policy = this.#options.egress ?? DEFAULT_EGRESS;
    const denied = policy.firstDenied(netHosts) ?? await policy.firstDeniedByAddress(netHosts);
    if (!denied) return;
    throw new PluginCallError(
      "egress_denied",
      `Plugin node "${node}" was not started: network host "${denied.entry}" ${denied.reason}`,
    );
  }

  /** Kills every plugin process (service shutdown). */
  async close(): Promise<void> {
    await this.#pool.closeAll();
  }
}

function logRegistry(registry: Registry): void {
  for (const pkg of registry.packages) {
    for (const entry of pkg.entries) {
      if (entry.status !== "loaded") {
        log.warn("plugin entry not loaded", {
          package: pkg.name,
          entry: entry.slug,
          status: entry.status,
          reason: entry.reason,
        });
      }
    }
    if (pkg.entries.length === 0 && pkg.reason) {
      log.warn("plugin package not loaded", { package: pkg.name, status: pkg.status, reason: pkg.reason });
    }
  }
}
