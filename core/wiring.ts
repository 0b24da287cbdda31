/**
 * Builds the service's dependencies from a validated configuration: the
 * graph store, the keyring, the package store, the sandbox pool, the plugin
 * runtime, and the credentials, Plugin node, tab and package-admin services on top. Used by
 * `main.ts` and by the end-to-end tests, so both run the same wiring.
 *
 * @module
 */

import { AuditLog } from "./audit.ts";
import type { Config } from "./config.ts";
import { ConnectionTests } from "./connection.ts";
import { keyProvider, type Keyring } from "./crypto.ts";
import { toHex } from "./encoding.ts";
import { UnavailableError } from "./errors.ts";
import { lockRegistryBuilder, LockSync } from "./lock_sync.ts";
import { Credentials } from "./credentials.ts";
import { PluginNodes } from "./plugin_nodes.ts";
import type { GraphStore } from "./graph/store.ts";
import { log } from "./logger.ts";
import { metrics, type NodeLoad } from "./ops/metrics.ts";
import { PackageAdminService } from "./packages/admin.ts";
import { importLockfile } from "./packages/lock_file_sync.ts";
import { packageStoreFor } from "./packages/store.ts";
import { StoreLockState } from "./packages/store_lock_state.ts";
import { Readiness } from "./ops/readiness.ts";
import { PluginRuntime } from "./runtime.ts";
import { checkConfinement, describeConfinement, probeConfinement, useConfinement } from "./sandbox/confine.ts";
import { inspectStoredBundle } from "./sandbox/inspect.ts";
import { SandboxPool } from "./sandbox/pool.ts";
import { channelDirectory } from "./sandbox/channel.ts";
import { warmBootstrap } from "./sandbox/process.ts";
import { SqliteStore } from "./graph/sqlite/store.ts";
import { TabCache } from "./tab_cache.ts";
import { Tabs } from "./tabs.ts";
import { flushPluginSpans } from "./ops/tracing.ts";

/** Everything `createApp` needs, plus how to shut it down. */
export interface Services {
  store: GraphStore;
  directory: PluginNodes;
  tabs: Tabs;
  connections: ConnectionTests;
  /** The response cache of tab reads (its `stats` feed the metrics). */
  tabCache: TabCache;
  runtime: PluginRuntime;
  admin: PackageAdminService;
  /** The shared audit log, stamped with this replica's id. */
  audit: AuditLog;
  /** The deployment's lock state in the graph store. */
  lock: StoreLockState;
  /** Keeps this replica on the store's lock revision; its heartbeats list the replicas. */
  sync: LockSync;
  tokens: { admin: string; read: string[] };
  /** The checks behind `/readyz`. */
  readiness: Readiness;
  /** The encryption keyring: credentials, secret options, console sessions. */
  keyring: Keyring;
  /** Stops plugin processes and closes the store. */
  close(): Promise<void>;
}

/**
 * This process's replica id: `IMBI_REPLICA_ID`, else `<hostname>:<pid>`
 * (unique among live processes: a pod's hostname is its name).
 *
 * @param config The configuration.
 * @returns The id.
 */
export function replicaId(config: Pick<Config, "replicaId">): string {
  if (config.replicaId) return config.replicaId;
  return `${hostName()}:${Deno.pid}`;
}

function hostName(): string {
  try {
    return Deno.hostname();
  } catch {
    // Without --allow-sys=hostname the pid alone still tells local processes apart.
    return "localhost";
  }
}

/**
 * Opens the configured graph store. While Neo4j cannot be reached (not up
 * yet, restarting), start-up waits and retries with back-off, logging
 * `waiting for the graph store` each time, for at most `IMBI_GRAPH_WAIT_MS`;
 * then it gives up with the last error. Refused credentials are not waited
 * for.
 *
 * @param config The configuration.
 * @param options The clock's sleep (tests).
 * @returns The store.
 * @throws {UnavailableError} When the store is still unreachable after the wait.
 */
export async function openStore(
  config: Config,
  options: { sleep?: (ms: number) => Promise<void> } = {},
): Promise<GraphStore> {
  if (config.graph.kind === "sqlite") {
    await Deno.mkdir(config.dataDir, { recursive: true });
    return SqliteStore.open(config.graph.path);
  }
  const { url, user, password } = config.graph;
  const { Neo4jStore } = await import("./graph/neo4j/store.ts");
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = Date.now() + config.graphWaitMs;
  for (let attempt = 1, wait = 250;; attempt++, wait = Math.min(wait * 2, 5000)) {
    try {
      return await Neo4jStore.connect({ url, user, password });
    } catch (error) {
      const refused = error instanceof UnavailableError && /refused|credentials/i.test(error.message);
      const left = deadline - Date.now();
      if (!(error instanceof UnavailableError) || refused || left <= 0) throw error;
      const pause = Math.min(wait, left);
      log.warn("waiting for the graph store", {
        attempt,
        retry_in_ms: pause,
        gives_up_in_ms: left,
        error: error.message,
      });
      await sleep(pause);
    }
  }
}

async function adminToken(config: Config): Promise<string> {
  if (config.adminToken) return config.adminToken;
  if (config.graph.kind !== "sqlite") {
    throw new RangeError("IMBI_ADMIN_TOKEN must be set when the graph store is Neo4j");
  }
  const path = `${config.dataDir}/admin.token`;
  try {
    const token = (await Deno.readTextFile(path)).trim();
    if (token.length >= 16) return token;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await Deno.mkdir(config.dataDir, { recursive: true });
  const token = toHex(crypto.getRandomValues(new Uint8Array(24)));
  await Deno.writeTextFile(path, token + "\n", { mode: 0o600 });
  log.warn("generated an admin token; read it from the file, or set IMBI_ADMIN_TOKEN", { path });
  return token;
}

/**
 * Finds what confines plugin processes, says so, and makes every later spawn
 * use it; refuses when `IMBI_SANDBOX_LIMITS=required` and nothing can, or
 * when `TMPDIR` is too long for the plugin channels' sockets.
 */
async function confinePlugins(config: Config): Promise<void> {
  const confinement = await probeConfinement(config.confine);
  const warning = checkConfinement(confinement);
  useConfinement(confinement);
  channelDirectory();
  log.info("plugin confinement", { ...describeConfinement(confinement), jail: confinement.jailPath });
  if (warning) log.warn(warning, { setting: "IMBI_SANDBOX_LIMITS=warn" });
}

/**
 * Builds every dependency of the HTTP app.
 *
 * @param config The validated configuration.
 * @param options `store` to use an already-open store (tests).
 * @returns The services.
 */
export async function buildServices(config: Config, options: { store?: GraphStore } = {}): Promise<Services> {
  await confinePlugins(config);
  const keyring = await keyProvider({
    keys: config.encryptionKeys,
    dataDir: config.dataDir,
    allowGenerated: config.graph.kind === "sqlite",
  }).load();
  const token = await adminToken(config);
  const store = options.store ?? await openStore(config);
  const packages = packageStoreFor(config);
  const pool = new SandboxPool({
    heapMb: config.pluginHeapMb,
    maxConcurrent: config.pluginMaxConcurrent,
    idleMs: config.pluginIdleMs,
    minProcesses: config.pluginProcessesMin,
    maxProcesses: config.pluginProcessesMax,
    queueMax: config.pluginQueueMax,
    maxFrameBytes: config.pluginMaxAnswerBytes,
    onEvent: (event) => {
      if (event.type === "process_started") metrics.processStart(event.nodeId);
      else if (event.type === "process_exited") metrics.processExit(event.nodeId, event.cause);
    },
  });
  const audit = new AuditLog(store.control.audit, { replica: replicaId(config) });
  const deployment = store.control.deployment(config.deployment);
  const lock = new StoreLockState(deployment.lock, audit);
  const imported = await importLockfile(lock, config.lockfilePath, {
    onlyIfEmpty: true,
    actor: `startup:${audit.replica}`,
    requestId: null,
    now: () => new Date(),
  });
  if (imported.outcome === "imported") {
    log.info("imported the lockfile into the empty graph store", {
      path: config.lockfilePath,
      revision: imported.revision,
    });
  }
  // The builder refuses a later build that would fail what the served registry loads.
  const served: { runtime?: PluginRuntime } = {};
  const runtime = await PluginRuntime.start(
    lockRegistryBuilder({ lock, packages, inspect: inspectStoredBundle, current: () => served.runtime?.registry }),
    pool,
    { timeoutCeilingMs: config.pluginTimeoutMs, egress: config.egress },
  );
  served.runtime = runtime;
  // Off the start's path: transpiles the bootstrap into the plugin processes' new DENO_DIR before the first call.
  const warmed = warmBootstrap().catch(() => {});
  const sync = new LockSync({
    lock,
    runtime,
    replicas: deployment.replicas,
    replica: { id: audit.replica, host: hostName() },
    pollMs: config.lockPollMs,
  });
  sync.start();
  const manifest = (slug: string) => runtime.manifest(slug);
  const credentials = new Credentials(store, { keyring, manifest });
  const directory = new PluginNodes(store, { credentials, manifest, egress: config.egress });
  const connections = new ConnectionTests(store, { runtime, credentials });
  const tabCache = new TabCache({ ttlMs: config.tabCacheTtlMs, maxBytes: config.tabCacheMaxBytes });
  const tabs = new Tabs(store, { runtime, credentials, cache: tabCache });
  const admin = new PackageAdminService({
    lock,
    packages,
    inspect: inspectStoredBundle,
    runtime,
    store,
    egress: config.egress,
    ...(config.catalogPath ? { catalogPath: config.catalogPath } : {}),
  });
  const readiness = new Readiness(store, { keyring, lock: () => runtime.reloadFailure });
  await readiness.checkKeys();
  const unobserve = metrics.observe({
    registryGeneration: () => runtime.registry.generation,
    lockRevision: () => runtime.registry.revision,
    storeUp: () => store.ping().then(() => true, () => false),
    nodes: () => nodeLoads(pool),
  });
  return {
    store,
    directory,
    tabs,
    connections,
    tabCache,
    runtime,
    admin,
    audit,
    lock,
    sync,
    tokens: { admin: token, read: config.readTokens },
    readiness,
    keyring,
    async close() {
      await sync.stop();
      unobserve();
      await warmed;
      await runtime.close();
      await flushPluginSpans();
      await store.close();
    },
  };
}

/** Live processes per Plugin node, summed over its supervisors (a drained one has none). */
function nodeLoads(pool: SandboxPool): NodeLoad[] {
  const loads = new Map<string, NodeLoad>();
  for (const { key, stats } of pool.list()) {
    const nodeId = key.split("|")[0]!;
    const load = loads.get(nodeId) ?? { nodeId, queued: 0, processes: 0 };
    load.processes += stats.processes.length;
    load.queued += stats.queued;
    loads.set(nodeId, load);
  }
  return [...loads.values()];
}
