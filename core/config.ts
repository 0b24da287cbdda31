/**
 * Service configuration from the environment, validated in one place. A bad
 * value is a `ConfigError` naming the variable; `main.ts` prints it as one
 * line and exits.
 *
 * @module
 */

import { DEPLOYMENT_PATTERN } from "./graph/control.ts";
import { parseNpmrc, RegistryAuth } from "./packages/npmrc.ts";
import { type EgressPolicy, egressPolicyFromEnv } from "./sandbox/egress.ts";
import { ConfineSettingError, type ConfineSettings, parseConfineSettings } from "./sandbox/confine.ts";

/** A configuration variable has a bad value. */
export class ConfigError extends Error {
  override name = "ConfigError";
  /** The environment variable at fault. */
  readonly variable: string;
  constructor(variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.variable = variable;
  }
}

/** The validated configuration. */
export interface Config {
  port: number;
  host: string;
  /** `IMBI_METRICS_PORT`: a separate listener (same host) serving only `/metrics`, without a token; unset: none. */
  metricsPort: number | undefined;
  dataDir: string;
  lockfilePath: string;
  /** Unset: generated into the data directory on the embedded store. */
  adminToken: string | undefined;
  /** Read-only tokens (GET endpoints and tab reads). */
  readTokens: string[];
  /** `kid:base64key` pairs, newest first; unset on the embedded store means generated. */
  encryptionKeys: string | undefined;
  graph:
    | { kind: "sqlite"; path: string }
    | { kind: "neo4j"; url: string; user: string; password: string };
  /** Ceiling on every plugin call's deadline. */
  pluginTimeoutMs: number;
  pluginHeapMb: number;
  /** Calls in flight per plugin process; more wait in the node's queue. */
  pluginMaxConcurrent: number;
  pluginIdleMs: number;
  /** How plugin processes are confined: the jail, cgroup root, limits and `IMBI_SANDBOX_LIMITS`. */
  confine: ConfineSettings;
  /** Plugin processes a node keeps once used (idle ones above this are reaped). */
  pluginProcessesMin: number;
  /** Most plugin processes of one node (default: the number of cores). */
  pluginProcessesMax: number;
  /** Most calls waiting per node before `saturated` (503). */
  pluginQueueMax: number;
  /** Largest frame either way between the service and a plugin process, bytes (a larger answer: `too_large`, 502). */
  pluginMaxAnswerBytes: number;
  /** On SIGTERM/SIGINT, how long requests in flight may take before plugin processes are stopped. */
  shutdownGraceMs: number;
  /** `IMBI_TAB_CACHE_TTL_MS`: how long a cacheable tab read is kept; 0 turns the response cache off. */
  tabCacheTtlMs: number;
  /** `IMBI_TAB_CACHE_MAX_MB` in bytes: the response cache's bound; 0 turns it off. */
  tabCacheMaxBytes: number;
  /** Minimum age of a registry version before it may be installed; 0 is off. */
  minPackageAgeMs: number;
  /**
   * The npm registry of plugin packages (and their dependencies when bundled): `IMBI_NPM_REGISTRY`, else
   * `NPM_CONFIG_REGISTRY` (`bin/deno` turns an operator's `NPM_CONFIG_REGISTRY` into `IMBI_NPM_REGISTRY` before it
   * gives Deno the service's own registry); unset: the package store's default (the public registry).
   */
  npmRegistry: string | undefined;
  /** The JSR registry of plugin packages: `IMBI_JSR_URL`, else `JSR_URL`; unset: the package store's default. */
  jsrUrl: string | undefined;
  /** Per-registry credentials from the `.npmrc` `IMBI_NPMRC` names (none when unset). */
  registryAuth: RegistryAuth;
  /** Deadline of one registry request, body included. */
  registryTimeoutMs: number;
  /** Attempts after the first when a registry request fails in a way that may pass. */
  registryRetries: number;
  /** Most bytes a plugin package may unpack to. */
  packageMaxBytes: number;
  /** Most files a plugin package may hold. */
  packageMaxFiles: number;
  /** `IMBI_MAX_BODY_BYTES`: the largest request body; a longer one is refused with 413 before it is read. */
  maxBodyBytes: number;
  /** `IMBI_CATALOG`; unset: the catalog versioned with the code (`plugins/catalog.json`). */
  catalogPath: string | undefined;
  logLevel: "debug" | "info" | "warn" | "error";
  /** `IMBI_REPLICA_ID`: this process's name in the audit log and `/admin/replicas`; unset: `<hostname>:<pid>`. */
  replicaId: string | undefined;
  /** Hosts plugin processes may reach: `IMBI_EGRESS_ALLOW`, `IMBI_EGRESS_DENY`, `IMBI_EGRESS_FILE` and the defaults. */
  egress: EgressPolicy;
  /** `IMBI_DEPLOYMENT`: the replicas sharing one lock state and replica list in the graph store. */
  deployment: string;
  /** `IMBI_LOCK_POLL_MS`: how often a replica reads the store's lock revision and writes its heartbeat. */
  lockPollMs: number;
  /** `IMBI_GRAPH_WAIT_MS`: how long start-up waits for an unreachable graph store before it gives up. */
  graphWaitMs: number;
}

/**
 * Parses a duration like `24h`, `90m`, `30s`, `2d`, `500ms` or `0`.
 *
 * @param text The duration.
 * @returns Milliseconds.
 * @throws {RangeError} When the text is not a duration.
 */
export function parseDuration(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!match) throw new RangeError(`"${text}" is not a duration (examples: 0, 500ms, 30s, 90m, 24h, 2d)`);
  const value = Number(match[1]);
  const unit = match[2] ?? (value === 0 ? "ms" : undefined);
  if (unit === undefined) throw new RangeError(`"${text}" needs a unit (ms, s, m, h or d)`);
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit]!;
  return Math.round(value * factor);
}

function integer(env: Record<string, string | undefined>, name: string, fallback: number, min: number, max: number) {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `"${raw}" is not a whole number`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `${value} is not between ${min} and ${max}`);
  return value;
}

function duration(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  try {
    return parseDuration(raw);
  } catch (error) {
    throw new ConfigError(name, (error as Error).message);
  }
}

function url(env: Record<string, string | undefined>, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  if (!URL.canParse(raw) || !/^https?:$/.test(new URL(raw).protocol)) {
    throw new ConfigError(name, `"${raw}" is not an http(s) URL`);
  }
  return raw;
}

function confineSettings(env: Record<string, string | undefined>): ConfineSettings {
  try {
    return parseConfineSettings(env);
  } catch (error) {
    if (error instanceof ConfineSettingError) throw new ConfigError(error.variable, error.reason);
    throw error;
  }
}

function registryAuth(env: Record<string, string | undefined>): RegistryAuth {
  const path = env.IMBI_NPMRC;
  if (path === undefined || path === "") return new RegistryAuth();
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    throw new ConfigError("IMBI_NPMRC", `cannot read ${path}: ${(error as Error).name}`);
  }
  try {
    return parseNpmrc(text, env);
  } catch (error) {
    throw new ConfigError("IMBI_NPMRC", `${path}: ${(error as Error).message}`);
  }
}

function metricsPort(env: Record<string, string | undefined>): number | undefined {
  if (!env.IMBI_METRICS_PORT) return undefined;
  const port = integer(env, "IMBI_METRICS_PORT", 0, 0, 65535);
  if (port !== 0 && port === integer(env, "IMBI_PORT", 8000, 0, 65535)) {
    throw new ConfigError("IMBI_METRICS_PORT", `${port} is IMBI_PORT too; give the metrics listener a port of its own`);
  }
  return port;
}

function egress(env: Record<string, string | undefined>): EgressPolicy {
  try {
    return egressPolicyFromEnv(env);
  } catch (error) {
    const message = (error as Error).message;
    const colon = message.indexOf(": ");
    throw new ConfigError(message.slice(0, colon), message.slice(colon + 2));
  }
}

/** Secrets that may come from a file: `<NAME>_FILE` names it (a mounted Kubernetes or Docker secret). */
export const SECRET_FILE_VARIABLES = ["IMBI_ADMIN_TOKEN", "IMBI_ENCRYPTION_KEYS", "IMBI_GRAPH_PASSWORD"] as const;

/**
 * Resolves `IMBI_ADMIN_TOKEN_FILE`, `IMBI_ENCRYPTION_KEYS_FILE` and
 * `IMBI_GRAPH_PASSWORD_FILE` into the variables they stand for (the file's
 * text, surrounding whitespace trimmed). Setting both a variable and its
 * `_FILE` is an error, as is a file that cannot be read or is empty.
 *
 * @param env The environment.
 * @returns The environment with the secrets read in (the `_FILE` variables removed).
 * @throws {ConfigError} Naming the `_FILE` variable at fault (never the secret).
 */
export function withSecretFiles(env: Record<string, string | undefined>): Record<string, string | undefined> {
  const out = { ...env };
  for (const name of SECRET_FILE_VARIABLES) {
    const fileVariable = `${name}_FILE`;
    const path = env[fileVariable];
    delete out[fileVariable];
    if (path === undefined || path === "") continue;
    if (env[name] !== undefined && env[name] !== "") {
      throw new ConfigError(fileVariable, `set either ${name} or ${fileVariable}, not both`);
    }
    let text: string;
    try {
      text = Deno.readTextFileSync(path).trim();
    } catch (error) {
      throw new ConfigError(fileVariable, `cannot read ${path}: ${(error as Error).name}`);
    }
    if (text === "") throw new ConfigError(fileVariable, `${path} is empty`);
    out[name] = text;
  }
  return out;
}

/**
 * Reads and validates the configuration.
 *
 * @param env The environment (`Deno.env.toObject()` in `main.ts`).
 * @returns The configuration with defaults applied.
 * @throws {ConfigError} Naming the first variable with a bad value.
 */
export function loadConfig(given: Record<string, string | undefined>): Config {
  const env = withSecretFiles(given);
  const dataDir = env.IMBI_DATA_DIR || "./data";
  const token = env.IMBI_ADMIN_TOKEN;
  if (token !== undefined && token !== "" && token.length < 16) {
    throw new ConfigError("IMBI_ADMIN_TOKEN", "must be at least 16 characters long");
  }
  const readTokens = (env.IMBI_READ_TOKENS ?? "").split(",").map((t) => t.trim()).filter(Boolean);
  for (const t of readTokens) {
    if (t.length < 16) throw new ConfigError("IMBI_READ_TOKENS", "every token must be at least 16 characters long");
  }
  const graphUrl = env.IMBI_GRAPH_URL;
  let graph: Config["graph"];
  if (graphUrl === undefined || graphUrl === "") {
    graph = { kind: "sqlite", path: `${dataDir}/graph.sqlite` };
  } else if (/^(neo4j|neo4j\+s|neo4j\+ssc|bolt|bolt\+s|bolt\+ssc):\/\/[^/\s]+/.test(graphUrl)) {
    graph = {
      kind: "neo4j",
      url: graphUrl,
      user: env.IMBI_GRAPH_USER || "neo4j",
      password: env.IMBI_GRAPH_PASSWORD ?? "",
    };
  } else {
    throw new ConfigError("IMBI_GRAPH_URL", `"${graphUrl}" is not a neo4j:// or bolt:// URL`);
  }
  const logLevel = env.IMBI_LOG_LEVEL || "info";
  if (!["debug", "info", "warn", "error"].includes(logLevel)) {
    throw new ConfigError("IMBI_LOG_LEVEL", `"${logLevel}" is not one of debug, info, warn, error`);
  }
  const host = env.IMBI_HOST || "127.0.0.1";
  if (!/^[A-Za-z0-9.:\[\]-]+$/.test(host)) {
    throw new ConfigError("IMBI_HOST", `"${host}" is not a host name or address`);
  }
  const replicaId = env.IMBI_REPLICA_ID || undefined;
  if (replicaId !== undefined && !/^[A-Za-z0-9._:@-]{1,128}$/.test(replicaId)) {
    throw new ConfigError("IMBI_REPLICA_ID", `"${replicaId}" must be 1 to 128 letters, digits or . _ : @ -`);
  }
  const deployment = env.IMBI_DEPLOYMENT || "default";
  if (!DEPLOYMENT_PATTERN.test(deployment)) {
    throw new ConfigError("IMBI_DEPLOYMENT", `"${deployment}" must be 1 to 64 letters, digits or . _ -`);
  }
  const registryTimeoutMs = duration(env, "IMBI_REGISTRY_TIMEOUT", 30_000);
  const pluginProcessesMax = integer(
    env,
    "IMBI_PLUGIN_PROCESSES_MAX",
    Math.max(1, navigator.hardwareConcurrency || 1),
    1,
    256,
  );
  const pluginProcessesMin = integer(env, "IMBI_PLUGIN_PROCESSES_MIN", 0, 0, 256);
  if (pluginProcessesMin > pluginProcessesMax) {
    throw new ConfigError(
      "IMBI_PLUGIN_PROCESSES_MIN",
      `${pluginProcessesMin} is above IMBI_PLUGIN_PROCESSES_MAX (${pluginProcessesMax})`,
    );
  }
  if (registryTimeoutMs < 100) throw new ConfigError("IMBI_REGISTRY_TIMEOUT", "must be at least 100ms");
  return {
    port: integer(env, "IMBI_PORT", 8000, 0, 65535),
    host,
    metricsPort: metricsPort(env),
    dataDir,
    lockfilePath: env.IMBI_LOCKFILE || "./plugins.lock.json",
    adminToken: token || undefined,
    readTokens,
    encryptionKeys: env.IMBI_ENCRYPTION_KEYS || undefined,
    graph,
    pluginTimeoutMs: duration(env, "IMBI_PLUGIN_TIMEOUT", 10_000),
    pluginHeapMb: integer(env, "IMBI_PLUGIN_HEAP_MB", 128, 16, 4096),
    pluginMaxConcurrent: integer(env, "IMBI_PLUGIN_MAX_CONCURRENT", 8, 1, 1024),
    pluginIdleMs: duration(env, "IMBI_PLUGIN_IDLE", 300_000),
    confine: confineSettings(env),
    pluginProcessesMin,
    pluginProcessesMax,
    pluginQueueMax: integer(env, "IMBI_PLUGIN_QUEUE_MAX", 256, 1, 100_000),
    pluginMaxAnswerBytes: integer(env, "IMBI_PLUGIN_MAX_ANSWER_MB", 16, 1, 1024) * 1024 * 1024,
    shutdownGraceMs: integer(env, "IMBI_SHUTDOWN_GRACE_MS", 10_000, 0, 3_600_000),
    tabCacheTtlMs: integer(env, "IMBI_TAB_CACHE_TTL_MS", 30_000, 0, 86_400_000),
    tabCacheMaxBytes: integer(env, "IMBI_TAB_CACHE_MAX_MB", 64, 0, 65_536) * 1024 * 1024,
    minPackageAgeMs: duration(env, "IMBI_MIN_PACKAGE_AGE", 86_400_000),
    npmRegistry: url(env, "IMBI_NPM_REGISTRY") ?? url(env, "NPM_CONFIG_REGISTRY"),
    jsrUrl: url(env, "IMBI_JSR_URL") ?? url(env, "JSR_URL"),
    registryAuth: registryAuth(env),
    registryTimeoutMs,
    registryRetries: integer(env, "IMBI_REGISTRY_RETRIES", 2, 0, 10),
    packageMaxBytes: integer(env, "IMBI_PACKAGE_MAX_SIZE_MB", 100, 1, 4096) * 1024 * 1024,
    packageMaxFiles: integer(env, "IMBI_PACKAGE_MAX_FILES", 10_000, 1, 1_000_000),
    maxBodyBytes: integer(env, "IMBI_MAX_BODY_BYTES", 1_048_576, 1024, 1_073_741_824),
    catalogPath: env.IMBI_CATALOG || undefined,
    logLevel: logLevel as Config["logLevel"],
    replicaId,
    egress: egress(env),
    deployment,
    lockPollMs: integer(env, "IMBI_LOCK_POLL_MS", 2000, 100, 60_000),
    graphWaitMs: integer(env, "IMBI_GRAPH_WAIT_MS", 120_000, 0, 3_600_000),
  };
}
