/**
 * The service's Prometheus metrics, on prom-client. Modules report into the
 * one {@linkcode metrics} instance through small typed methods (a plugin
 * call, a process start or exit, a cache lookup); what is a current value
 * rather than an event (queue depth, registry generation, lock revision,
 * whether the graph store answers) is read at scrape time from the getters
 * the wiring registers with {@linkcode Metrics.observe}.
 *
 * Plugin nodes are labelled `org/service/slug` (named once by the runtime
 * with {@linkcode Metrics.nameNode}; sandbox code reports by node id). No
 * label ever holds a token, a credential or a request's own values: routes
 * are labelled by their template (`/orgs/:org/projects/:project/...`).
 * Every metric and label is described in `docs/operations.md`.
 *
 * @module
 */

import type * as PromClient from "prom-client";
import counterModule from "prom-client/lib/counter.js";
import gaugeModule from "prom-client/lib/gauge.js";
import histogramModule from "prom-client/lib/histogram.js";
import registryModule from "prom-client/lib/registry.js";
import type { ExitCause } from "../sandbox/stats.ts";

export type { ExitCause };

/** One Plugin node's load right now. */
export interface NodeLoad {
  /** The Plugin node's id (labelled by its name once {@linkcode Metrics.nameNode} named it). */
  nodeId: string;
  /** Calls waiting for a process. */
  queued: number;
  /** Live processes. */
  processes: number;
}

/** Current values read at scrape time; each is optional. */
export interface MetricSources {
  /** The plugin registry's generation. */
  registryGeneration?: () => number;
  /** The lock state's revision (undefined while unknown). */
  lockRevision?: () => number | undefined;
  /** Whether the graph store answers (a cheap ping). */
  storeUp?: () => Promise<boolean>;
  /** Load per Plugin node. */
  nodes?: () => Iterable<NodeLoad>;
}

// prom-client's index also loads its cluster aggregator, push gateway, summaries and default process metrics, none
// of which the service uses: about 6 MiB resident in every service process. The four classes come from their own
// modules (prom-client has no `exports` map; its types describe the same classes).
const Counter = counterModule as typeof PromClient.Counter;
const Gauge = gaugeModule as typeof PromClient.Gauge;
const Histogram = histogramModule as typeof PromClient.Histogram;
const Registry = registryModule as typeof PromClient.Registry;

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The metrics of one service process. */
export class Metrics {
  #registry = new Registry();
  #sources: MetricSources = {};
  #names = new Map<string, string>();
  #http;
  #httpDuration;
  #calls;
  #callDuration;
  #starts;
  #exits;
  #cache;

  /** Creates the metrics in a registry of their own. */
  constructor() {
    const registers = [this.#registry];
    this.#http = new Counter({
      name: "imbi_http_requests_total",
      help: "HTTP requests by route template, method and status",
      labelNames: ["route", "method", "status"] as const,
      registers,
    });
    this.#httpDuration = new Histogram({
      name: "imbi_http_request_duration_seconds",
      help: "HTTP request duration by route template and method",
      labelNames: ["route", "method"] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#calls = new Counter({
      name: "imbi_plugin_calls_total",
      help: "Plugin calls by plugin, Plugin node, protocol method and outcome (ok or the failure kind)",
      labelNames: ["plugin", "node", "method", "outcome"] as const,
      registers,
    });
    this.#callDuration = new Histogram({
      name: "imbi_plugin_call_duration_seconds",
      help: "Plugin call duration, queueing included, by plugin, Plugin node and method",
      labelNames: ["plugin", "node", "method"] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#starts = new Counter({
      name: "imbi_plugin_process_starts_total",
      help: "Plugin processes started, by Plugin node",
      labelNames: ["node"] as const,
      registers,
    });
    this.#exits = new Counter({
      name: "imbi_plugin_process_exits_total",
      help: "Plugin processes ended, by Plugin node and cause (crash, timeout, memory, idle, drain, close)",
      labelNames: ["node", "cause"] as const,
      registers,
    });
    this.#cache = new Counter({
      name: "imbi_tab_cache_lookups_total",
      help: "Tab response cache lookups by Plugin node and result (hit or miss)",
      labelNames: ["node", "result"] as const,
      registers,
    });
    const sources = () => this.#sources;
    const name = (id: string) => this.#names.get(id) ?? id;
    const perNode: [name: string, help: string, field: "queued" | "processes"][] = [
      ["imbi_plugin_queue_depth", "Calls waiting for a plugin process, by Plugin node", "queued"],
      ["imbi_plugin_processes", "Live plugin processes, by Plugin node", "processes"],
    ];
    for (const [metric, help, field] of perNode) {
      new Gauge({
        name: metric,
        help,
        labelNames: ["node"] as const,
        registers,
        collect() {
          this.reset();
          for (const load of sources().nodes?.() ?? []) this.inc({ node: name(load.nodeId) }, load[field]);
        },
      });
    }
    const numbers: [name: string, help: string, read: () => number | undefined][] = [
      [
        "imbi_registry_generation",
        "Generation of the plugin registry in use (one more per reload)",
        () => sources().registryGeneration?.(),
      ],
      [
        "imbi_lock_revision",
        "Revision of the lock state (plugins.lock.json) this replica loaded",
        () => sources().lockRevision?.(),
      ],
    ];
    for (const [name, help, read] of numbers) {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const value = read();
          if (value !== undefined) this.set(value);
        },
      });
    }
    new Gauge({
      name: "imbi_graph_store_up",
      help: "1 when the graph store answered a ping at scrape time, else 0",
      registers,
      async collect() {
        const up = sources().storeUp;
        if (up) this.set(await up().catch(() => false) ? 1 : 0);
      },
    });
  }

  /** The exposition's content type. */
  get contentType(): string {
    return this.#registry.contentType;
  }

  /**
   * Registers the getters read at scrape time (replacing earlier ones).
   *
   * @param sources The getters.
   * @returns Undoes the registration (when the services close).
   */
  observe(sources: MetricSources): () => void {
    this.#sources = sources;
    return () => {
      if (this.#sources === sources) this.#sources = {};
    };
  }

  /**
   * Names a Plugin node for its labels.
   *
   * @param nodeId The node's id.
   * @param name `org/service/slug`.
   */
  nameNode(nodeId: string, name: string): void {
    this.#names.set(nodeId, name);
  }

  /**
   * Counts one HTTP request.
   *
   * @param labels The route template (not the path), the method and the status.
   * @param seconds How long it took.
   */
  httpRequest(labels: { route: string; method: string; status: number }, seconds: number): void {
    this.#http.inc({ ...labels, status: String(labels.status) });
    this.#httpDuration.observe({ route: labels.route, method: labels.method }, seconds);
  }

  /**
   * Counts one plugin call.
   *
   * @param labels The manifest slug, the node id, the protocol method and the outcome (`ok` or a failure kind).
   * @param seconds How long it took, queueing included.
   */
  pluginCall(labels: { plugin: string; nodeId: string; method: string; outcome: string }, seconds: number): void {
    const node = this.#names.get(labels.nodeId) ?? labels.nodeId;
    this.#calls.inc({ plugin: labels.plugin, node, method: labels.method, outcome: labels.outcome });
    this.#callDuration.observe({ plugin: labels.plugin, node, method: labels.method }, seconds);
  }

  /**
   * Counts a plugin process start.
   *
   * @param nodeId The Plugin node's id.
   */
  processStart(nodeId: string): void {
    this.#starts.inc({ node: this.#names.get(nodeId) ?? nodeId });
  }

  /**
   * Counts a plugin process exit.
   *
   * @param nodeId The Plugin node's id.
   * @param cause Why it ended.
   */
  processExit(nodeId: string, cause: ExitCause): void {
    this.#exits.inc({ node: this.#names.get(nodeId) ?? nodeId, cause });
  }

  /**
   * Counts a tab cache lookup.
   *
   * @param nodeId The Plugin node's id.
   * @param hit Whether the cache held the answer.
   */
  cacheLookup(nodeId: string, hit: boolean): void {
    this.#cache.inc({ node: this.#names.get(nodeId) ?? nodeId, result: hit ? "hit" : "miss" });
  }

  /**
   * The Prometheus text exposition of every metric.
   *
   * @returns The text.
   */
  async exposition(): Promise<string> {
    return await this.#registry.metrics();
  }
}

/** The process's metrics; modules report into this one instance. */
export const metrics: Metrics = new Metrics();
