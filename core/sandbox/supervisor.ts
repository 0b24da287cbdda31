/**
 * The plugin sandbox (spec section 5): each installed capability runs in its
 * own Deno subprocess with explicit permission flags, supervised here.
 *
 * - {@link Supervisor} owns the process of one Plugin node: spawns it on
 *   demand, multiplexes concurrent calls over one framed channel, enforces
 *   per-call deadlines and a concurrency cap, replaces a failed process
 *   (after a back-off), reaps it when idle, drains and closes it.
 * - {@link inspectBundle} reads a bundle's exported manifests in a child
 *   that has no permission but reading that one file.
 *
 * See `docs/sandbox.md` for flags, protocol, limits and what is contained.
 *
 * @module
 */

import type { HandlerInit, ProtocolMethod } from "@imbi/plugin-sdk/types";
import { PROTOCOL_METHODS } from "@imbi/plugin-sdk/types";
import { PluginCallError, type PluginErrorKind } from "../errors.ts";
import { log } from "../logger.ts";
import {
  type ChildMessage,
  DEFAULT_MAX_FRAME_BYTES,
  encodeFrame,
  FrameDecoder,
  FrameError,
  type HostMessage,
  type InspectedMessage,
  parseChildMessage,
  type WireError,
} from "./protocol.ts";

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
   * Resident memory cap of the child, MiB (default `2 × heapMb + 256`, 512 for
   * the default heap). The V8 heap cap does
   * not cover ArrayBuffers and other memory outside the heap; the supervisor
   * polls `/proc/<pid>/status` and kills a child above this.
   */
  rssMb: number;
  /** How often resident memory is polled, ms (default 500; 0 turns the poll off). */
  rssCheckMs: number;
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

const DEFAULTS: SupervisorOptions = {
  maxConcurrent: 8,
  heapMb: 128,
  rssMb: 0, // computed from heapMb unless given
  rssCheckMs: 500,
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  idleMs: 300_000,
  backoffInitialMs: 250,
  backoffMaxMs: 30_000,
  startTimeoutMs: 10_000,
  graceMs: 500,
  now: () => Date.now(),
};

/** The result of {@link inspectBundle}. */
export type InspectResult =
  | { ok: true; entries: { index: number; className: string; manifest: unknown }[] }
  | { ok: false; reason: string };

const BOOTSTRAP = new URL("./bootstrap.ts", import.meta.url);
const ALL_METHODS: ReadonlySet<string> = new Set(Object.values(PROTOCOL_METHODS).flat());
const HANDLER_KINDS: ReadonlySet<string> = new Set([
  "credentials_rejected",
  "not_found",
  "rate_limited",
  "upstream_unavailable",
  "cursor_expired",
  "invalid_input",
]);
const NET_ENTRY = /^(?:[a-z0-9_.-]+|\[[0-9a-f:.]+\]):[0-9]{1,5}$/;
const STDERR_LINE_MAX = 1000;
const STDERR_LINES_PER_SECOND = 20;
const REDACTED = "[redacted]";

// ------------------------------------------------------------ the process

/** Why a process stopped serving. */
type Failure = { cause: "timeout"; callId: number } | { cause: "crashed" | "protocol"; detail: string };

interface Pending {
  resolve: (answer: { ok: true; value: unknown } | { ok: false; error: WireError }) => void;
  reject: (error: PluginCallError) => void;
  timer: ReturnType<typeof setTimeout>;
  method: string;
}

interface ProcessOptions {
  nodeId: string;
  bundlePath: string;
  netHosts: string[];
  heapMb: number;
  rssMb: number;
  rssCheckMs: number;
  maxFrameBytes: number;
  denoDir: string | undefined;
  scrub: (text: string) => string;
  /** Non-call messages: ready, init_failed, inspected, fatal. */
  onMessage: (message: ChildMessage) => void;
  /** The process stopped serving (exactly once, unless it was shut down on purpose). */
  onFailure: (failure: Failure) => void;
}

/** Command-line arguments of a child: these and nothing else. */
function childArgs(
  options: Pick<ProcessOptions, "nodeId" | "bundlePath" | "netHosts" | "heapMb" | "maxFrameBytes">,
): string[] {
  const args = ["run", "--no-prompt", "--no-config", "--no-lock", "--no-npm", "--no-remote", "--cached-only"];
  args.push("--no-check");
  if (options.netHosts.length > 0) args.push(`--allow-net=${options.netHosts.join(",")}`);
  args.push(`--allow-read=${options.bundlePath}`);
  args.push(`--v8-flags=--max-old-space-size=${options.heapMb}`);
  // The node id is only a label for `ps`; the bootstrap ignores it.
  const label = options.nodeId.replace(/[^A-Za-z0-9_.:@-]/g, "_").slice(0, 100);
  args.push(decodeURIComponent(BOOTSTRAP.pathname), String(options.maxFrameBytes), `node=${label}`);
  return args;
}

function checkBundlePath(bundlePath: string): void {
  if (!bundlePath.startsWith("/") || bundlePath.includes(",") || /[\n\0]/.test(bundlePath)) {
    throw new TypeError(`Cannot sandbox bundle ${JSON.stringify(bundlePath)}: not an absolute path without commas`);
  }
}

function defaultDenoDir(): string | undefined {
  try {
    const dir = Deno.env.get("DENO_DIR");
    if (dir) return dir;
    const home = Deno.env.get("HOME");
    return home ? `${home}/.cache/deno` : undefined;
  } catch {
    return undefined;
  }
}

/** One child process and its channel. Internal: the supervisor and inspectBundle drive it. */
class PluginProcess {
  readonly pid: number;
  readonly startedAt = performance.now();
  /** Resolves once the process exited and its pipes are drained. */
  readonly closed: Promise<void>;
  /** How the process ended, once it did. */
  exit: string | null = null;
  #options: ProcessOptions;
  #child: Deno.ChildProcess;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #pending = new Map<number, Pending>();
  #nextId = 1;
  #failed = false;
  #expected = false;
  #graceTimer: ReturnType<typeof setTimeout> | undefined;
  #rssTimer: ReturnType<typeof setInterval> | undefined;

  constructor(options: ProcessOptions) {
    this.#options = options;
    const env: Record<string, string> = { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" };
    if (options.denoDir) env.DENO_DIR = options.denoDir;
    this.#child = new Deno.Command(Deno.execPath(), {
      args: childArgs(options),
      clearEnv: true,
      env,
      cwd: "/",
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.pid = this.#child.pid;
    if (options.rssCheckMs > 0) this.#rssTimer = setInterval(() => this.#checkRss(), options.rssCheckMs);
    this.#stdin = this.#child.stdin.getWriter();
    // The exit counts only once every frame the child wrote has been read.
    const exited = Promise.all([this.#child.status, this.#readFrames()]).then(([status]) => this.#onExit(status));
    this.closed = Promise.all([exited, this.#readLogs()]).then(async () => {
      clearTimeout(this.#graceTimer);
      await this.#stdin.close().catch(() => {});
    });
  }

  /** Calls in flight. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** True once the process stopped serving, for whatever reason. */
  get done(): boolean {
    return this.#failed || this.#expected;
  }

  /** Sends a host message; write errors surface as the process's exit. */
  send(message: HostMessage): void {
    const frame = encodeFrame(message, this.#options.maxFrameBytes);
    this.#stdin.write(frame).catch(() => {});
  }

  /**
   * Sends one call and waits for its answer or the deadline.
   *
   * @throws {PluginCallError} `invalid_input` when the arguments do not fit a frame.
   */
  call(
    method: string,
    args: unknown[],
    requestId: string,
    timeoutMs: number,
  ): Promise<{ ok: true; value: unknown } | { ok: false; error: WireError }> {
    if (this.done) {
      return Promise.reject(
        new PluginCallError("crashed", "the plugin process stopped serving", { retryAfterSeconds: 1 }),
      );
    }
    const id = this.#nextId++;
    let frame: Uint8Array;
    try {
      frame = encodeFrame({ type: "call", id, method, args, request_id: requestId }, this.#options.maxFrameBytes);
    } catch (cause) {
      const why = cause instanceof FrameError ? "exceed the frame size limit" : "are not JSON";
      throw new PluginCallError("invalid_input", `the arguments of ${method} ${why}`, { cause });
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail({ cause: "timeout", callId: id }), timeoutMs);
      // Every pending call is settled by its answer, by fail() or by the exit's rejectAll().
      this.#pending.set(id, { resolve, reject, timer, method });
      this.#stdin.write(frame).catch(() => {});
    });
  }

  /**
   * Stops serving: SIGKILL now, and reject every pending call with what
   * `errorFor` makes of it. Reports the failure to the owner once.
   */
  fail(failure: Failure): void {
    if (this.#failed || this.#expected) return;
    this.#failed = true;
    this.kill("SIGKILL");
    this.#options.onFailure(failure);
  }

  /** Rejects every pending call; `errorFor` gets the call id and method. */
  rejectAll(errorFor: (id: number, method: string) => PluginCallError): void {
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.reject(errorFor(id, pending.method));
    }
    this.#pending.clear();
  }

  /** Asks the child to exit (shutdown frame, stdin EOF), SIGKILL after `graceMs`. */
  shutdown(graceMs: number): Promise<void> {
    if (!this.#failed) this.#expected = true;
    if (this.exit === null) {
      try {
        this.send({ type: "shutdown" });
      } catch {
        // Cannot happen for a shutdown frame; the grace timer covers it anyway.
      }
      this.#stdin.close().catch(() => {});
      this.#graceTimer = setTimeout(() => this.kill("SIGKILL"), graceMs);
    }
    return this.closed;
  }

  /** Sends a signal unless the process already exited. */
  kill(signal: Deno.Signal): void {
    if (this.exit !== null) return;
    try {
      this.#child.kill(signal);
    } catch {
      // Already gone.
    }
  }

  #checkRss(): void {
    let kib: number;
    try {
      const status = Deno.readTextFileSync(`/proc/${this.pid}/status`);
      kib = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
    } catch {
      // No /proc (not Linux), no read permission, or the process is gone: nothing to enforce.
      clearInterval(this.#rssTimer);
      return;
    }
    const limit = this.#options.rssMb * 1024;
    if (kib > limit) {
      this.fail({
        cause: "crashed",
        detail: `resident memory ${Math.round(kib / 1024)} MiB exceeds the ${this.#options.rssMb} MiB limit`,
      });
    }
  }

  #onExit(status: Deno.CommandStatus): void {
    this.exit = status.signal ? `signal ${status.signal}` : `code ${status.code}`;
    clearTimeout(this.#graceTimer);
    clearInterval(this.#rssTimer);
    if (!this.#failed && !this.#expected) this.fail({ cause: "crashed", detail: `exited with ${this.exit}` });
    // Expected exits (shutdown) have no pending calls left; a failure already rejected them.
    this.rejectAll(() => new PluginCallError("crashed", "the plugin process exited"));
  }

  async #readFrames(): Promise<void> {
    const decoder = new FrameDecoder(this.#options.maxFrameBytes);
    const reader = this.#child.stdout.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        for (const raw of decoder.push(value)) this.#onMessage(parseChildMessage(raw));
      }
    } catch (error) {
      const detail = this.#options.scrub(error instanceof Error ? error.message : String(error));
      this.fail({ cause: "protocol", detail });
      await reader.cancel().catch(() => {});
    } finally {
      reader.releaseLock();
    }
  }

  #onMessage(message: ChildMessage): void {
    if (message.type === "result" || message.type === "error") {
      const pending = this.#pending.get(message.id);
      if (!pending) throw new FrameError("malformed", `an answer to unknown call ${message.id}`);
      this.#pending.delete(message.id);
      clearTimeout(pending.timer);
      pending.resolve(
        message.type === "result" ? { ok: true, value: message.value } : {
          ok: false,
          error: message.error,
        },
      );
      return;
    }
    this.#options.onMessage(message);
  }

  async #readLogs(): Promise<void> {
    const { nodeId, scrub } = this.#options;
    const pid = this.pid;
    let windowStart = performance.now();
    let lines = 0;
    let suppressed = 0;
    const emit = (line: string) => {
      const now = performance.now();
      if (now - windowStart >= 1000) {
        if (suppressed > 0) log.warn("plugin stderr rate-limited", { nodeId, pid, suppressed });
        windowStart = now;
        lines = 0;
        suppressed = 0;
      }
      if (++lines > STDERR_LINES_PER_SECOND) {
        suppressed++;
        return;
      }
      log.debug("plugin stderr", { nodeId, pid, line: scrub(line) });
    };
    let buffer = "";
    let skipping = false;
    const text = new TextDecoder();
    for await (const chunk of this.#child.stderr) {
      buffer += text.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (skipping) skipping = false;
        else emit(line.length > STDERR_LINE_MAX ? line.slice(0, STDERR_LINE_MAX) + " [truncated]" : line);
      }
      if (buffer.length > STDERR_LINE_MAX) {
        // Keep at most one line's worth; the rest of an endless line is dropped.
        if (!skipping) emit(buffer.slice(0, STDERR_LINE_MAX) + " [truncated]");
        skipping = true;
        buffer = "";
      }
    }
    if (buffer !== "" && !skipping) emit(buffer.slice(0, STDERR_LINE_MAX));
    if (suppressed > 0) log.warn("plugin stderr rate-limited", { nodeId, pid, suppressed });
  }
}

// --------------------------------------------------------------- scrubbing

/**
 * Makes a function that replaces every credential value (4 characters or
 * more, each line of a multi-line value too, and their JSON-escaped forms)
 * with `[redacted]`.
 */
function makeScrubber(credentials: Record<string, string>): (text: string) => string {
  const secrets = new Set<string>();
  for (const value of Object.values(credentials)) {
    if (typeof value !== "string") continue;
    for (const piece of [value, ...value.split(/\r?\n/).map((line) => line.trim())]) {
      if (piece.length < 4) continue;
      secrets.add(piece);
      secrets.add(JSON.stringify(piece).slice(1, -1));
    }
  }
  const ordered = [...secrets].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const secret of ordered) out = out.replaceAll(secret, REDACTED);
    return out;
  };
}

// -------------------------------------------------------------- supervisor

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
    this.#scrub = makeScrubber(spec.init.credentials);
    this.#backoffMs = this.#options.backoffInitialMs;
  }

  /** A snapshot for health pages and tests. */
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

  get stats(): { pid: number | null; state: string; inFlight: number; spawns: number; lastExit: string | null } {
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
      throw new PluginCallError("invalid_input", `plugin "${entry}" does not implement ${method}`);
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
      const answer = await proc.call(method, args, options.requestId, this.#spec.timeoutMs);
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
      rssCheckMs: this.#options.rssCheckMs,
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
          const typed = message.error.kind !== undefined && HANDLER_KINDS.has(message.error.kind);
          const kind = typed ? message.error.kind as PluginErrorKind : "crashed";
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
        return new PluginCallError("invalid_input", `plugin "${entry}" does not implement ${method}`);
      case "too_large":
        return new PluginCallError("protocol", `plugin "${entry}" answered ${method} with ${message}`);
      case "bad_result":
        return new PluginCallError("internal", `plugin "${entry}" answered ${method} with a value that is not JSON`);
      case "thrown":
        if (error.kind !== undefined && HANDLER_KINDS.has(error.kind)) {
          const options = error.retry_after !== undefined && error.retry_after >= 0
            ? { retryAfterSeconds: Math.ceil(error.retry_after) }
            : {};
          return new PluginCallError(error.kind as PluginErrorKind, message, options);
        }
        return new PluginCallError(
          "internal",
          `plugin "${entry}" ${method} threw ${error.name ?? "a value"}: ${message}`,
        );
    }
  }
}

/** Resident memory a child may use: its heap twice over (GC headroom) plus the runtime's own ~100 MB and margin. */
function defaultRssMb(heapMb: number): number {
  return heapMb * 2 + 256;
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function toFileUrl(path: string): string {
  const url = new URL("file:///");
  url.pathname = path;
  return url.href;
}

function methodLists(): Record<string, string[]> {
  return Object.fromEntries(Object.entries(PROTOCOL_METHODS).map(([type, list]) => [type, [...list]]));
}

// ----------------------------------------------------------------- inspect

/**
 * Reads the manifests a bundle exports, in a child with no permission but
 * reading that one file (no net, no env), a short deadline and the heap cap.
 * Module code runs (that is what importing does); handler constructors and
 * methods never do.
 *
 * @param bundlePath Absolute path of the single-file bundle.
 * @param options `timeoutMs` (default 5000), `heapMb` (128), `denoDir`.
 * @returns The classes of `plugins` with their manifests as JSON, or why not.
 * @throws {TypeError} When the path is not absolute or contains a comma.
 */
export async function inspectBundle(
  bundlePath: string,
  options: { timeoutMs?: number; heapMb?: number; denoDir?: string } = {},
): Promise<InspectResult> {
  checkBundlePath(bundlePath);
  const timeoutMs = options.timeoutMs ?? 5000;
  const nodeId = `inspect:${bundlePath.split("/").pop()}`;
  const scrubPath = (text: string) =>
    text.replaceAll(toFileUrl(bundlePath), "<bundle>").replaceAll(bundlePath, "<bundle>").split("\n")[0]!.slice(
      0,
      300,
    );
  let settle!: (result: InspectResult) => void;
  const answer = new Promise<InspectResult>((resolve) => (settle = resolve));
  const child: PluginProcess = new PluginProcess({
    nodeId,
    bundlePath,
    netHosts: [],
    heapMb: options.heapMb ?? DEFAULTS.heapMb,
    rssMb: defaultRssMb(options.heapMb ?? DEFAULTS.heapMb),
    rssCheckMs: DEFAULTS.rssCheckMs,
    maxFrameBytes: DEFAULTS.maxFrameBytes,
    denoDir: options.denoDir ?? defaultDenoDir(),
    scrub: scrubPath,
    onMessage: (message) => {
      if (message.type === "inspected") settle(inspected(message.result, scrubPath));
      else if (message.type === "fatal") {
        settle({ ok: false, reason: `the module failed: ${scrubPath(message.message)}` });
      } else child.fail({ cause: "protocol", detail: `unexpected "${message.type}" message` });
    },
    onFailure: (failure) => {
      const reason = failure.cause === "timeout"
        ? "inspection timed out"
        : failure.cause === "protocol"
        ? `inspection broke the channel: ${failure.detail}`
        : `the inspector process ${failure.detail}`;
      settle({ ok: false, reason });
    },
  });
  child.send({ type: "inspect", bundle: toFileUrl(bundlePath) });
  const timer = setTimeout(() => {
    settle({ ok: false, reason: `inspection did not finish within ${timeoutMs} ms` });
  }, timeoutMs);
  try {
    return await answer;
  } finally {
    clearTimeout(timer);
    await child.shutdown(0);
  }
}

function inspected(result: InspectedMessage["result"], scrub: (text: string) => string): InspectResult {
  if (!result.ok) return { ok: false, reason: scrub(result.reason) };
  return {
    ok: true,
    entries: result.entries.map((entry) => ({
      index: entry.index,
      className: entry.className,
      manifest: entry.manifest,
    })),
  };
}
