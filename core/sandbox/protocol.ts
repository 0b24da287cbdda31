/**
 * The message channel between the supervisor and a plugin process (spec
 * section 5): frames of a 4-byte big-endian length and UTF-8 JSON, and the
 * messages they carry, a discriminated union on `type` in each direction.
 *
 * The trusted child program (`bootstrap.ts`) imports this file too, and runs
 * with `--no-config`: keep its imports type-only.
 *
 * @module
 */

import type { HandlerInit } from "@imbi/plugin-sdk/types";

/** The default frame size limit: 16 MiB. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** The deepest nesting of arrays and objects an answer may have (both sides check it). */
export const MAX_ANSWER_DEPTH = 64;

/** Bytes of a frame's length prefix. */
const HEADER_BYTES = 4;

const encoder = new TextEncoder();

// ---------------------------------------------------------------- messages

/** Host → child: load the bundle and construct one handler. First message of a serving process. */
export interface InitMessage {
  /** The discriminator. */
  type: "init";
  /** `file:` URL of the package's single-file bundle. */
  bundle: string;
  /** Manifest slug of the handler class to construct. */
  entry: string;
  /** Callable methods per plugin type (the SDK's `PROTOCOL_METHODS`). */
  methods: Record<string, string[]>;
  /** What the handler's constructor gets, credentials included. */
  init: HandlerInit;
}

/** Host → child: load the bundle, report its exported manifests, exit. Never constructs a handler. */
export interface InspectMessage {
  /** The discriminator. */
  type: "inspect";
  /** `file:` URL of the single-file bundle to inspect. */
  bundle: string;
}

/** Host → child: call one handler method. */
export interface CallMessage {
  /** The discriminator. */
  type: "call";
  /** Call id, unique within one process. */
  id: number;
  /** The handler method, one of its plugin type's methods. */
  method: string;
  /** Its arguments, the call context first. */
  args: unknown[];
  /** The host request's id, for logs. */
  request_id: string;
  /** The W3C trace context of the host's plugin-call span, when tracing is on. */
  traceparent?: string;
}

/** Host → child: finish and exit now. */
export interface ShutdownMessage {
  /** The discriminator. */
  type: "shutdown";
}

/** Every message the host sends. */
export type HostMessage = InitMessage | InspectMessage | CallMessage | ShutdownMessage;

/** Why a call failed inside the child. */
export type WireErrorCode =
  /** The handler threw; `kind` is set when the thrown value carried one. */
  | "thrown"
  /** The handler has no such method (or it is not one of its type's methods). */
  | "not_implemented"
  /** The result's frame would exceed the frame size limit. */
  | "too_large"
  /** The result is not JSON-serialisable. */
  | "bad_result";

/** A failure as it crosses the channel. */
export interface WireError {
  /** Why the call failed. */
  code: WireErrorCode;
  /** The handler error's `kind` field, unchecked: the host decides what it means. */
  kind?: string;
  /** The thrown value's class name, for logs. */
  name?: string;
  /** The thrown value's message, not yet scrubbed of secrets. */
  message: string;
  /** The handler error's `retryAfter`, in seconds. */
  retry_after?: number;
}

/** Child → host: the handler is constructed; calls may follow. */
export interface ReadyMessage {
  /** The discriminator. */
  type: "ready";
}

/** Child → host: loading the bundle or constructing the handler failed; the child exits. */
export interface InitFailedMessage {
  /** The discriminator. */
  type: "init_failed";
  /** What failed: the import, a missing entry, or the constructor's throw. */
  error: WireError;
}

/** Child → host: a call's result. `value` is absent when the handler returned undefined. */
export interface ResultMessage {
  /** The discriminator. */
  type: "result";
  /** The id of the call answered. */
  id: number;
  /** The handler's result, as JSON. */
  value?: unknown;
  /** Client spans of the call's fetches (`child_trace.ts`), unchecked: the host checks them. */
  spans?: unknown[];
}

/** Child → host: a call failed. */
export interface ErrorMessage {
  /** The discriminator. */
  type: "error";
  /** The id of the call answered. */
  id: number;
  /** Why it failed. */
  error: WireError;
  /** Client spans of the call's fetches, unchecked. */
  spans?: unknown[];
}

/** Child → host: an unhandled rejection or uncaught error; the child exits next. */
export interface FatalMessage {
  /** The discriminator. */
  type: "fatal";
  /** What happened, at most 2000 characters. */
  message: string;
}

/** One exported handler class as inspection saw it. */
export interface InspectedEntry {
  /** Position in the `plugins` array. */
  index: number;
  /** The class's `name`, `""` when it has none. */
  className: string;
  /** The static manifest round-tripped through JSON; undefined when absent or not JSON. */
  manifest?: unknown;
}

/** Child → host: the answer to `inspect`. */
export interface InspectedMessage {
  /** The discriminator. */
  type: "inspected";
  /** Every exported class, or why the module is not a plugin package. */
  result: { ok: true; entries: InspectedEntry[] } | { ok: false; reason: string };
}

/** Every message the child sends. */
export type ChildMessage =
  | ReadyMessage
  | InitFailedMessage
  | ResultMessage
  | ErrorMessage
  | FatalMessage
  | InspectedMessage;

// ------------------------------------------------------------------ errors

/** A frame broke the channel's rules; the sending process must be replaced. */
export class FrameError extends Error {
  /** Always `"FrameError"`. */
  override name = "FrameError";
  /** `too_large`: above the limit; `malformed`: not UTF-8 JSON or not a valid message. */
  readonly reason: "too_large" | "malformed";

  /**
   * Makes a frame error.
   *
   * @param reason `too_large` or `malformed`.
   * @param message What was wrong with the frame.
   * @param options `cause`.
   */
  constructor(reason: FrameError["reason"], message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

// ------------------------------------------------------------------ frames

/**
 * Encodes one message as a frame.
 *
 * @param message Any JSON-serialisable value.
 * @param maxFrameBytes The largest body allowed.
 * @returns The length prefix and the UTF-8 JSON body.
 * @throws {FrameError} `too_large` when the body exceeds `maxFrameBytes`.
 * @throws {TypeError} When the value is not JSON-serialisable (cycles, BigInt).
 */
export function encodeFrame(message: unknown, maxFrameBytes: number): Uint8Array {
  const json = JSON.stringify(message);
  if (typeof json !== "string") throw new TypeError("the message is not JSON-serialisable");
  // A UTF-8 body is at least as long as its UTF-16 length: refuse before encoding.
  if (json.length > maxFrameBytes) throw tooLarge(json.length, maxFrameBytes);
  const body = encoder.encode(json);
  if (body.length > maxFrameBytes) throw tooLarge(body.length, maxFrameBytes);
  const frame = new Uint8Array(HEADER_BYTES + body.length);
  new DataView(frame.buffer).setUint32(0, body.length);
  frame.set(body, HEADER_BYTES);
  return frame;
}

function tooLarge(size: number, max: number): FrameError {
  return new FrameError("too_large", `a frame of at least ${size} bytes exceeds the ${max}-byte limit`);
}

/**
 * Splits a byte stream into frames and parses their JSON. It never holds
 * more than one frame's body: a length prefix above the limit throws before
 * any of that body is read.
 */
export class FrameDecoder {
  #max: number;
  #header = new Uint8Array(HEADER_BYTES);
  #headerFill = 0;
  #body: Uint8Array | null = null;
  #bodyFill = 0;
  #text = new TextDecoder("utf-8", { fatal: true });

  /**
   * Makes a decoder for one stream.
   *
   * @param maxFrameBytes The largest body accepted.
   */
  constructor(maxFrameBytes: number) {
    this.#max = maxFrameBytes;
  }

  /** True while a frame is partly read. */
  get partial(): boolean {
    return this.#headerFill > 0 || this.#body !== null;
  }

  /**
   * Feeds bytes in.
   *
   * @param chunk The next bytes of the stream.
   * @returns The parsed JSON value of every frame the chunk completed.
   * @throws {FrameError} On a length above the limit, a zero length, or a body that is not UTF-8 JSON.
   */
  push(chunk: Uint8Array): unknown[] {
    return this.pushBodies(chunk).map((body) => parseBody(body, this.#text));
  }

  /**
   * Feeds bytes in, without parsing: for a reader that parses large bodies
   * its own way (`answer_parser.ts`).
   *
   * @param chunk The next bytes of the stream.
   * @returns The body of every frame the chunk completed.
   * @throws {FrameError} On a length above the limit or a zero length.
   */
  pushBodies(chunk: Uint8Array): Uint8Array[] {
    const values: Uint8Array[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#body === null) {
        const take = Math.min(HEADER_BYTES - this.#headerFill, chunk.length - offset);
        this.#header.set(chunk.subarray(offset, offset + take), this.#headerFill);
        this.#headerFill += take;
        offset += take;
        if (this.#headerFill < HEADER_BYTES) break;
        const size = new DataView(this.#header.buffer).getUint32(0);
        this.#headerFill = 0;
        if (size > this.#max) {
          throw new FrameError("too_large", `a frame of ${size} bytes exceeds the ${this.#max}-byte limit`);
        }
        if (size === 0) throw new FrameError("malformed", "a frame has an empty body");
        this.#body = new Uint8Array(size);
        this.#bodyFill = 0;
      }
      const body: Uint8Array = this.#body;
      const take = Math.min(body.length - this.#bodyFill, chunk.length - offset);
      body.set(chunk.subarray(offset, offset + take), this.#bodyFill);
      this.#bodyFill += take;
      offset += take;
      if (this.#bodyFill === body.length) {
        this.#body = null;
        values.push(body);
      }
    }
    return values;
  }
}

/** What {@linkcode FrameWriter} writes to: a connection's `write`, which may write part of what it is given. */
export interface ByteSink {
  /** Writes some of `bytes`; resolves to how many. */
  write(bytes: Uint8Array): Promise<number>;
}

/**
 * Writes frames to one end of the channel whole and in their order. Frames
 * written in one turn of the event loop go out in one write: under load that
 * is one syscall and one wake-up of the other side for many frames. Frames
 * written before {@linkcode FrameWriter.attach} wait for the connection.
 */
export class FrameWriter {
  #sink: ByteSink | null = null;
  #queue: Uint8Array[] = [];
  #pumping: Promise<void> | null = null;
  #failed = false;
  #onError: (error: unknown) => void;

  /**
   * Makes a writer with nothing to write to yet.
   *
   * @param onError Told once when a write fails (the other side is gone); later frames are dropped.
   */
  constructor(onError: (error: unknown) => void) {
    this.#onError = onError;
  }

  /**
   * Starts writing to the connection, frames already queued first.
   *
   * @param sink The connection.
   */
  attach(sink: ByteSink): void {
    this.#sink = sink;
    this.#pump();
  }

  /**
   * Queues bytes; they are written after everything queued before them.
   *
   * @param bytes One or more whole frames.
   */
  write(bytes: Uint8Array): void {
    if (this.#failed) return;
    this.#queue.push(bytes);
    if (this.#queue.length === 1) queueMicrotask(() => this.#pump());
  }

  /** Resolves once every frame queued so far is written, or writing failed. */
  async drained(): Promise<void> {
    while (this.#pumping !== null) await this.#pumping;
  }

  #pump(): void {
    const sink = this.#sink;
    if (this.#pumping !== null || sink === null || this.#queue.length === 0) return;
    this.#pumping = this.#writeQueued(sink).then(() => {
      this.#pumping = null;
      this.#pump();
    });
  }

  async #writeQueued(sink: ByteSink): Promise<void> {
    const chunks = this.#queue;
    this.#queue = [];
    let bytes = chunks.length === 1 ? chunks[0]! : concat(chunks);
    try {
      while (bytes.length > 0) bytes = bytes.subarray(await sink.write(bytes));
    } catch (error) {
      this.#failed = true;
      this.#queue = [];
      this.#onError(error);
    }
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

function parseBody(body: Uint8Array, text: TextDecoder): unknown {
  try {
    return JSON.parse(text.decode(body));
  } catch (cause) {
    throw new FrameError("malformed", "a frame is not UTF-8 JSON", { cause });
  }
}

// -------------------------------------------------------------- validation

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isCallId(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function malformed(what: string): FrameError {
  return new FrameError("malformed", `invalid message: ${what}`);
}

function only(message: Obj, keys: string[]): void {
  for (const key of Object.keys(message)) {
    if (!keys.includes(key)) throw malformed(`unexpected field "${key}" in a "${String(message.type)}" message`);
  }
}

function parseWireError(value: unknown): WireError {
  if (!isObject(value)) throw malformed("error is not an object");
  only(value, ["code", "kind", "name", "message", "retry_after"]);
  const { code, kind, name, message, retry_after } = value;
  if (code !== "thrown" && code !== "not_implemented" && code !== "too_large" && code !== "bad_result") {
    throw malformed("error.code is unknown");
  }
  if (typeof message !== "string") throw malformed("error.message is not a string");
  if (kind !== undefined && typeof kind !== "string") throw malformed("error.kind is not a string");
  if (name !== undefined && typeof name !== "string") throw malformed("error.name is not a string");
  if (retry_after !== undefined && (typeof retry_after !== "number" || !Number.isFinite(retry_after))) {
    throw malformed("error.retry_after is not a number");
  }
  const error: WireError = { code, message };
  if (kind !== undefined) error.kind = kind;
  if (name !== undefined) error.name = name;
  if (retry_after !== undefined) error.retry_after = retry_after;
  return error;
}

function parseInspected(value: unknown): InspectedMessage["result"] {
  if (!isObject(value)) throw malformed("result is not an object");
  if (value.ok === false) {
    if (typeof value.reason !== "string") throw malformed("result.reason is not a string");
    return { ok: false, reason: value.reason };
  }
  if (value.ok !== true || !Array.isArray(value.entries)) throw malformed("result.entries is not a list");
  const entries = value.entries.map((entry: unknown): InspectedEntry => {
    if (!isObject(entry) || !isCallId(entry.index) || typeof entry.className !== "string") {
      throw malformed("an inspected entry lacks index or className");
    }
    const out: InspectedEntry = { index: entry.index, className: entry.className };
    if (entry.manifest !== undefined) out.manifest = entry.manifest;
    return out;
  });
  return { ok: true, entries };
}

/**
 * Checks a decoded frame from a plugin process.
 *
 * @param value The frame's parsed JSON.
 * @returns The message, typed.
 * @throws {FrameError} `malformed` when it is not exactly one of the child messages.
 */
export function parseChildMessage(value: unknown): ChildMessage {
  if (!isObject(value)) throw malformed("not an object");
  switch (value.type) {
    case "ready":
      only(value, ["type"]);
      return { type: "ready" };
    case "init_failed":
      only(value, ["type", "error"]);
      return { type: "init_failed", error: parseWireError(value.error) };
    case "result": {
      only(value, ["type", "id", "value", "spans"]);
      if (!isCallId(value.id)) throw malformed("result.id is not a call id");
      const message: ResultMessage = { type: "result", id: value.id };
      if ("value" in value) message.value = value.value;
      if (Array.isArray(value.spans)) message.spans = value.spans;
      return message;
    }
    case "error": {
      only(value, ["type", "id", "error", "spans"]);
      if (!isCallId(value.id)) throw malformed("error.id is not a call id");
      const message: ErrorMessage = { type: "error", id: value.id, error: parseWireError(value.error) };
      if (Array.isArray(value.spans)) message.spans = value.spans;
      return message;
    }
    case "fatal":
      only(value, ["type", "message"]);
      if (typeof value.message !== "string") throw malformed("fatal.message is not a string");
      return { type: "fatal", message: value.message };
    case "inspected":
      only(value, ["type", "result"]);
      return { type: "inspected", result: parseInspected(value.result) };
    default:
      throw malformed(`unknown type ${JSON.stringify(value.type)}`);
  }
}

/**
 * Checks a decoded frame from the host (used by the child).
 *
 * @param value The frame's parsed JSON.
 * @returns The message, typed.
 * @throws {FrameError} `malformed` when it is not exactly one of the host messages.
 */
export function parseHostMessage(value: unknown): HostMessage {
  if (!isObject(value)) throw malformed("not an object");
  switch (value.type) {
    case "init": {
      only(value, ["type", "bundle", "entry", "methods", "init"]);
      const { bundle, entry, methods, init } = value;
      if (typeof bundle !== "string" || !bundle.startsWith("file:")) throw malformed("init.bundle is not a file URL");
      if (typeof entry !== "string") throw malformed("init.entry is not a string");
      if (
        !isObject(methods) ||
        !Object.values(methods).every((list) => Array.isArray(list) && list.every((m) => typeof m === "string"))
      ) {
        throw malformed("init.methods is not a map of method lists");
      }
      if (!isObject(init) || !isObject(init.options) || !isObject(init.credentials)) {
        throw malformed("init.init is not a handler init");
      }
      return { type: "init", bundle, entry, methods: methods as Record<string, string[]>, init: init as never };
    }
    case "inspect":
      only(value, ["type", "bundle"]);
      if (typeof value.bundle !== "string" || !value.bundle.startsWith("file:")) {
        throw malformed("inspect.bundle is not a file URL");
      }
      return { type: "inspect", bundle: value.bundle };
    case "call":
      only(value, ["type", "id", "method", "args", "request_id", "traceparent"]);
      if (!isCallId(value.id)) throw malformed("call.id is not a call id");
      if (typeof value.method !== "string") throw malformed("call.method is not a string");
      if (!Array.isArray(value.args)) throw malformed("call.args is not a list");
      if (typeof value.request_id !== "string") throw malformed("call.request_id is not a string");
      if (value.traceparent !== undefined && typeof value.traceparent !== "string") {
        throw malformed("call.traceparent is not a string");
      }
      return {
        type: "call",
        id: value.id,
        method: value.method,
        args: value.args,
        request_id: value.request_id,
        ...(value.traceparent !== undefined ? { traceparent: value.traceparent as string } : {}),
      };
    case "shutdown":
      only(value, ["type"]);
      return { type: "shutdown" };
    default:
      throw malformed(`unknown type ${JSON.stringify(value.type)}`);
  }
}
