/**
 * The supervisor of one Plugin node's sandbox (spec section 5): it spawns
 * the node's plugin process on demand, multiplexes concurrent calls over
 * it, enforces per-call deadlines and a concurrency cap, replaces a failed
 * process after a back-off, reaps it when idle, drains and closes it. The
 * process itself is {@linkcode PluginProcess}; the service keeps one
 * supervisor per node in a {@linkcode SandboxPool}.
 *
 * See `docs/sandbox.md` for flags, protocol, limits and what is contained.
 *
 * @module
 */

import type { HandlerInit, ProtocolMethod } from "@imbi/plugin-sdk/types";
import { PROTOCOL_METHODS } from "@imbi/plugin-sdk/types";
import { isHandlerErrorKind } from "@imbi/plugin-sdk/errors";
import { PluginCallError } from "../errors.ts";
import { log } from "../logger.ts";
import type { WireError } from "./protocol.ts";
import {
  checkBundlePath,
  defaultDenoDir,
  defaultRssMb,
  type Failure,
  PluginProcess,
  PROCESS_DEFAULTS,
  toFileUrl,
} from "./process.ts";
import { makeRedactor } from "./redact.ts";

/** What one plugin process serves. */
export interface SandboxSpec {
  /** Plugin node id, for logs and process naming. */
  nodeId: string;
  /** Absolute path of the package's single-file ESM bundle. */
  bundlePath: string;
  /** Manifest slug of the handler class to construct. */
  entry: string;
  /** Exact `host:port` entries for `--allow-net` (empty: no network at all). */
  netHosts: string[];
  /** Passed to the handler constructor (contains decrypted credentials). */
  init: HandlerInit;
  /** Further secret values (the node's secret options) redacted like its credentials. */
  secrets?: Record<string, string>;
  /** Per-call deadline. */
  timeoutMs: number;
}

/** Limits and timings of a supervisor; every field has a default. */
export interface SupervisorOptions {
  /** Calls in flight per process before `saturated` (default 8). */
  maxConcurrent: number;
  /** V8 old-space cap of the child, MiB (default 128). */
  heapMb: number;
  /**
   * Memory cap of the child, MiB (default `2 × heapMb + 256`, 512 for the
   * default heap). The V8 heap cap does not cover ArrayBuffers, Wasm memory or
   * Workers; this cap does, enforced by the confinement (`confine.ts`: a
   * cgroup, else `RLIMIT_DATA`).
   */
  rssMb: number;
  /** Largest frame either side accepts (default 16 MiB). */
  maxFrameBytes: number;
  /** An idle process is shut down after this long (default 300 000 ms). */
  idleMs: number;
  /** First respawn back-off after a failure (default 250 ms); doubles per failure. */
  backoffInitialMs: number;
  /** Back-off ceiling (default 30 000 ms). */
  backoffMaxMs: number;
  /** `DENO_DIR` of the child (default: the host's `DENO_DIR`, else Deno's default under `HOME`). */
  denoDir?: string;
  /** Deadline from spawn to `ready` (default 10 000 ms). */
  startTimeoutMs: number;
  /** Grace between asking a child to exit and SIGKILL (default 500 ms). */
  graceMs: number;
  /** Clock for back-off decisions (default `Date.now`); tests pass a fake one. */
  now: () => number;
}

/** A snapshot of a supervisor, for health pages and tests. */
export interface SupervisorStats {
  /** The live process's id, or null when none runs. */
  pid: number | null;
  /** `idle`, `starting`, `ready`, `backoff`, `draining` or `closed`. */
  state: string;
  /** Calls in flight. */
  inFlight: number;
  /** Processes started so far. */
  spawns: number;
  /** How the last process ended and why, e.g. `code 0 (idle)`. */
  lastExit: string | null;
}

const DEFAULTS: SupervisorOptions = {
  ...PROCESS_DEFAULTS,
  maxConcurrent: 8,
  rssMb: 0, // computed from heapMb unless given
  idleMs: 300_000,
  backoffInitialMs: 250,
  backoffMaxMs: 30_000,
  startTimeoutMs: 10_000,
  graceMs: 500,
  now: () => Date.now(),
};

const ALL_METHODS: ReadonlySet<string> = new Set(Object.values(PROTOCOL_METHODS).flat());
const NET_ENTRY = /^(?:[a-z0-9_.-]+|\[[0-9a-f:.]+\]):[0-9]{1,5}$/;

/**
 * Supervises the process of one Plugin node. The process starts on the
 * first call and serves many calls, concurrently, until it fails, idles out,
 * is drained or closed. A failed process is replaced, never reused: after a
 * failure, calls answer `crashed` (with `retryAfterSeconds`) until the
 * back-off has passed; the next call then starts a fresh process.
 *
 * @example
 * ```ts
 * const supervisor = new Supervisor(spec);
 * const keys = await supervisor.call("listKeys", [ctx], { requestId: ctx.request_id });
 * await supervisor.drain();
 * ```
 */
export class Supervisor {
  #spec: SandboxSpec;
  #options: SupervisorOptions;
  #scrub: (text: string) => string;
  #process: PluginProcess | null = null;
  #ready: Promise<PluginProcess> | null = null;
  #state: "idle" | "starting" | "ready" | "draining" | "closed" = "idle";
  #inFlight = 0;
  #spawns = 0;
  #lastExit: string | null = null;
  #backoffMs: number;
  #retryAt = 0;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #idleWaiters: (() => void)[] = [];
  #retired = new Set<Promise<void>>();
  #rejectStart: ((error: PluginCallError) => void) | null = null;

  /**
   * Makes the supervisor of one node; no process starts until the first call.
   *
   * @param spec What the process serves.
   * @param options Limits; defaults as in {@link SupervisorOptions}.
   * @throws {TypeError} When the bundle path or a net entry is unusable as a flag value.
   */
  constructor(spec: SandboxSpec, options: Partial<SupervisorOptions> = {}) {
    checkBundlePath(spec.bundlePath);
    for (const host of spec.netHosts) {
      if (!NET_ENTRY.test(host)) throw new TypeError(`Cannot sandbox ${spec.nodeId}: bad net entry "${host}"`);
    }
    this.#spec = spec;
    this.#options = { ...DEFAULTS, ...withoutUndefined(options) };
    if (options.rssMb === undefined) this.#options.rssMb = defaultRssMb(this.#options.heapMb);
    this.#scrub = makeRedactor({ ...spec.secrets, ...spec.init.credentials });
    this.#backoffMs = this.#options.backoffInitialMs;
  }

  /**
   * Replaces every credential value of this node (and its JSON-escaped form)
   * in a text with `[redacted]`. The host runs plugin answers through this so
   * a plugin cannot hand its own credentials to a caller.
   *
   * @param text Any text, e.g. a serialised result.
   * @returns The text with credentials replaced.
   */
  redact(text: string): string {
    return this.#scrub(text);
  }

  /** A snapshot for health pages and tests. */
  get stats(): SupervisorStats {
    let state: string = this.#state;
    if (state === "idle" && this.#options.now() < this.#retryAt) state = "backoff";
    return {
      pid: this.#process?.pid ?? null,
      state,
      inFlight: this.#inFlight,
      spawns: this.#spawns,
      lastExit: this.#lastExit,
    };
  }

  /**
   * Calls a handler method in the plugin process.
   *
   * @param method A protocol method name.
   * @param args Its arguments (JSON).
   * @param options `requestId` for logs.
   * @returns The handler's result, as JSON.
   * @throws {PluginCallError} `timeout` (deadline overrun), `crashed` (the process
   *   died, is backing off, draining or closed), `saturated` (too many calls in
   *   flight), `protocol` (a bad frame), a handler kind (typed SDK error),
   *   `invalid_input` (method not implemented), or `internal` (anything else
   *   the handler threw; the message is for logs only).
   */
  async call(method: ProtocolMethod, args: unknown[], options: { requestId: string }): Promise<unknown> {
    const { entry, nodeId } = this.#spec;
    if (!ALL_METHODS.has(method)) {
      throw new PluginCallError("invalid_input", `plugin "${entry}" does not implement ${method}`, {
        notImplemented: true,
      });
    }
    if (this.#state === "closed" || this.#state === "draining") {
      throw new PluginCallError("crashed", `the sandbox of ${nodeId} is ${this.#state}`, { retryAfterSeconds: 1 });
    }
    if (this.#inFlight >= this.#options.maxConcurrent) {
      throw new PluginCallError(
        "saturated",
        `plugin "${entry}" has ${this.#inFlight} calls in flight (limit ${this.#options.maxConcurrent})`,
        { retryAfterSeconds: 1 },
      );
    }
    const wait = this.#retryAt - this.#options.now();
    if (this.#process === null && wait > 0) {
      throw new PluginCallError("crashed", `plugin "${entry}" is restarting after a failure`, {
        retryAfterSeconds: Math.max(1, Math.ceil(wait / 1000)),
      });
    }
    this.#inFlight++;
    clearTimeout(this.#idleTimer);
    try {
      const proc = await this.#started();
      const answer = await proc.call(method, args, { requestId: options.requestId, timeoutMs: this.#spec.timeoutMs });
      this.#backoffMs = this.#options.backoffInitialMs;
      if (answer.ok) return answer.value;
      throw this.#handlerError(method, answer.error);
    } finally {
      this.#inFlight--;
      if (this.#inFlight === 0) this.#onIdle();
    }
  }

  /**
   * Refuses new calls, waits for the calls in flight, then shuts the process
   * down (SIGKILL after the grace period).
   */
  async drain(): Promise<void> {
    if (this.#state === "closed") return await this.#settled();
    this.#state = "draining";
    if (this.#inFlight > 0) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    clearTimeout(this.#idleTimer);
    this.#retire(this.#process, "drained");
    this.#state = "closed";
    await this.#settled();
  }

  /** Kills the process now; calls in flight fail with `crashed`. */
  async close(): Promise<void> {
    this.#state = "closed";
    clearTimeout(this.#idleTimer);
    const closed = () =>
      new PluginCallError("crashed", `the sandbox of ${this.#spec.nodeId} was closed`, { retryAfterSeconds: 1 });
    this.#rejectStart?.(closed());
    const proc = this.#process;
    if (proc) {
      proc.rejectAll(closed);
      this.#retire(proc, "closed");
    }
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
    await this.#settled();
  }

  async #settled(): Promise<void> {
    while (this.#retired.size > 0) await Promise.all(this.#retired);
  }

  /** Shuts a process down on purpose and forgets it. */
  #retire(proc: PluginProcess | null, why: string): void {
    if (proc === null) return;
    if (this.#process === proc) {
      this.#process = null;
      this.#ready = null;
    }
    const done = proc.shutdown(this.#options.graceMs).then(() => {
      this.#lastExit = `${proc.exit} (${why})`;
      this.#retired.delete(done);
    });
    this.#retired.add(done);
  }

  #onIdle(): void {
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
    if (this.#state !== "ready" || this.#process === null) return;
    this.#idleTimer = setTimeout(() => {
      if (this.#inFlight > 0 || this.#state !== "ready") return;
      log.info("plugin process idle, shutting down", { nodeId: this.#spec.nodeId, pid: this.#process?.pid });
      this.#state = "idle";
      this.#retire(this.#process, "idle");
    }, this.#options.idleMs);
  }

  #started(): Promise<PluginProcess> {
    if (this.#ready === null) this.#ready = this.#spawn();
    return this.#ready;
  }

  #spawn(): Promise<PluginProcess> {
    const { nodeId, entry, bundlePath, init } = this.#spec;
    this.#state = "starting";
    this.#spawns++;
    let settle!: { resolve: () => void; reject: (error: PluginCallError) => void };
    const ready = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    this.#rejectStart = settle.reject;
    const proc: PluginProcess = new PluginProcess({
      nodeId,
      bundlePath,
      netHosts: this.#spec.netHosts,
      heapMb: this.#options.heapMb,
      rssMb: this.#options.rssMb,
      maxFrameBytes: this.#options.maxFrameBytes,
      denoDir: this.#options.denoDir ?? defaultDenoDir(),
      scrub: this.#scrub,
      onMessage: (message) => {
        if (message.type === "ready" && this.#process === proc && this.#state === "starting") {
          this.#state = "ready";
          const ms = Math.round(performance.now() - proc.startedAt);
          log.info("plugin process ready", { nodeId, pid: proc.pid, ms });
          settle.resolve();
        } else if (message.type === "init_failed" && this.#state === "starting") {
          const why = this.#scrub(message.error.message);
          const kind = isHandlerErrorKind(message.error.kind) ? message.error.kind : "crashed";
          settle.reject(new PluginCallError(kind, `plugin "${entry}" failed to start: ${why}`));
          proc.fail({ cause: "crashed", detail: `failed to start: ${why}` });
        } else if (message.type === "fatal") {
          proc.fail({ cause: "crashed", detail: this.#scrub(message.message) });
        } else {
          proc.fail({ cause: "protocol", detail: `unexpected "${message.type}" message` });
        }
      },
      onFailure: (failure) => this.#onFailure(proc, failure, settle.reject),
    });
    this.#process = proc;
    log.debug("plugin process spawned", { nodeId, pid: proc.pid, bundle: bundlePath });
    try {
      proc.send({ type: "init", bundle: toFileUrl(bundlePath), entry, methods: methodLists(), init });
    } catch (error) {
      proc.fail({ cause: "crashed", detail: `cannot send init: ${this.#scrub(String(error))}` });
    }
    const startTimer = setTimeout(
      () => proc.fail({ cause: "crashed", detail: `not ready within ${this.#options.startTimeoutMs} ms` }),
      this.#options.startTimeoutMs,
    );
    return ready.then(() => proc).finally(() => {
      clearTimeout(startTimer);
      if (this.#rejectStart === settle.reject) this.#rejectStart = null;
    });
  }

  #onFailure(proc: PluginProcess, failure: Failure, rejectStart: (error: PluginCallError) => void): void {
    const { nodeId, entry, timeoutMs } = this.#spec;
    const now = this.#options.now();
    this.#retryAt = now + this.#backoffMs;
    this.#backoffMs = Math.min(this.#backoffMs * 2, this.#options.backoffMaxMs);
    const retryAfterSeconds = this.#retryAfterSeconds();
    const detail = failure.cause === "timeout" ? `a call overran its ${timeoutMs} ms deadline` : failure.detail;
    log.warn("plugin process failed", { nodeId, pid: proc.pid, cause: failure.cause, detail, retryAfterSeconds });
    if (this.#process === proc) {
      this.#process = null;
      this.#ready = null;
      if (this.#state === "starting" || this.#state === "ready") this.#state = "idle";
    }
    proc.rejectAll((id, method) => {
      if (failure.cause === "timeout" && id === failure.callId) {
        return new PluginCallError("timeout", `plugin "${entry}" did not answer ${method} within ${timeoutMs} ms`);
      }
      if (failure.cause === "protocol") {
        return new PluginCallError("protocol", `plugin "${entry}" broke the channel: ${detail}`);
      }
      if (failure.cause === "memory") {
        return new PluginCallError("memory", `plugin "${entry}" process ${detail}`, { retryAfterSeconds });
      }
      return new PluginCallError("crashed", `plugin "${entry}" process failed: ${detail}`, { retryAfterSeconds });
    });
    rejectStart(new PluginCallError("crashed", `plugin "${entry}" process failed: ${detail}`, { retryAfterSeconds }));
    const done = proc.closed.then(() => {
      this.#lastExit = `${proc.exit} (${failure.cause})`;
      this.#retired.delete(done);
    });
    this.#retired.add(done);
  }

  #retryAfterSeconds(): number {
    return Math.max(1, Math.ceil((this.#retryAt - this.#options.now()) / 1000));
  }

  #handlerError(method: string, error: WireError): PluginCallError {
    const entry = this.#spec.entry;
    const message = this.#scrub(error.message);
    switch (error.code) {
      case "not_implemented":
        return new PluginCallError("invalid_input", `plugin "${entry}" does not implement ${method}`, {
          notImplemented: true,
        });
      case "too_large":
        return new PluginCallError("protocol", `plugin "${entry}" answered ${method} with ${message}`);
      case "bad_result":
        return new PluginCallError("internal", `plugin "${entry}" answered ${method} with a value that is not JSON`);
      case "thrown":
        if (isHandlerErrorKind(error.kind)) {
          const options = error.retry_after !== undefined && error.retry_after >= 0
            ? { retryAfterSeconds: Math.ceil(error.retry_after) }
            : {};
          return new PluginCallError(error.kind, message, options);
        }
        return new PluginCallError(
          "internal",
          `plugin "${entry}" ${method} threw ${error.name ?? "a value"}: ${message}`,
        );
    }
  }
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function methodLists(): Record<string, string[]> {
  return Object.fromEntries(Object.entries(PROTOCOL_METHODS).map(([type, list]) => [type, [...list]]));
}
