/**
 * The trusted program of a plugin process (spec section 5). The host
 * (`process.ts`) starts it as
 * `deno run ... core/sandbox/bootstrap.ts <maxFrameBytes> node=<id> [watchdog=off]` with read
 * access to one bundle file and nothing else, then talks to it over
 * stdin/stdout frames (`protocol.ts`).
 *
 * Order matters:
 * 1. Before any `await`, the read loop on stdin starts and the message
 *    handler is registered. The loop runs on the main thread, one read per
 *    chunk, so a call costs no hop between threads. A watchdog worker checks
 *    once every 250 ms that the host is still the parent: when the host died
 *    (the child was re-parented), it tells the main thread to exit, and kills
 *    its own process after a short grace if plugin code keeps the main
 *    thread busy.
 * 2. The real stdout is taken for the channel (written with `writeSync`, one
 *    call per frame); `Deno.stdout`, `process.stdout` and the stdout methods
 *    of `console` are pointed at stderr, so plugin output becomes log lines
 *    instead of corrupt frames.
 * 3. Only then is the bundle loaded, with a run-time `import()`.
 *
 * Nothing here is a security boundary: plugin code runs in this same
 * process and could undo any of it. The boundary is the process and its
 * permission flags; the host validates every frame it reads.
 *
 * @module
 */

import { installFetchTracing, traced } from "./child_trace.ts";
import type { ChildMessage, HostMessage, InitMessage, InspectedEntry, InspectMessage, WireError } from "./protocol.ts";
import { DEFAULT_MAX_FRAME_BYTES, encodeFrame, FrameDecoder, FrameError, MAX_ANSWER_DEPTH } from "./protocol.ts";
import { parseHostMessage } from "./protocol.ts";

/** Grace the main thread gets to exit once the host is gone before the watchdog kills the process. */
const ORPHAN_GRACE_MS = 1000;

const WATCHDOG_WORKER = `
const parent = Deno.ppid;
const timer = setInterval(() => {
  if (Deno.ppid === parent) return;
  clearInterval(timer);
  self.postMessage("orphaned");
  setTimeout(() => Deno.kill(Deno.pid, "SIGKILL"), ${ORPHAN_GRACE_MS});
}, 250);
`;

const maxFrameBytes = Number(Deno.args[0]) > 0 ? Number(Deno.args[0]) : DEFAULT_MAX_FRAME_BYTES;
const decoder = new FrameDecoder(maxFrameBytes);
const channelIn = Deno.stdin;
const channelOut = Deno.stdout;
const stderr = Deno.stderr;
const encoder = new TextEncoder();
let handler: Record<string, unknown> | null = null;
let allowed: readonly string[] = [];
let started = false;
/** Answers waiting for the end of this turn (see `send`). */
let outbox: Uint8Array[] = [];

// 1. The channel, before any await.
void readChannel();
// `watchdog=off`: the host started this process in a jail that kills it when the host dies.
if (!Deno.args.includes("watchdog=off")) {
  const watchdog = new Worker(
    URL.createObjectURL(new Blob([WATCHDOG_WORKER], { type: "text/javascript" })),
    { type: "module" },
  );
  watchdog.onmessage = () => exit(0);
}
globalThis.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  fatal(`unhandled rejection: ${describe(event.reason)}`);
});
globalThis.addEventListener("error", (event) => {
  event.preventDefault();
  fatal(`uncaught error: ${describe(event.error)}`);
});

/** Reads stdin until EOF (the host closed the pipe or is gone), then exits. */
async function readChannel(): Promise<void> {
  // The decoder copies what it keeps, so one buffer serves every read.
  const buffer = new Uint8Array(256 * 1024);
  for (;;) {
    let read: number | null;
    try {
      read = await channelIn.read(buffer);
    } catch {
      read = null;
    }
    if (read === null) return exit(0);
    onBytes(buffer.subarray(0, read));
  }
}

// 2. Keep plugin output off the channel; carry each call's trace context on its fetches.
redirectStdout();
installFetchTracing();

type NodeProcess = { stdout?: unknown; stderr?: unknown };

function redirectStdout(): void {
  Object.defineProperty(Deno, "stdout", { value: stderr, configurable: false, writable: false });
  const toStderr = console.error.bind(console);
  for (const method of ["log", "info", "debug", "dir", "dirxml", "table"] as const) {
    Object.defineProperty(console, method, { value: toStderr, configurable: false, writable: false });
  }
  // Node's `process` costs a plugin process about 6 MiB the first time anything touches it, and most plugins never
  // do: its stdout is redirected on that first touch (the global's getter), or before the bundle loads when the bundle
  // imports Node's modules (`load`).
  const global = Object.getOwnPropertyDescriptor(globalThis, "process");
  if (global?.get === undefined || !global.configurable) return redirectNodeStdout();
  const { get, set, enumerable } = global;
  Object.defineProperty(globalThis, "process", {
    get() {
      const nodeProcess = get.call(globalThis);
      redirectNodeStdout(nodeProcess);
      return nodeProcess;
    },
    set,
    enumerable,
    configurable: true,
  });
}

let nodeStdoutRedirected = false;
function redirectNodeStdout(
  nodeProcess = (globalThis as { process?: NodeProcess }).process,
): void {
  if (nodeStdoutRedirected || !nodeProcess) return;
  nodeStdoutRedirected = true;
  try {
    const nodeStderr = nodeProcess.stderr;
    Object.defineProperty(nodeProcess, "stdout", { get: () => nodeStderr, configurable: false });
  } catch (error) {
    log(`cannot redirect process.stdout: ${describe(error)}`);
  }
}

function log(line: string): void {
  try {
    stderr.writeSync(encoder.encode(`[bootstrap] ${line}\n`));
  } catch {
    // stderr is gone: nothing to tell.
  }
}

/**
 * Sends a message to the host. Answers to calls finished in one turn go out
 * together in one write at the end of it (one wake-up of the host for many
 * answers); any other message flushes them and is written at once, whole.
 */
function send(message: ChildMessage): void {
  let frame: Uint8Array;
  try {
    frame = encodeFrame(message, maxFrameBytes);
  } catch (error) {
    if (message.type !== "result") throw error;
    const code = error instanceof FrameError ? "too_large" : "bad_result";
    return send({ type: "error", id: message.id, error: { code, message: describe(error) } });
  }
  if (message.type === "result" || message.type === "error") {
    outbox.push(frame);
    if (outbox.length === 1) queueMicrotask(flush);
  } else {
    flush();
    writeWhole(frame);
  }
}

function flush(): void {
  if (outbox.length === 0) return;
  const frames = outbox;
  outbox = [];
  if (frames.length === 1) return writeWhole(frames[0]!);
  const bytes = new Uint8Array(frames.reduce((sum, frame) => sum + frame.length, 0));
  let offset = 0;
  for (const frame of frames) {
    bytes.set(frame, offset);
    offset += frame.length;
  }
  writeWhole(bytes);
}

/** Writes bytes to the host before returning; exits when the host is gone. */
function writeWhole(bytes: Uint8Array): void {
  try {
    let written = 0;
    while (written < bytes.length) written += channelOut.writeSync(bytes.subarray(written));
  } catch {
    Deno.exit(0);
  }
}

function exit(code: number): never {
  flush();
  Deno.exit(code);
}

let dying = false;
function fatal(message: string): void {
  if (dying) return;
  dying = true;
  try {
    send({ type: "fatal", message: message.slice(0, 2000) });
  } finally {
    exit(70);
  }
}

function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    return String(value);
  } catch {
    return "(a value that cannot be shown)";
  }
}

function wireError(value: unknown): WireError {
  const error: WireError = { code: "thrown", message: "" };
  if (typeof value === "object" && value !== null) {
    const fields = value as { kind?: unknown; name?: unknown; message?: unknown; retryAfter?: unknown };
    if (typeof fields.kind === "string") error.kind = fields.kind;
    if (typeof fields.name === "string") error.name = fields.name;
    error.message = typeof fields.message === "string" ? fields.message : describe(value);
    if (typeof fields.retryAfter === "number" && Number.isFinite(fields.retryAfter)) {
      error.retry_after = fields.retryAfter;
    }
  } else {
    error.message = describe(value);
  }
  return error;
}

function onBytes(chunk: Uint8Array): void {
  let values: unknown[];
  try {
    values = decoder.push(chunk);
  } catch (error) {
    fatal(`host sent a bad frame: ${describe(error)}`);
    return;
  }
  for (const value of values) {
    let message: HostMessage;
    try {
      message = parseHostMessage(value);
    } catch (error) {
      fatal(`host sent a bad message: ${describe(error)}`);
      return;
    }
    onMessage(message);
  }
}

function onMessage(message: HostMessage): void {
  switch (message.type) {
    case "init":
    case "inspect":
      if (started) return fatal(`host sent a second "${message.type}"`);
      started = true;
      if (message.type === "init") void serve(message);
      else void inspect(message);
      return;
    case "call":
      if (handler === null) return fatal("host sent a call before the handler was ready");
      void call(handler, message.id, message.method, message.args, message.traceparent);
      return;
    case "shutdown":
      // Every frame was written whole when it was sent.
      exit(0);
  }
}

// 3. The plugin, loaded at run time so its own imports obey the read permission.
async function load(bundle: string): Promise<Record<string, unknown>> {
  // `import ... from "node:process"` (or any Node module, which may write to it) bypasses the global's getter.
  if (/["']node:/.test(await Deno.readTextFile(new URL(bundle)))) redirectNodeStdout();
  return await import(bundle) as Record<string, unknown>;
}

async function serve(message: InitMessage): Promise<void> {
  let module: Record<string, unknown>;
  try {
    module = await load(message.bundle);
  } catch (error) {
    send({ type: "init_failed", error: { code: "thrown", message: `import failed: ${describe(error)}` } });
    return exit(1);
  }
  const plugins = module.plugins;
  const found = Array.isArray(plugins)
    ? plugins.find((cls) => typeof cls === "function" && manifestOf(cls)?.slug === message.entry)
    : undefined;
  if (found === undefined) {
    const error: WireError = { code: "thrown", message: `the bundle exports no plugin "${message.entry}"` };
    send({ type: "init_failed", error });
    return exit(1);
  }
  const pluginType = String(manifestOf(found)?.plugin_type);
  allowed = Object.hasOwn(message.methods, pluginType) ? message.methods[pluginType]! : [];
  try {
    handler = new (found as new (init: unknown) => Record<string, unknown>)(message.init);
  } catch (error) {
    send({ type: "init_failed", error: wireError(error) });
    return exit(1);
  }
  send({ type: "ready" });
}

function manifestOf(cls: unknown): Record<string, unknown> | undefined {
  try {
    const manifest = (cls as { manifest?: unknown }).manifest;
    return typeof manifest === "object" && manifest !== null ? manifest as Record<string, unknown> : undefined;
  } catch {
    return undefined;
  }
}

async function call(
  target: Record<string, unknown>,
  id: number,
  method: string,
  args: unknown[],
  traceparent: string | undefined,
): Promise<void> {
  const fn = allowed.includes(method) ? target[method] : undefined;
  if (typeof fn !== "function") {
    send({ type: "error", id, error: { code: "not_implemented", message: method } });
    return;
  }
  const { result, spans } = traced(traceparent, () => fn.apply(target, args));
  const withSpans = () => spans.length > 0 ? { spans: [...spans] } : {};
  let value: unknown;
  try {
    value = await result;
  } catch (error) {
    send({ type: "error", id, error: wireError(error), ...withSpans() });
    return;
  }
  if (nestsDeeperThan(value, MAX_ANSWER_DEPTH)) {
    const message = `an answer that nests deeper than ${MAX_ANSWER_DEPTH} levels`;
    send({ type: "error", id, error: { code: "too_large", message }, ...withSpans() });
  } else {
    send(value === undefined ? { type: "result", id, ...withSpans() } : { type: "result", id, value, ...withSpans() });
  }
}

/** Whether arrays and objects nest more than `max` levels in a value (checked before it is sent). */
function nestsDeeperThan(value: unknown, max: number): boolean {
  return typeof value === "object" && value !== null && containerDeeperThan(value, max);
}

/** Recursion stops at `max` levels, so it is bounded whatever the value; no allocation per level. */
function containerDeeperThan(container: object, max: number): boolean {
  if (max === 0) return true;
  for (const child of Array.isArray(container) ? container : Object.values(container)) {
    if (typeof child === "object" && child !== null && containerDeeperThan(child, max - 1)) return true;
  }
  return false;
}

async function inspect(message: InspectMessage): Promise<void> {
  let module: Record<string, unknown>;
  try {
    module = await load(message.bundle);
  } catch (error) {
    send({ type: "inspected", result: { ok: false, reason: `import failed: ${describe(error)}` } });
    return exit(0);
  }
  send({ type: "inspected", result: inspectModule(module) });
  exit(0);
}

function inspectModule(module: Record<string, unknown>): { ok: true; entries: InspectedEntry[] } | {
  ok: false;
  reason: string;
} {
  if (!("plugins" in module)) return { ok: false, reason: 'the module has no "plugins" export' };
  const plugins = module.plugins;
  if (!Array.isArray(plugins)) return { ok: false, reason: '"plugins" is not an array' };
  const entries: InspectedEntry[] = [];
  for (const [index, cls] of plugins.entries()) {
    if (typeof cls !== "function" || typeof cls.prototype !== "object" || cls.prototype === null) {
      return { ok: false, reason: `plugins[${index}] is not a class` };
    }
    const entry: InspectedEntry = { index, className: typeof cls.name === "string" ? cls.name : "" };
    try {
      const json = JSON.stringify((cls as { manifest?: unknown }).manifest);
      if (typeof json === "string") entry.manifest = JSON.parse(json);
    } catch {
      // Not JSON (a getter that throws, a cycle, a BigInt): no manifest.
    }
    entries.push(entry);
  }
  return { ok: true, entries };
}
