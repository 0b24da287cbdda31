/**
 * The waiting line of one Plugin node: calls that found every process of the
 * node busy wait here, first in first out, each inside its own deadline. A
 * bounded queue is what turns a burst into latency instead of refusals: only
 * a full queue refuses, and a call whose deadline passes while it waits
 * leaves the line (issue 9).
 *
 * @module
 */

import type { PluginCallTrace } from "../ops/tracing.ts";
import { Deadlines } from "./deadlines.ts";
import type { EncodeAs } from "../encoded_list.ts";

/** One waiting call: what to send, when it gives up, and how to answer its caller. */
export interface QueuedCall<T> {
  /** The handler method. */
  method: string;
  /** Its arguments. */
  args: unknown[];
  /** The host request's id. */
  requestId: string;
  /** A long list answer may come back encoded (`Supervisor.call`'s option). */
  encode?: EncodeAs | undefined;
  /**
   * When the caller's deadline passes, in `performance.now()` milliseconds;
   * `Infinity` while the call waits for the node's first process to start
   * (start-up has its own deadline), until {@linkcode CallQueue.started}.
   */
  deadline: number;
  /** The call's own deadline, ms: what it gets from when a process is there to take it. */
  timeoutMs: number;
  /** When it joined the queue, in `performance.now()` milliseconds. */
  enqueuedAt: number;
  /** Its span: the queue wait and the process's spans are reported into it. */
  trace: PluginCallTrace;
  /** Answers the caller. */
  resolve: (value: T) => void;
  /** Fails the caller. */
  reject: (error: Error) => void;
}

/**
 * A bounded FIFO of calls, each with a deadline; all deadlines share one timer.
 *
 * @example
 * ```ts
 * const queue = new CallQueue<unknown>(256, (call) => call.reject(new Error("deadline passed in the queue")));
 * if (!queue.full) queue.push(call);
 * const next = queue.shift();
 * ```
 */
export class CallQueue<T> {
  #max: number;
  #calls = new Set<QueuedCall<T>>();
  #deadlines: Deadlines<QueuedCall<T>>;

  /**
   * Makes an empty queue.
   *
   * @param max Most calls that may wait.
   * @param onExpire Called with a call whose deadline passed; it has left the queue already.
   */
  constructor(max: number, onExpire: (call: QueuedCall<T>) => void) {
    this.#max = max;
    this.#deadlines = new Deadlines((call) => {
      this.#calls.delete(call);
      onExpire(call);
    });
  }

  /** Calls waiting. */
  get length(): number {
    return this.#calls.size;
  }

  /** True when another call would exceed the bound. */
  get full(): boolean {
    return this.#calls.size >= this.#max;
  }

  /**
   * Adds a call at the end of the line.
   *
   * @param call The call.
   * @throws {RangeError} When the queue is full (check {@linkcode CallQueue.full} first).
   */
  push(call: QueuedCall<T>): void {
    if (this.full) throw new RangeError(`the queue holds ${this.#max} calls already`);
    this.#calls.add(call);
    if (call.deadline !== Infinity) this.#deadlines.add(call, call.deadline);
  }

  /**
   * A process is ready: the calls that were waiting for one to start get
   * their deadline now, counted from this moment.
   *
   * @param now `performance.now()`.
   */
  started(now: number): void {
    for (const call of this.#calls) {
      if (call.deadline !== Infinity) continue;
      call.deadline = now + call.timeoutMs;
      this.#deadlines.add(call, call.deadline);
    }
  }

  /** Takes the call at the head of the line, or undefined when none waits. */
  shift(): QueuedCall<T> | undefined {
    for (const call of this.#calls) {
      this.#calls.delete(call);
      this.#deadlines.delete(call);
      return call;
    }
    return undefined;
  }

  /** Takes every waiting call (to fail them) and clears the timer. */
  takeAll(): QueuedCall<T>[] {
    const calls = [...this.#calls];
    this.#calls.clear();
    this.#deadlines.stop();
    return calls;
  }
}
