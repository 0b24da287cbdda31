/**
 * One plugin child process and its framed channel (spec section 5): the
 * exact argv and environment it starts with (confined by
 * {@linkcode confineSpawn}), calls multiplexed by id with a deadline each, and
 * its stderr turned into rate-limited log lines. The {@linkcode Supervisor} and
 * {@linkcode inspectBundle} drive it; nothing else should.
 *
 * See `docs/sandbox.md` for the flags and what they contain.
 *
 * @module
 */

import { PluginCallError } from "../errors.ts";
import { log } from "../logger.ts";
import { acceptChild, listenChannel } from "./channel.ts";
import { activeConfinement, type ConfinedSpawn, confineSpawn } from "./confine.ts";
import {
  type ChildMessage,
  DEFAULT_MAX_FRAME_BYTES,
  encodeFrame,
  FrameDecoder,
  FrameError,
  FrameWriter,
  type HostMessage,
  parseChildMessage,
  type WireError,
} from "./protocol.ts";
import { Deadlines } from "./deadlines.ts";
import { parseAnswer, parseWhole, SLICE_CHARS } from "./answer_parser.ts";
import type { EncodeAs } from "../encoded_list.ts";
import { LargeFrames } from "./large_frames.ts";

/**
 * The trusted program every child runs: `bootstrap.ts` beside this source, or
 * `bootstrap.js` beside the bundle `@imbi/plugin-testing` is built into
 * (`cli/plugins_publish.ts`; Deno strips no types in an npm package).
 */
const BOOTSTRAP = new URL(import.meta.url.endsWith(".ts") ? "./bootstrap.ts" : "./bootstrap.js", import.meta.url);
const STDERR_LINE_MAX = 1000;
/** A frame above this many bytes is decoded, redacted and parsed on the answer worker's thread (`large_frames.ts`). */
const LARGE_FRAME_BYTES = 1 << 20;
const STDERR_LINES_PER_SECOND = 20;

/** Defaults of the process limits, shared by the supervisor and the inspector. */
export const PROCESS_DEFAULTS: { heapMb: number; maxFrameBytes: number } = {
  heapMb: 128,
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
};

/** Why a process stopped serving: a call's deadline, a crash, its memory cap (the jail's verdict), or a broken channel. */
export type Failure = { cause: "timeout"; callId: number } | {
  cause: "crashed" | "memory" | "protocol";
  detail: string;
};

/** A call's answer as the child sent it: the handler's value, or its failure on the wire. */
export type CallAnswer = ({ ok: true; value: unknown } | { ok: false; error: WireError }) & {
  /** The client spans the child recorded during the call (unchecked). */
  spans?: unknown[];
};

/** What one child process is started with and whom it reports to. */
export interface ProcessOptions {
  /** Plugin node id: a label for `ps` and logs. */
  nodeId: string;
  /** Absolute path of the single-file bundle, the one file the child may read. */
  bundlePath: string;
  /** Exact `host:port` entries for `--allow-net` (empty: no network). */
  netHosts: string[];
  /** V8 old-space cap, MiB. */
  heapMb: number;
  /** Memory cap of the whole process, MiB (V8 heap, ArrayBuffers, Wasm, Workers), enforced by the confinement. */
  rssMb: number;
  /** Largest frame either side accepts. */
  maxFrameBytes: number;
  /** `DENO_DIR` of the child, when set. */
  denoDir: string | undefined;
  /** Applied to every text from the child before it is logged or reported. */
  scrub: (text: string) => string;
  /**
   * The values `scrub` was made from. When given, every frame is run through
   * `scrub` before it is parsed, so no answer carries the node's own
   * credentials (one pass over the text, no extra JSON pass); a large frame
   * through a redactor the answer worker makes from them.
   */
  frameSecrets?: Record<string, string>;
  /** Told the size of a frame about to be handled by the answer worker (one large enough to stall the service otherwise). */
  onLargeFrame?: (bytes: number) => void;
  /** Non-call messages: ready, init_failed, inspected, fatal. */
  onMessage: (message: ChildMessage) => void;
  /** The process stopped serving (exactly once, unless it was shut down on purpose). */
  onFailure: (failure: Failure) => void;
}

interface Pending {
  resolve: (answer: CallAnswer) => void;
  reject: (error: PluginCallError) => void;
  method: string;
  /** A long list answer may come back as an `EncodedList` (`core/encoded_list.ts`). */
  encode: EncodeAs | undefined;
}

/**
 * Command-line arguments of a child: these and nothing else. With a channel,
 * the child may also read, write and connect to that one socket path until
 * its bootstrap has connected and revoked those grants (`bootstrap.ts`).
 */
function childArgs(
  options: Pick<ProcessOptions, "nodeId" | "bundlePath" | "netHosts" | "heapMb" | "maxFrameBytes">,
  jailed: boolean,
  channelPath: string | null,
): string[] {
  const args = ["run", "--no-prompt", "--no-config", "--no-lock", "--no-npm", "--no-remote", "--cached-only"];
  args.push("--no-check");
  const channel = channelPath === null ? [] : [channelPath];
  const net = [...options.netHosts, ...channel.map((path) => `unix:${path}`)];
  if (net.length > 0) args.push(`--allow-net=${net.join(",")}`);
  args.push(`--allow-read=${[options.bundlePath, ...channel].join(",")}`);
  if (channelPath !== null) args.push(`--allow-write=${channelPath}`);
  // A young generation of at most 1 MiB a half: V8 otherwise grows it to 16 MiB under load, and each scavenge of it
  // paused the call in progress for 0.7 ms (p50) to 3.7 ms; at 1 MiB a scavenge pauses 0.3 ms (docs/performance.md).
  args.push(`--v8-flags=--max-old-space-size=${options.heapMb},--max-semi-space-size=1`);
  // The node id is only a label for `ps`; the bootstrap ignores it.
  const label = options.nodeId.replace(/[^A-Za-z0-9_.:@-]/g, "_").slice(0, 100);
  args.push(decodeURIComponent(BOOTSTRAP.pathname), String(options.maxFrameBytes), `node=${label}`);
  if (channelPath !== null) args.push(`channel=${channelPath}`);
  // The jail kills the child when the service dies (PDEATHSIG): the bootstrap's own watchdog (a worker, ~10 MB)
  // is not needed then.
  if (jailed) args.push("watchdog=off");
  return args;
}

/** Environment of a child: these variables and nothing else. */
function childEnv(denoDir: string | undefined): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" };
  if (denoDir) env.DENO_DIR = denoDir;
  return env;
}

/**
 * Starts a child: the one place a plugin process is spawned, through the
 * confinement's jail when there is one ({@linkcode confineSpawn}). Its stdin
 * and stdout are `/dev/null`: frames go over the channel's socket.
 *
 * `detached` puts the child in a session and process group of its own: a
 * signal to the service's group (Ctrl-C in a terminal, an init that signals
 * the whole group) reaches the service alone, which finishes the calls in
 * flight and then stops its children itself (`docs/sandbox.md`, "Stopping").
 * It does not let the child outlive the service: the jail dies with the
 * service (PDEATHSIG) and the plugin with the jail; without a jail, the
 * channel watchdog in `bootstrap.ts` ends it when the service is gone.
 */
function spawnChild(
  options: ProcessOptions,
  channelPath: string,
): { child: Deno.ChildProcess; confined: ConfinedSpawn } {
  const confinement = activeConfinement();
  const jailed = confinement.mechanism !== "none" && confinement.jailPath !== null;
  const confined = confineSpawn(
    { command: Deno.execPath(), args: childArgs(options, jailed, channelPath), env: childEnv(options.denoDir) },
    { memoryMb: options.rssMb },
  );
  const child = new Deno.Command(confined.command, {
    args: confined.args,
    clearEnv: true,
    env: confined.env,
    cwd: "/",
    detached: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  return { child, confined };
}

/**
 * Refuses a bundle path that cannot be a `--allow-read` value.
 *
 * @param bundlePath The path to check.
 * @throws {TypeError} When the path is not absolute, or holds a comma, newline or NUL.
 */
export function checkBundlePath(bundlePath: string): void {
  if (!bundlePath.startsWith("/") || bundlePath.includes(",") || /[\n\0]/.test(bundlePath)) {
    throw new TypeError(`Cannot sandbox bundle ${JSON.stringify(bundlePath)}: not an absolute path without commas`);
  }
}

/**
 * The host's `DENO_DIR` (its `DENO_DIR`, else Deno's default under `HOME`,
 * else none, also when env access is denied): where `deno bundle` finds its
 * cached tools. Plugin children get the confinement's private one instead
 * ({@linkcode pluginDenoDir}).
 */
export function defaultDenoDir(): string | undefined {
  try {
    const dir = Deno.env.get("DENO_DIR");
    if (dir) return dir;
    const home = Deno.env.get("HOME");
    return home ? `${home}/.cache/deno` : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The `DENO_DIR` a plugin child gets by default: the confinement's private
 * one, with no room for `localStorage` or the Cache API (see `confine.ts`).
 */
export function pluginDenoDir(): string {
  return activeConfinement().denoDir;
}

/**
 * Runs the bootstrap once in the plugin children's `DENO_DIR` with nothing to
 * serve: without a channel it exits as soon as it has started, and Deno
 * has transpiled it into that directory's cache. The directory is new at
 * every start (`confine.ts`); without this the first plugin process after a
 * start transpiles the bootstrap on a request's path (about 30 ms and 3 MiB).
 * No plugin code runs, so no jail is needed; it may read only the bootstrap.
 *
 * @param denoDir The children's `DENO_DIR`; default {@linkcode pluginDenoDir}.
 */
export async function warmBootstrap(denoDir: string = pluginDenoDir()): Promise<void> {
  const self = decodeURIComponent(BOOTSTRAP.pathname);
  const options = { nodeId: "warm-up", bundlePath: self, netHosts: [], ...PROCESS_DEFAULTS };
  await new Deno.Command(Deno.execPath(), {
    args: childArgs(options, true, null),
    clearEnv: true,
    env: childEnv(denoDir),
    cwd: "/",
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).output();
}

/** Resident memory a child may use: its heap twice over (GC headroom) plus the runtime's own ~100 MB and margin. */
export function defaultRssMb(heapMb: number): number {
  return heapMb * 2 + 256;
}

/**
 * The `file:` URL of an absolute path, as the bootstrap imports it.
 *
 * @param path An absolute path.
 * @returns Its `file:` URL.
 */
export function toFileUrl(path: string): string {
  const url = new URL("file:///");
  url.pathname = path;
  return url.href;
}

/** One child process and its channel. The supervisor and `inspectBundle` drive it. */
export class PluginProcess {
  /** `performance.now()` at spawn. */
  readonly startedAt: number = performance.now();
  /** Resolves once the process exited and its pipes are drained. */
  readonly closed: Promise<void>;
  /** How the process ended, once it did. */
  exit: string | null = null;
  #options: ProcessOptions;
  #child: Deno.ChildProcess;
  /** The channel once the child has connected; null if it exited first. */
  #conn: Promise<Deno.UnixConn | null>;
  /** Frames to the child; a failed write surfaces as the exit. */
  #out = new FrameWriter(() => {});
  #pending = new Map<number, Pending>();
  #nextId = 1;
  #deadlines = new Deadlines<number>((id) => this.fail({ cause: "timeout", callId: id }));
  #failed = false;
  #expected = false;
  #text = new TextDecoder("utf-8", { fatal: true });
  #graceTimer: ReturnType<typeof setTimeout> | undefined;
  #confined: ConfinedSpawn;
  #stopHeartbeat: () => void;
  #pluginPid: number | null = null;
  /** This process's use of the answer worker, from its first large frame until it closes. */
  #largeFrames: LargeFrames | undefined;

  /**
   * Spawns the child at once; it loads nothing until it is sent `init` or `inspect`.
   *
   * @param options What to start and whom to report to.
   */
  constructor(options: ProcessOptions) {
    this.#options = options;
    const channel = listenChannel();
    try {
      ({ child: this.#child, confined: this.#confined } = spawnChild(options, channel.path));
    } catch (error) {
      channel.listener.close();
      Deno.remove(channel.path).catch(() => {});
      throw error;
    }
    this.#conn = acceptChild(channel, this.#child.status);
    void this.#conn.then((conn) => conn && this.#out.attach(conn));
    // Busy from spawn to the end of the first call, then while calls are in flight: the jail stops a
    // process that burns CPU otherwise.
    this.#stopHeartbeat = this.#confined.heartbeat(
      () => this.#nextId === 1 || this.#pending.size > 0,
      () => this.kill("SIGWINCH"),
    );
    // The exit counts only once every frame the child wrote has been read.
    const exited = Promise.all([this.#child.status, this.#readFrames()]).then(([status]) => this.#onExit(status));
    this.closed = Promise.all([exited, this.#readLogs()]).then(async () => {
      clearTimeout(this.#graceTimer);
      this.#largeFrames?.release();
      (await this.#conn)?.close();
    });
  }

  /**
   * The plugin's process id. Through the jail, the jail's until it has named
   * its child (its first stderr line, before the plugin runs), then the
   * plugin's own: the pid the plugin sees as `Deno.pid`.
   */
  get pid(): number {
    return this.#pluginPid ?? this.#child.pid;
  }

  /** Calls in flight. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** True once the process stopped serving, for whatever reason. */
  get done(): boolean {
    return this.#failed || this.#expected;
  }

  /** Sends a host message after every frame sent before it; write errors surface as the exit. */
  send(message: HostMessage): void {
    this.#out.write(encodeFrame(message, this.#options.maxFrameBytes));
  }

  /**
   * Sends one call and waits for its answer or the deadline.
   *
   * @param method The handler method.
   * @param args Its arguments (JSON).
   * @param options `requestId` for the child's logs, `timeoutMs` the call's deadline, `encode` when a long
   *   `listKeys` or `getValues` answer may come back as an `EncodedList` (checked and serialised off this thread).
   * @returns The child's answer.
   * @throws {PluginCallError} `invalid_input` when the arguments do not fit a frame.
   */
  call(
    method: string,
    args: unknown[],
    options: { requestId: string; timeoutMs: number; traceparent?: string | undefined; encode?: EncodeAs | undefined },
  ): Promise<CallAnswer> {
    if (this.done) {
      return Promise.reject(
        new PluginCallError("crashed", "the plugin process stopped serving", { retryAfterSeconds: 1 }),
      );
    }
    const id = this.#nextId++;
    let frame: Uint8Array;
    try {
      frame = encodeFrame(
        {
          type: "call",
          id,
          method,
          args,
          request_id: options.requestId,
          ...(options.traceparent ? { traceparent: options.traceparent } : {}),
        },
        this.#options.maxFrameBytes,
      );
    } catch (cause) {
      const why = cause instanceof FrameError ? "exceed the frame size limit" : "are not JSON";
      throw new PluginCallError("invalid_input", `the arguments of ${method} ${why}`, { cause });
    }
    return new Promise((resolve, reject) => {
      // Every pending call is settled by its answer, by fail() or by the exit's rejectAll().
      this.#pending.set(id, { resolve, reject, method, encode: options.encode });
      this.#deadlines.add(id, performance.now() + options.timeoutMs);
      this.#out.write(frame);
    });
  }

  /**
   * Stops serving: SIGKILL now, and report the failure to the owner once.
   * The owner rejects the pending calls with {@linkcode PluginProcess.rejectAll}.
   */
  fail(failure: Failure): void {
    if (this.#failed || this.#expected) return;
    this.#failed = true;
    this.kill("SIGKILL");
    this.#options.onFailure(failure);
  }

  /** Rejects every pending call; `errorFor` gets the call id and method. */
  rejectAll(errorFor: (id: number, method: string) => PluginCallError): void {
    this.#deadlines.stop();
    for (const [id, pending] of this.#pending) {
      pending.reject(errorFor(id, pending.method));
    }
    this.#pending.clear();
  }

  /** Asks the child to exit (shutdown frame, then EOF on the channel), SIGKILL after `graceMs`. */
  shutdown(graceMs: number): Promise<void> {
    if (!this.#failed) this.#expected = true;
    if (this.exit === null) {
      try {
        this.send({ type: "shutdown" });
      } catch {
        // Cannot happen for a shutdown frame; the grace timer covers it anyway.
      }
      void this.#out.drained().then(async () => (await this.#conn)?.closeWrite()).catch(() => {});
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

  #onExit(status: Deno.CommandStatus): void {
    this.exit = status.signal ? `signal ${status.signal}` : `code ${status.code}`;
    clearTimeout(this.#graceTimer);
    this.#stopHeartbeat();
    const verdict = this.#confined.exitCause(status);
    if (!this.#failed && !this.#expected) {
      this.fail(verdict ?? { cause: "crashed", detail: `exited with ${this.exit}` });
    }
    // Expected exits (shutdown) have no pending calls left; a failure already rejected them.
    this.rejectAll(() => new PluginCallError("crashed", "the plugin process exited"));
  }

  async #readFrames(): Promise<void> {
    const conn = await this.#conn;
    if (conn === null) return;
    const decoder = new FrameDecoder(this.#options.maxFrameBytes);
    // The decoder copies what it keeps, so one buffer serves every read. 64 KiB: the service holds one per process.
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        let read: number | null;
        try {
          read = await conn.read(buffer);
        } catch {
          read = null; // Reset by a child that died with frames unread: its exit says why.
        }
        if (read === null) return;
        for (const body of decoder.pushBodies(buffer.subarray(0, read))) {
          // A small frame costs no await. A large one goes to the answer worker; what it hands back as text (an
          // answer no call takes encoded) is parsed in slices, so other requests run meanwhile.
          let message: ChildMessage;
          if (body.length > LARGE_FRAME_BYTES) message = await this.#largeFrame(body);
          else {
            const text = this.#frameText(body);
            message = parseChildMessage(text.length <= SLICE_CHARS ? parseWhole(text) : await parseAnswer(text));
          }
          if (this.done) continue;
          this.#onMessage(message);
        }
      }
    } catch (error) {
      const detail = this.#options.scrub(error instanceof Error ? error.message : String(error));
      this.fail({ cause: "protocol", detail });
    }
  }

  #frameText(body: Uint8Array): string {
    let text: string;
    try {
      text = this.#text.decode(body);
    } catch (cause) {
      throw new FrameError("malformed", "a frame is not UTF-8 JSON", { cause });
    }
    if (!this.#options.frameSecrets) return text;
    const scrubbed = this.#options.scrub(text);
    if (scrubbed !== text) this.#warnRedacted();
    return scrubbed;
  }

  /** A frame of megabytes, handled by the answer worker (`large_frames.ts`): the body is transferred to it. */
  async #largeFrame(body: Uint8Array): Promise<ChildMessage> {
    this.#options.onLargeFrame?.(body.length);
    const encode: Record<number, EncodeAs> = {};
    for (const [id, pending] of this.#pending) if (pending.encode) encode[id] = pending.encode;
    this.#largeFrames ??= new LargeFrames();
    const handled = await this.#largeFrames.handle(body, this.#options.frameSecrets ?? null, encode);
    if (handled.redacted) this.#warnRedacted();
    return "message" in handled ? handled.message : parseChildMessage(await parseAnswer(handled.text));
  }

  #warnRedacted(): void {
    log.warn("plugin answer held its own credentials; redacted", { nodeId: this.#options.nodeId, pid: this.pid });
  }

  #onMessage(message: ChildMessage): void {
    if (message.type === "result" || message.type === "error") {
      const pending = this.#pending.get(message.id);
      if (!pending) throw new FrameError("malformed", `an answer to unknown call ${message.id}`);
      this.#pending.delete(message.id);
      this.#deadlines.delete(message.id);
      const answer: CallAnswer = message.type === "result"
        ? { ok: true, value: message.value }
        : { ok: false, error: message.error };
      if (message.spans) answer.spans = message.spans;
      pending.resolve(answer);
      return;
    }
    this.#options.onMessage(message);
  }

  async #readLogs(): Promise<void> {
    const { nodeId, scrub } = this.#options;
    let first = true;
    let windowStart = performance.now();
    let lines = 0;
    let suppressed = 0;
    const emit = (line: string) => {
      const pid = this.pid;
      if (first) {
        first = false;
        this.#pluginPid = this.#confined.pluginPid(line);
        if (this.#pluginPid !== null) return;
      }
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
    if (suppressed > 0) log.warn("plugin stderr rate-limited", { nodeId, pid: this.pid, suppressed });
  }
}
