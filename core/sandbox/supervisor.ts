/**
 * The supervisor of one Plugin node's sandbox (spec section 5): it starts
 * the node's plugin processes on demand (one, then more under load up to a
 * maximum), sends each call to the least-loaded one, lets calls that find
 * every process busy wait in a bounded queue inside their deadline, replaces
 * a failed process after a back-off, reaps idle extras, drains and closes
 * them. The process itself is {@linkcode PluginProcess}; the service keeps
 * one supervisor per node in a {@linkcode SandboxPool}.
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
import type { ChildMessage } from "./protocol.ts";
import { handlerError } from "./handler_errors.ts";
import { checkBundlePath, type Failure, pluginDenoDir, PluginProcess, toFileUrl } from "./process.ts";
import { CallQueue, type QueuedCall } from "./queue.ts";
import { Deadlines } from "./deadlines.ts";
import { makeRedactor } from "./redact.ts";
import type { EncodeAs } from "../encoded_list.ts";
import { type PluginCallTrace, tracePluginCall } from "../ops/tracing.ts";
import type { ExitCause, ProcessStats, SupervisorEvent, SupervisorStats } from "./stats.ts";
import { type SupervisorOptions, supervisorOptions } from "./supervisor_options.ts";

export type { ExitCause, ProcessStats, SupervisorEvent, SupervisorStats } from "./stats.ts";
export { defaultMaxProcesses, type SupervisorOptions } from "./supervisor_options.ts";

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

const ALL_METHODS: ReadonlySet<string> = new Set(Object.values(PROTOCOL_METHODS).flat());
const NET_ENTRY = /^(?:[a-z0-9_.-]+|\[[0-9a-f:.]+\]):[0-9]{1,5}$/;

/** The options of {@linkcode Supervisor.call}. */
export interface CallOptions {
  /** The host request's id, for the child's logs. */
  requestId: string;
  /** The caller's own deadline, ms, when shorter than the node's. */
  timeoutMs?: number;
  /** A long `listKeys` or `getValues` answer may come back as an `EncodedList` (`core/encoded_list.ts`). */
  encode?: EncodeAs | undefined;
}

interface Slot {
  proc: PluginProcess;
  ready: boolean;
  /** Set when the process failed to start: what the calls waiting for it are told. */
  startError?: PluginCallError;
  /** Clears the start deadline. */
  onReady?: () => void;
}

/**
 * Supervises the processes of one Plugin node. The first process starts on
 * the first call; while calls wait for a free process, more start, up to
 * `maxProcesses`; idle ones above `minProcesses` are reaped. A call goes to
 * the least-loaded ready process, or waits in a FIFO queue of at most
 * `queueMax` calls inside its own deadline. A failed process is replaced,
 * never reused: when none is left, calls answer `crashed` (with
 * `retryAfterSeconds`) until the back-off has passed.
 *
 * @example
 * ```ts
 * const supervisor = new Supervisor(spec, { maxProcesses: 4 });
 * const keys = await supervisor.call("listKeys", [ctx], { requestId: ctx.request_id });
 * await supervisor.drain();
 * ```
 */
export class Supervisor {
  #spec: SandboxSpec;
  #options: SupervisorOptions;
  #scrub: (text: string) => string;
  /** The values {@linkcode Supervisor.#scrub} redacts. */
  #secrets: Record<string, string>;
  #slots: Slot[] = [];
  #queue: CallQueue<unknown>;
  #idle: Deadlines<Slot>;
  #callerDeadlines = new Deadlines<() => void>((expire) => expire());
  #state: "open" | "draining" | "closed" = "open";
  #inFlight = 0;
  #spawns = 0;
  #exits: Record<ExitCause, number> = { crash: 0, timeout: 0, memory: 0, idle: 0, drain: 0, close: 0 };
  #queueFull = 0;
  #queueTimeouts = 0;
  #lastExit: string | null = null;
  #backoffMs: number;
  #retryAt = 0;
  #idleWaiters: (() => void)[] = [];
  #retired = new Set<Promise<void>>();

  /**
   * Makes the supervisor of one node; no process starts until the first call.
   *
   * @param spec What the processes serve.
   * @param options Limits; defaults as in {@link SupervisorOptions}.
   * @throws {TypeError} When the bundle path or a net entry is unusable as a flag value.
   * @throws {RangeError} When `minProcesses` exceeds `maxProcesses` or a count is below 1.
   */
  constructor(spec: SandboxSpec, options: Partial<SupervisorOptions> = {}) {
    checkBundlePath(spec.bundlePath);
    for (const host of spec.netHosts) {
      if (!NET_ENTRY.test(host)) throw new TypeError(`Cannot sandbox ${spec.nodeId}: bad net entry "${host}"`);
    }
    this.#spec = spec;
    this.#options = supervisorOptions(spec.nodeId, options);
    this.#secrets = { ...spec.secrets, ...spec.init.credentials };
    this.#scrub = makeRedactor(this.#secrets);
    this.#backoffMs = this.#options.backoffInitialMs;
    this.#queue = new CallQueue(this.#options.queueMax, (call) => this.#expired(call));
    this.#idle = new Deadlines((slot) => this.#reapIdle(slot));
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

  /** A snapshot for health pages, metrics and tests. */
  get stats(): SupervisorStats {
    const processes = this.#slots.map(({ proc, ready }): ProcessStats => ({
      pid: proc.pid,
      state: ready ? "ready" : "starting",
      inFlight: proc.inFlight,
    }));
    let state: string = this.#state;
    if (state === "open") {
      if (processes.some((p) => p.state === "ready")) state = "ready";
      else if (processes.length > 0) state = "starting";
      else state = this.#options.now() < this.#retryAt ? "backoff" : "idle";
    }
    return {
      pid: processes[0]?.pid ?? null,
      state,
      inFlight: this.#inFlight,
      queued: this.#queue.length,
      processes,
      spawns: this.#spawns,
      exits: { ...this.#exits },
      queueFull: this.#queueFull,
      queueTimeouts: this.#queueTimeouts,
      lastExit: this.#lastExit,
    };
  }

  /**
   * Calls a handler method in one of the node's processes: the least-loaded
   * ready one, or, when all are busy, after waiting in the queue.
   *
   * @param method A protocol method name.
   * @param args Its arguments (JSON).
   * @param options `requestId` for logs; `timeoutMs`, the caller's own
   *   deadline when shorter than the node's (it covers the wait in the queue
   *   and the call); `encode`, when a long `listKeys` or `getValues` answer may come back as an
   *   `EncodedList` (checked and serialised on the answer worker's thread, `core/encoded_list.ts`).
   * @returns The handler's result, as JSON (or an `EncodedList`, with `encode`).
   * @throws {PluginCallError} `timeout` (the deadline passed, in the queue or in
   *   the handler), `crashed` (the process died, none is left and it is backing
   *   off, draining or closed), `saturated` (the queue is full), `too_large`
   *   (the answer exceeds the frame size or nesting bound), `protocol` (a bad
   *   frame), a handler kind (typed SDK error), `invalid_input` (method not
   *   implemented), or `internal` (anything else the handler threw; the message
   *   is for logs only).
   */
  call(method: ProtocolMethod, args: unknown[], options: CallOptions): Promise<unknown> {
    const { entry: plugin, nodeId } = this.#spec;
    return tracePluginCall({ plugin, nodeId, method }, (trace) => this.#call(method, args, options, trace));
  }

  #call(
    method: ProtocolMethod,
    args: unknown[],
    options: CallOptions,
    trace: PluginCallTrace,
  ): Promise<unknown> {
    const { entry, nodeId } = this.#spec;
    if (!ALL_METHODS.has(method)) {
      return Promise.reject(
        new PluginCallError("invalid_input", `plugin "${entry}" does not implement ${method}`, {
          notImplemented: true,
        }),
      );
    }
    if (this.#state !== "open") {
      const state = this.#state;
      return Promise.reject(
        new PluginCallError("crashed", `the sandbox of ${nodeId} is ${state}`, { retryAfterSeconds: 1 }),
      );
    }
    const now = performance.now();
    const timeoutMs = Math.min(this.#spec.timeoutMs, options.timeoutMs ?? Infinity);
    const deadline = now + timeoutMs;
    if (this.#queue.length === 0) {
      const slot = this.#leastLoaded();
      if (slot !== undefined) {
        return this.#dispatch(
          slot,
          { method, args, requestId: options.requestId, encode: options.encode },
          deadline,
          trace,
        );
      }
    }
    const wait = this.#retryAt - this.#options.now();
    if (this.#slots.length === 0 && wait > 0) {
      return Promise.reject(
        new PluginCallError("crashed", `plugin "${entry}" is restarting after a failure`, {
          retryAfterSeconds: Math.max(1, Math.ceil(wait / 1000)),
        }),
      );
    }
    if (this.#queue.full) {
      this.#queueFull++;
      this.#emit({ type: "queue_full", nodeId, queued: this.#queue.length });
      return Promise.reject(
        new PluginCallError(
          "saturated",
          `plugin "${entry}" has ${this.#inFlight} calls in flight and ${this.#queue.length} waiting ` +
            `(queue limit ${this.#options.queueMax})`,
          { retryAfterSeconds: 1 },
        ),
      );
    }
    // With no process ready the call waits for a start, which has its own deadline: the call's starts when a
    // process is there to take it (CallQueue.started). Otherwise the node is busy, and waiting counts.
    const queued = !this.#slots.some((slot) => slot.ready) ? Infinity : deadline;
    return new Promise((resolve, reject) => {
      const { requestId } = options;
      this.#queue.push({
        method,
        args,
        requestId,
        encode: options.encode,
        deadline: queued,
        timeoutMs,
        enqueuedAt: now,
        trace,
        resolve,
        reject,
      });
      this.#pump();
    });
  }

  /**
   * Refuses new calls, lets the calls in flight and in the queue finish, then
   * shuts the processes down (SIGKILL after the grace period).
   */
  async drain(): Promise<void> {
    if (this.#state === "closed") return await this.#settled();
    this.#state = "draining";
    if (this.#inFlight > 0 || this.#queue.length > 0) {
      await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    }
    this.#idle.stop();
    this.#callerDeadlines.stop();
    this.#queue.takeAll();
    for (const slot of [...this.#slots]) this.#retire(slot, "drain");
    this.#state = "closed";
    await this.#settled();
  }

  /**
   * Starts processes before calls need them (a reload starts a busy node's next ones), up to `count` and
   * `maxProcesses`. Idle ones are reaped as usual.
   *
   * @param count How many processes the node should have.
   * @returns Resolves once each process started here is ready or gone.
   */
  warm(count: number): Promise<void> {
    const started: Promise<void>[] = [];
    while (this.#state === "open" && this.#slots.length < Math.min(count, this.#options.maxProcesses)) {
      this.#spawn();
      const slot = this.#slots.at(-1)!;
      started.push(
        new Promise((resolve) => {
          const onReady = slot.onReady;
          slot.onReady = () => (onReady?.(), resolve());
          void slot.proc.closed.then(() => resolve());
        }),
      );
    }
    return Promise.all(started).then(() => {});
  }

  /** Kills the processes now; calls in flight and waiting fail with `crashed`. */
  async close(): Promise<void> {
    this.#state = "closed";
    this.#idle.stop();
    this.#callerDeadlines.stop();
    const closed = () =>
      new PluginCallError("crashed", `the sandbox of ${this.#spec.nodeId} was closed`, { retryAfterSeconds: 1 });
    for (const call of this.#queue.takeAll()) call.reject(closed());
    for (const slot of [...this.#slots]) {
      slot.proc.rejectAll(closed);
      this.#retire(slot, "close");
    }
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
    await this.#settled();
  }

  async #settled(): Promise<void> {
    while (this.#retired.size > 0) await Promise.all(this.#retired);
  }

  #emit(event: SupervisorEvent): void {
    try {
      this.#options.onEvent?.(event);
    } catch (error) {
      log.error("a sandbox event listener threw", { error: String(error) });
    }
  }

  /** The ready process with the fewest calls in flight and room for one more. */
  #leastLoaded(): Slot | undefined {
    let best: Slot | undefined;
    for (const slot of this.#slots) {
      if (!slot.ready || slot.proc.done) continue;
      const load = slot.proc.inFlight;
      if (load < this.#options.maxConcurrent && (best === undefined || load < best.proc.inFlight)) best = slot;
    }
    return best;
  }

  /**
   * Sends a call to a process. The process gives it the node's whole
   * `timeoutMs` (overrunning that costs the process); a caller whose own
   * deadline is nearer (time spent in the queue, a shorter `timeoutMs`) gets
   * `timeout` at that deadline while the process finishes the call, so a
   * busy queue never kills a healthy process.
   */
  async #dispatch(
    slot: Slot,
    call: Pick<QueuedCall<unknown>, "method" | "args" | "requestId" | "encode">,
    deadline: number,
    trace: PluginCallTrace,
  ): Promise<unknown> {
    const { method, args, requestId, encode } = call;
    this.#inFlight++;
    this.#idle.delete(slot);
    const running = (async () => {
      try {
        const { timeoutMs } = this.#spec;
        const answer = await slot.proc.call(method, args, {
          requestId,
          timeoutMs,
          traceparent: trace.traceparent,
          encode,
        });
        trace.childSpans(answer.spans, this.#scrub);
        return answer;
      } finally {
        this.#inFlight--;
        this.#afterCall(slot);
      }
    })();
    const early = deadline - performance.now() < this.#spec.timeoutMs - 1;
    const answer = early ? await this.#byDeadline(running, deadline, method) : await running;
    this.#backoffMs = this.#options.backoffInitialMs;
    if (answer.ok) return answer.value;
    throw handlerError(this.#spec.entry, method, answer.error, this.#scrub);
  }

  /** The call's answer, or `timeout` once the caller's deadline passes. */
  #byDeadline<T>(answer: Promise<T>, deadline: number, method: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const expire = () =>
        reject(new PluginCallError("timeout", `plugin "${this.#spec.entry}" did not answer ${method} by its deadline`));
      this.#callerDeadlines.add(expire, deadline);
      answer.then(resolve, reject).finally(() => this.#callerDeadlines.delete(expire));
    });
  }

  #afterCall(slot: Slot): void {
    if (this.#queue.length > 0) this.#pump();
    if (slot.proc.inFlight === 0 && this.#slots.includes(slot)) {
      this.#idle.add(slot, performance.now() + this.#options.idleMs);
    }
    if (this.#inFlight === 0 && this.#queue.length === 0) {
      for (const resolve of this.#idleWaiters.splice(0)) resolve();
    }
  }

  /** Sends waiting calls to free processes; starts another process while calls still wait. */
  #pump(): void {
    while (this.#queue.length > 0) {
      const slot = this.#leastLoaded();
      if (slot === undefined) break;
      const call = this.#queue.shift()!;
      call.trace.queued(performance.now() - call.enqueuedAt);
      this.#dispatch(slot, call, call.deadline, call.trace).then(
        call.resolve,
        call.reject,
      );
    }
    if (this.#state === "closed") return;
    const backingOff = this.#options.now() < this.#retryAt;
    if (backingOff) return;
    const { maxConcurrent, maxProcesses, minProcesses } = this.#options;
    while (this.#slots.length < minProcesses) this.#spawn();
    if (this.#queue.length === 0 || this.#slots.length >= maxProcesses) return;
    const starting = this.#slots.filter((slot) => !slot.ready).length;
    if (starting * maxConcurrent < this.#queue.length) this.#spawn();
  }

  #expired(call: QueuedCall<unknown>): void {
    const { entry, nodeId } = this.#spec;
    const waitedMs = Math.round(performance.now() - call.enqueuedAt);
    this.#queueTimeouts++;
    this.#emit({ type: "queue_timeout", nodeId, waitedMs });
    call.reject(
      new PluginCallError(
        "timeout",
        `plugin "${entry}" was busy: ${call.method} waited ${waitedMs} ms in the queue until its deadline passed`,
      ),
    );
    if (this.#inFlight === 0 && this.#queue.length === 0) {
      for (const resolve of this.#idleWaiters.splice(0)) resolve();
    }
  }

  #reapIdle(slot: Slot): void {
    if (!this.#slots.includes(slot) || slot.proc.inFlight > 0 || this.#state !== "open") return;
    if (this.#slots.length <= this.#options.minProcesses) return;
    log.info("plugin process idle, shutting down", { nodeId: this.#spec.nodeId, pid: slot.proc.pid });
    this.#retire(slot, "idle");
  }

  /** Forgets a slot, counts how it ended and tells the listener. */
  #forget(slot: Slot, cause: ExitCause): void {
    const index = this.#slots.indexOf(slot);
    if (index < 0) return;
    this.#slots.splice(index, 1);
    this.#idle.delete(slot);
    this.#exits[cause]++;
    this.#emit({ type: "process_exited", nodeId: this.#spec.nodeId, pid: slot.proc.pid, cause });
  }

  /** Shuts a process down on purpose and forgets it. */
  #retire(slot: Slot, why: "idle" | "drain" | "close"): void {
    this.#forget(slot, why);
    const proc = slot.proc;
    const label = { idle: "idle", drain: "drained", close: "closed" }[why];
    const done = proc.shutdown(this.#options.graceMs).then(() => {
      this.#lastExit = `${proc.exit} (${label})`;
      this.#retired.delete(done);
    });
    this.#retired.add(done);
  }

  #spawn(): void {
    const { nodeId, entry, bundlePath, init } = this.#spec;
    this.#spawns++;
    const slot: Slot = {
      ready: false,
      proc: new PluginProcess({
        nodeId,
        bundlePath,
        netHosts: this.#spec.netHosts,
        heapMb: this.#options.heapMb,
        rssMb: this.#options.rssMb,
        maxFrameBytes: this.#options.maxFrameBytes,
        denoDir: this.#options.denoDir ?? pluginDenoDir(),
        scrub: this.#scrub,
        frameSecrets: this.#secrets,
        onLargeFrame: (bytes) => this.#emit({ type: "large_answer", nodeId, pid: slot.proc.pid, bytes }),
        onMessage: (message) => this.#onChildMessage(slot, message),
        onFailure: (failure) => this.#onFailure(slot, failure),
      }),
    };
    const proc = slot.proc;
    this.#slots.push(slot);
    log.debug("plugin process spawned", { nodeId, pid: proc.pid, bundle: bundlePath });
    try {
      proc.send({ type: "init", bundle: toFileUrl(bundlePath), entry, methods: methodLists(), init });
    } catch (error) {
      proc.fail({ cause: "crashed", detail: `cannot send init: ${this.#scrub(String(error))}` });
    }
    const startTimer = setTimeout(() => {
      if (!slot.ready) proc.fail({ cause: "crashed", detail: `not ready within ${this.#options.startTimeoutMs} ms` });
    }, this.#options.startTimeoutMs);
    void proc.closed.finally(() => clearTimeout(startTimer));
    slot.onReady = () => clearTimeout(startTimer);
  }

  #onChildMessage(slot: Slot, message: ChildMessage): void {
    const { nodeId, entry } = this.#spec;
    const proc = slot.proc;
    if (message.type === "ready" && !slot.ready && this.#slots.includes(slot)) {
      slot.ready = true;
      slot.onReady?.();
      const ms = Math.round(performance.now() - proc.startedAt);
      log.info("plugin process ready", { nodeId, pid: proc.pid, ms });
      this.#emit({ type: "process_started", nodeId, pid: proc.pid, ms });
      this.#queue.started(performance.now());
      this.#pump();
      if (proc.inFlight === 0) this.#idle.add(slot, performance.now() + this.#options.idleMs);
    } else if (message.type === "init_failed" && !slot.ready) {
      const why = this.#scrub(message.error.message);
      const kind = isHandlerErrorKind(message.error.kind) ? message.error.kind : "crashed";
      slot.startError = new PluginCallError(kind, `plugin "${entry}" failed to start: ${why}`);
      proc.fail({ cause: "crashed", detail: `failed to start: ${why}` });
    } else if (message.type === "fatal") {
      proc.fail({ cause: "crashed", detail: this.#scrub(message.message) });
    } else {
      proc.fail({ cause: "protocol", detail: `unexpected "${message.type}" message` });
    }
  }

  #onFailure(slot: Slot, failure: Failure): void {
    const { nodeId, entry, timeoutMs } = this.#spec;
    const proc = slot.proc;
    const now = this.#options.now();
    this.#retryAt = now + this.#backoffMs;
    this.#backoffMs = Math.min(this.#backoffMs * 2, this.#options.backoffMaxMs);
    const retryAfterSeconds = this.#retryAfterSeconds();
    const detail = failure.cause === "timeout" ? `a call overran its ${timeoutMs} ms deadline` : failure.detail;
    log.warn("plugin process failed", { nodeId, pid: proc.pid, cause: failure.cause, detail, retryAfterSeconds });
    const cause: ExitCause = failure.cause === "timeout" || failure.cause === "memory" ? failure.cause : "crash";
    this.#forget(slot, cause);
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
    if (this.#slots.length === 0) {
      // Nothing left to serve the waiting calls until the back-off has passed.
      const error = () =>
        slot.startError ??
          new PluginCallError("crashed", `plugin "${entry}" process failed: ${detail}`, { retryAfterSeconds });
      for (const call of this.#queue.takeAll()) call.reject(error());
      if (this.#inFlight === 0) { for (const resolve of this.#idleWaiters.splice(0)) resolve(); }
    }
    const done = proc.closed.then(() => {
      this.#lastExit = `${proc.exit} (${failure.cause})`;
      this.#retired.delete(done);
    });
    this.#retired.add(done);
  }

  #retryAfterSeconds(): number {
    return Math.max(1, Math.ceil((this.#retryAt - this.#options.now()) / 1000));
  }
}

function methodLists(): Record<string, string[]> {
  return Object.fromEntries(Object.entries(PROTOCOL_METHODS).map(([type, list]) => [type, [...list]]));
}
