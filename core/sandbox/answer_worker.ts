/**
 * The answer worker: a plugin's answer frame of megabytes is decoded,
 * searched for the node's credentials, parsed, shape-checked and serialised
 * again here, on a thread of its own, so none of that work or its garbage
 * (about 60 MB for a 10.9 MB listing) lands on the service's main thread,
 * where it held up every other request (issue 9, requirement 3).
 * `large_frames.ts` is its client; the protocol between them is
 * {@linkcode FrameJob} and {@linkcode FrameReply}.
 *
 * A `listKeys` or `getValues` answer to a call that asked for it comes back
 * as an {@linkcode EncodedList}'s parts (transferred, not copied). Anything
 * else comes back as the redacted text, for the main thread to parse in
 * slices as before (`answer_parser.ts`), so what a caller sees does not
 * depend on the thread: an answer that breaks the protocol fails with the
 * same message either way.
 *
 * @module
 */

import type { ConfigValue } from "@imbi/plugin-sdk";
import * as results from "@imbi/plugin-sdk";
import { type EncodeAs, type EncodedMethod, maskedValue } from "../encoded_list.ts";
import { parseWhole } from "./answer_parser.ts";
import { FrameError, parseChildMessage, type ResultMessage } from "./protocol.ts";
import { makeRedactor } from "./redact.ts";

/** One frame to handle. */
export interface FrameJob {
  job: number;
  /** The frame's body; transferred. */
  body: Uint8Array;
  /** The node's credentials and secret options, redacted from the text before it is parsed; null for none. */
  secrets: Record<string, string> | null;
  /** The calls in flight that take an encoded list, by call id. */
  encode: Record<number, EncodeAs>;
}

/** What came of a {@linkcode FrameJob}. */
export type FrameReply =
  | {
    job: number;
    redacted: boolean;
    /** The result message without its value, and the value's parts. */
    encoded: {
      message: Omit<ResultMessage, "value">;
      method: EncodedMethod;
      json: Uint8Array;
      length: number;
      masked: Uint8Array | null;
    };
  }
  | { job: number; redacted: boolean; text: string }
  | { job: number; error: { reason: FrameError["reason"]; message: string } };

const CHECKS: Record<EncodedMethod, (value: unknown) => unknown[]> = {
  listKeys: results.parseConfigKeys,
  getValues: results.parseConfigValues,
};

const encoder = new TextEncoder();

/**
 * Handles one frame.
 *
 * @param job The frame and what to do with it.
 * @returns The reply, and the buffers to transfer with it.
 */
function handleFrame(job: FrameJob): { reply: FrameReply; transfer: ArrayBuffer[] } {
  try {
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(job.body);
    } catch (cause) {
      throw new FrameError("malformed", "a frame is not UTF-8 JSON", { cause });
    }
    let redacted = false;
    if (job.secrets !== null) {
      const scrubbed = makeRedactor(job.secrets)(text);
      redacted = scrubbed !== text;
      text = scrubbed;
    }
    const encoded = Object.keys(job.encode).length > 0 ? encode(text, job.encode) : undefined;
    if (encoded === undefined) return { reply: { job: job.job, redacted, text }, transfer: [] };
    const transfer = [encoded.json.buffer as ArrayBuffer];
    if (encoded.masked !== null) transfer.push(encoded.masked.buffer as ArrayBuffer);
    return { reply: { job: job.job, redacted, encoded }, transfer };
  } catch (error) {
    const reason = error instanceof FrameError ? error.reason : "malformed";
    return { reply: { job: job.job, error: { reason, message: (error as Error).message } }, transfer: [] };
  }
}

/** The encoded answer, or undefined when the frame is not a list answer to a call that takes one, or breaks its check. */
function encode(text: string, calls: Record<number, EncodeAs>) {
  const message = parseChildMessage(parseWhole(text));
  if (message.type !== "result") return undefined;
  const as = calls[message.id];
  if (as === undefined) return undefined;
  let list: unknown[];
  try {
    list = CHECKS[as.method](message.value);
  } catch {
    // The main thread checks it again, to fail the call with the message it always has.
    return undefined;
  }
  const { value: _, ...rest } = message;
  const secretTypes = new Set(as.secretTypes);
  const shown = as.method === "getValues" ? (list as ConfigValue[]).map((item) => maskedValue(item, secretTypes)) : [];
  const masked = shown.some((item, i) => item !== list[i]) ? encoder.encode(JSON.stringify(shown)) : null;
  return { message: rest, method: as.method, json: encoder.encode(JSON.stringify(list)), length: list.length, masked };
}

/** The worker's global scope, typed here without the worker lib (whose types clash with Node's in the test kit's). */
interface WorkerScope {
  onmessage: ((event: MessageEvent<FrameJob>) => void) | null;
  postMessage(message: FrameReply, transfer: ArrayBuffer[]): void;
}

if ("WorkerGlobalScope" in globalThis) {
  const scope = globalThis as unknown as WorkerScope;
  scope.onmessage = (event) => {
    const { reply, transfer } = handleFrame(event.data);
    scope.postMessage(reply, transfer);
  };
}
