/**
 * The limits and timings of a `Supervisor` (`supervisor.ts`): every option, its
 * default, and the one check that they fit together.
 *
 * @module
 */

import { defaultRssMb, PROCESS_DEFAULTS } from "./process.ts";
import type { SupervisorEvent } from "./stats.ts";

/** Limits and timings of a supervisor; every field has a default. */
export interface SupervisorOptions {
  /** Calls in flight per process; more wait in the queue (default 8). */
  maxConcurrent: number;
  /** Processes kept once the node has served a call; idle ones above this are reaped (default 0). */
  minProcesses: number;
  /** Most processes of one node, started on demand while calls wait (default: the number of cores). */
  maxProcesses: number;
  /**
   * Most calls waiting for a free process, a starting one included; one more
   * is refused with `saturated` (default 256, at least 1).
   */
  queueMax: number;
  /** V8 old-space cap of the child, MiB (default 128). */
  heapMb: number;
  /**
   * Memory cap of the child, MiB (default `2 × heapMb + 256`, 512 for the
   * default heap). The V8 heap cap does not cover ArrayBuffers, Wasm memory or
   * Workers; this cap does, enforced by the confinement (`confine.ts`: a
   * cgroup, else `RLIMIT_DATA`).
   */
  rssMb: number;
  /** Largest frame either side accepts (default 16 MiB). */
  maxFrameBytes: number;
  /** An idle process is shut down after this long (default 300 000 ms). */
  idleMs: number;
  /** First respawn back-off after a failure (default 250 ms); doubles per failure. */
  backoffInitialMs: number;
  /** Back-off ceiling (default 30 000 ms). */
  backoffMaxMs: number;
  /** `DENO_DIR` of the child (default: the confinement's private one, `pluginDenoDir()`). */
  denoDir?: string;
  /** Deadline from spawn to `ready` (default 10 000 ms). */
  startTimeoutMs: number;
  /** Grace between asking a child to exit and SIGKILL (default 500 ms). */
  graceMs: number;
  /** Clock for back-off decisions (default `Date.now`); tests pass a fake one. */
  now: () => number;
  /** Told about process starts and exits and refused or expired calls (metrics); must not throw. */
  onEvent?: (event: SupervisorEvent) => void;
}

const DEFAULTS: SupervisorOptions = {
  ...PROCESS_DEFAULTS,
  maxConcurrent: 8,
  minProcesses: 0,
  maxProcesses: defaultMaxProcesses(),
  queueMax: 256,
  rssMb: 0, // computed from heapMb unless given
  idleMs: 300_000,
  backoffInitialMs: 250,
  backoffMaxMs: 30_000,
  startTimeoutMs: 10_000,
  graceMs: 500,
  now: () => Date.now(),
};

/** The default most processes per node: the number of cores. */
export function defaultMaxProcesses(): number {
  return Math.max(1, navigator.hardwareConcurrency || 1);
}

/**
 * A supervisor's options with the defaults applied.
 *
 * @param nodeId The node, for the error message.
 * @param options What the caller set; undefined fields take their default.
 * @returns Every option.
 * @throws {RangeError} When `minProcesses` exceeds `maxProcesses` or a count is below 1.
 */
export function supervisorOptions(nodeId: string, options: Partial<SupervisorOptions>): SupervisorOptions {
  const all: SupervisorOptions = { ...DEFAULTS, ...withoutUndefined(options) };
  const { minProcesses, maxProcesses, maxConcurrent, queueMax } = all;
  if (maxProcesses < 1 || maxConcurrent < 1 || queueMax < 1 || minProcesses < 0 || minProcesses > maxProcesses) {
    throw new RangeError(
      `Cannot sandbox ${nodeId}: need 0 <= minProcesses (${minProcesses}) <= maxProcesses (${maxProcesses}), ` +
        `maxProcesses, maxConcurrent and queueMax >= 1`,
    );
  }
  if (options.rssMb === undefined) all.rssMb = defaultRssMb(all.heapMb);
  return all;
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
