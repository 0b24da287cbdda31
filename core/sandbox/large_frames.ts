/**
 * The main thread's side of the answer worker (`answer_worker.ts`): one
 * worker for the whole service, started with the first frame of megabytes
 * and stopped when the last process that used it has closed (so a test that
 * closes its supervisors leaves no worker behind). Frames are handled one at
 * a time, in the order they are sent; each process sends its next frame only
 * once the last one's reply is in, so its answers keep their order.
 *
 * @module
 */

import { type EncodeAs, EncodedList } from "../encoded_list.ts";
import type { ChildMessage } from "./protocol.ts";
import { FrameError } from "./protocol.ts";
import type { FrameReply } from "./answer_worker.ts";

/** The worker's module: its source beside this one, or `answer_worker.js` beside the `@imbi/plugin-testing` bundle. */
const WORKER = new URL(
  import.meta.url.endsWith(".ts") ? "./answer_worker.ts" : "./answer_worker.js",
  import.meta.url,
);

/** What the worker made of a frame: a message whose value is an {@linkcode EncodedList}, or the text to parse. */
export type LargeFrame = { redacted: boolean } & ({ message: ChildMessage } | { text: string });

let worker: Worker | null = null;
let users = 0;
let nextJob = 1;
const jobs = new Map<number, { resolve: (reply: FrameReply) => void; reject: (error: Error) => void }>();

function started(): Worker {
  if (worker !== null) return worker;
  const started = new Worker(WORKER, { type: "module", name: "imbi-answers" });
  started.onmessage = (event: MessageEvent<FrameReply>) => {
    const job = jobs.get(event.data.job);
    jobs.delete(event.data.job);
    job?.resolve(event.data);
  };
  started.onerror = (event) => {
    // The worker's own failure (out of memory, a bug): the frames it held fail as bad frames, and the next frame
    // starts a new worker. The service goes on.
    event.preventDefault();
    stop();
    const error = new FrameError("malformed", `the answer worker failed: ${event.message}`);
    for (const job of jobs.values()) job.reject(error);
    jobs.clear();
  };
  return worker = started;
}

/** Whether the answer worker is running now (for tests: it stops when its last user is released). */
export function answerWorkerRunning(): boolean {
  return worker !== null;
}

function stop(): void {
  worker?.terminate();
  worker = null;
}

/**
 * One user of the answer worker (a plugin process): call {@linkcode LargeFrames.release} when it is done.
 */
export class LargeFrames {
  #released = false;

  constructor() {
    users++;
  }

  /**
   * Hands a frame body to the worker (the body's buffer is transferred: it is unusable here afterwards).
   *
   * @param body The frame's body.
   * @param secrets The values to redact from it first; null for none.
   * @param encode The calls in flight that take a list answer encoded, by call id.
   * @returns The message with an {@linkcode EncodedList} value, or the text to parse; and whether anything was redacted.
   * @throws {FrameError} When the frame is not UTF-8 or (for a call that takes an encoded list) not a valid message.
   */
  async handle(
    body: Uint8Array,
    secrets: Record<string, string> | null,
    encode: Record<number, EncodeAs>,
  ): Promise<LargeFrame> {
    const job = nextJob++;
    const target = started();
    const reply = await new Promise<FrameReply>((resolve, reject) => {
      jobs.set(job, { resolve, reject });
      target.postMessage({ job, body, secrets, encode }, [body.buffer as ArrayBuffer]);
    });
    if ("error" in reply) throw new FrameError(reply.error.reason, reply.error.message);
    if ("text" in reply) return { redacted: reply.redacted, text: reply.text };
    const { message, method, json, length, masked } = reply.encoded;
    return { redacted: reply.redacted, message: { ...message, value: new EncodedList(method, json, length, masked) } };
  }

  /** This user is done; the worker stops with the last one (idempotent). */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    if (--users === 0) stop();
  }
}
