/**
 * What a running sandbox tells its readers: a snapshot per Plugin node
 * ({@linkcode SupervisorStats}: queue depth, processes, starts and exits by
 * cause) and events as they happen ({@linkcode SupervisorEvent}). A metrics
 * exporter reads the first through `SandboxPool.list()` and subscribes to
 * the second with the `onEvent` option; nothing here depends on a metrics
 * library.
 *
 * @module
 */

/** Why a process stopped: it failed (`crash`, `timeout`, `memory`) or was stopped (`idle`, `drain`, `close`). */
export type ExitCause = "crash" | "timeout" | "memory" | "idle" | "drain" | "close";

/** Every {@linkcode ExitCause}, for counters. */
export const EXIT_CAUSES: readonly ExitCause[] = ["crash", "timeout", "memory", "idle", "drain", "close"];

/** Something a metrics reader counts, as it happens. */
export type SupervisorEvent =
  | { type: "process_started"; nodeId: string; pid: number; ms: number }
  | { type: "process_exited"; nodeId: string; pid: number; cause: ExitCause }
  | { type: "queue_full"; nodeId: string; queued: number }
  | { type: "queue_timeout"; nodeId: string; waitedMs: number }
  | { type: "large_answer"; nodeId: string; pid: number; bytes: number };

/** One live process of a node. */
export interface ProcessStats {
  /** Its process id. */
  pid: number;
  /** `starting` until its handler is constructed, then `ready`. */
  state: "starting" | "ready";
  /** Calls in flight on it. */
  inFlight: number;
}

/** A snapshot of a supervisor, for health pages, metrics and tests. */
export interface SupervisorStats {
  /** The first live process's id, or null when none runs. */
  pid: number | null;
  /** `idle`, `starting`, `ready`, `backoff`, `draining` or `closed`. */
  state: string;
  /** Calls in flight, over all processes. */
  inFlight: number;
  /** Calls waiting in the queue. */
  queued: number;
  /** The live processes. */
  processes: ProcessStats[];
  /** Processes started so far. */
  spawns: number;
  /** Processes ended so far, by cause. */
  exits: Record<ExitCause, number>;
  /** Calls refused because the queue was full. */
  queueFull: number;
  /** Calls whose deadline passed in the queue. */
  queueTimeouts: number;
  /** How the last process ended and why, e.g. `code 0 (idle)`. */
  lastExit: string | null;
}
