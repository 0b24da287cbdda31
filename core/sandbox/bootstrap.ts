/**
 * The trusted program of a plugin process (spec section 5). The host
 * (`process.ts`) starts it as
 * `deno run ... core/sandbox/bootstrap.ts <maxFrameBytes> node=<id> channel=<socket> [watchdog=off]`
 * with read access to one bundle file and, until step 1 is done, to its
 * channel's Unix socket; then they talk in frames (`protocol.ts`) over that
 * socket.
 *
 * Order matters:
 * 1. The channel: connect to the socket the host listens on, give up the
 *    read, write and net grants on its path (the process keeps only its
 *    bundle and its plugin's hosts), and start the read loop on the main
 *    thread, one read per chunk. Message handlers are registered before
 *    this first `await`. A watchdog worker checks once every 250 ms that the
 *    host is still the parent: when the host died (the child was
 *    re-parented), it tells the main thread to exit, and kills its own
 *    process after a short grace if plugin code keeps the main thread busy.
 *    Without `channel=` (the host's warm-up run) it exits at once.
 * 2. `Deno.stdout`, `process.stdout` and the stdout methods of `console` are
 *    pointed at stderr, so plugin output becomes log lines.
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
import { DEFAULT_MAX_FRAME_BYTES, encodeFrame, FrameDecoder, FrameError, FrameWriter } from "./protocol.ts";
import { MAX_ANSWER_DEPTH } from "./protocol.ts";
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
const channelPath = Deno.args.find((arg) => arg.startsWith("channel="))?.slice("channel=".length);
const decoder = new FrameDecoder(maxFrameBytes);
const stderr = Deno.stderr;
const encoder = new TextEncoder();
/** Frames to the host; a failed write means the host is gone. */
const channelOut = new FrameWriter(() => Deno.exit(0));
let handler: Record<string, unknown> | null = null;
let allowed: readonly string[] = [];
let started = false;
let exiting = false;

// 1. The channel.
if (channelPath === undefined) Deno.exit(0);
void readChannel(channelPath);
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

/** Connects to the host, gives up the socket's grants, and reads until EOF (the host closed it or is gone), then exits. */
async function readChannel(path: string): Promise<void> {
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path });
    revokeChannelGrants(path);
  } catch (error) {
    log(`cannot open the channel: ${describe(error)}`);
    return Deno.exit(70);
  }
  channelOut.attach(conn);
  // The decoder copies what it keeps, so one buffer serves every read.
  const buffer = new Uint8Array(256 * 1024);
  for (;;) {
    let read: number | null;
    try {
      read = await conn.read(buffer);
    } catch {
      read = null;
    }
    if (read === null) return Deno.exit(0);
    if (!exiting) onBytes(buffer.subarray(0, read));
  }
}

/** Drops the grants the channel's path needed to connect, and checks they are gone before any plugin code runs. */
function revokeChannelGrants(path: string): void {
  const grants: Deno.PermissionDescriptor[] = [
    { name: "read", path },
    { name: "write", path },
    { name: "net", host: `unix:${path}` },
  ];
  for (const grant of grants) {
    Deno.permissions.revokeSync(grant);
    if (Deno.permissions.querySync(grant).state === "granted") throw new Error(`the ${grant.name} grant stayed`);
  }
}

// 2. Plugin output goes to the logs (stderr); each call's trace context rides on its fetches.
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

/** Sends a message to the host, after every message sent before it. */
function send(message: ChildMessage): void {
  let frame: Uint8Array;
  try {
    frame = encodeFrame(message, maxFrameBytes);
  } catch (error) {
    if (message.type !== "result") throw error;
    const code = error instanceof FrameError ? "too_large" : "bad_result";
    return send({ type: "error", id: message.id, error: { code, message: describe(error) } });
  }
  channelOut.write(frame);
}

/** Exits once every message sent so far is written; reads nothing more meanwhile. */
function exit(code: number): void {
  exiting = true;
  void channelOut.drained().then(() => Deno.exit(code));
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
