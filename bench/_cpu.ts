/**
 * CPU time per request of each process on a load's path, from `/proc/<pid>/stat` (user plus system time) before
 * and after one wrk run: where a request's CPU goes when the machine, not one process, is the bound. Private to
 * `bench/`; `bench/profile.ts cpu` prints it.
 *
 * @module
 */

import { descendants, isPluginProcess } from "./_processes.ts";
import { runWrk, type WrkOptions } from "./_wrk.ts";

/** Clock ticks per second of `/proc/<pid>/stat` (`getconf CLK_TCK`, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** One process (or group of processes) to account for, by a function giving its pids now. */
export interface Accounted {
  /** What it is, for the table. */
  label: string;
  /** Its process ids at the time of the call. */
  pids: () => Promise<number[]>;
}

/** CPU of one accounted part over a run. */
export interface CpuShare {
  /** The part's label. */
  label: string;
  /** CPU milliseconds over the run. */
  ms: number;
  /** Of which in the kernel (system time). */
  systemMs: number;
  /** CPU microseconds per request answered. */
  perRequestUs: number;
}

/** User and system CPU ticks of a process; zeros once it exited. */
async function ticks(pid: number): Promise<[number, number]> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return [Number(fields[11]), Number(fields[12])]; // utime, stime
  } catch {
    return [0, 0];
  }
}

async function snapshot(parts: Accounted[]): Promise<Map<number, [number, number]>[]> {
  const out: Map<number, [number, number]>[] = [];
  for (const part of parts) {
    const byPid = new Map<number, [number, number]>();
    for (const pid of await part.pids()) byPid.set(pid, await ticks(pid));
    out.push(byPid);
  }
  return out;
}

/**
 * The pids of a service's plugin processes (its descendants that run the sandbox bootstrap), or of its other
 * descendants (the jails the plugin processes run under, when confinement has them).
 *
 * @param servicePid The service's process id.
 * @param which `plugins` or `jails`.
 * @returns A function giving their pids now.
 */
export function descendantPids(servicePid: number, which: "plugins" | "jails"): () => Promise<number[]> {
  return async () =>
    (await descendants(servicePid)).filter((d) => isPluginProcess(d.cmdline) === (which === "plugins")).map((d) =>
      d.pid
    );
}

/**
 * Runs wrk against `url` and accounts each part's CPU over the run. A process that exits during the run counts
 * its CPU up to its last snapshot; one that starts during it counts from 0.
 *
 * @param url What wrk loads.
 * @param parts The processes to account for.
 * @param load wrk's connections, seconds and headers.
 * @returns Requests per second and each part's share.
 */
export async function cpuPerRequest(
  url: string,
  parts: Accounted[],
  load: WrkOptions,
): Promise<{ rps: number; requests: number; shares: CpuShare[] }> {
  const before = await snapshot(parts);
  const result = await runWrk(url, load);
  const after = await snapshot(parts);
  const shares = parts.map((part, i): CpuShare => {
    let user = 0;
    let system = 0;
    for (const [pid, [endUser, endSystem]] of after[i]!) {
      const [startUser, startSystem] = before[i]!.get(pid) ?? [0, 0];
      user += endUser - startUser;
      system += endSystem - startSystem;
    }
    const ms = ((user + system) * 1000) / TICKS_PER_SECOND;
    const perRequestUs = result.requests > 0 ? (ms * 1000) / result.requests : Number.NaN;
    return { label: part.label, ms, systemMs: (system * 1000) / TICKS_PER_SECOND, perRequestUs };
  });
  return { rps: result.rps, requests: result.requests, shares };
}

/**
 * One load's accounting as text lines.
 *
 * @param title What was loaded.
 * @param run The accounting.
 * @returns The lines.
 */
export function cpuTable(title: string, run: Awaited<ReturnType<typeof cpuPerRequest>>): string {
  const total = run.shares.reduce((sum, s) => sum + s.perRequestUs, 0);
  const lines = run.shares.map((s) =>
    `  ${s.label.padEnd(28)} ${s.ms.toFixed(0).padStart(7)} ms CPU (${s.systemMs.toFixed(0).padStart(5)} ms system)  ` +
    `${s.perRequestUs.toFixed(0).padStart(6)} µs/request`
  );
  return `${title}: ${Math.round(run.rps)} req/s, ${run.requests} requests\n${lines.join("\n")}\n` +
    `  ${"total".padEnd(28)} ${"".padStart(35)}  ${total.toFixed(0).padStart(6)} µs/request\n`;
}
