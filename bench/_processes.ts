/**
 * The processes a benchmark runs: the service with `deno task serve`'s own
 * flags, helper programs, and their resident memory read from `/proc`.
 * Private to `bench/`.
 *
 * @module
 */

import { freePort } from "../tests/support/local.ts";

/** The repository root. */
export const ROOT = new URL("../", import.meta.url).pathname;

let nextPort = Number(Deno.env.get("IMBI_BENCH_PORT_BASE") ?? "0");

/**
 * A loopback port: the next of `IMBI_BENCH_PORT_BASE`'s range when it is set, otherwise a free one.
 *
 * @returns The port.
 */
export function benchPort(): number {
  return nextPort > 0 ? nextPort++ : freePort();
}

/**
 * The permission flags of `deno task serve`, read from `deno.json`, so the service under bench runs exactly as
 * operators run it.
 *
 * @returns The flags between `deno run` and `main.ts`.
 */
export async function serveFlags(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const command: string = config.tasks.serve.command ?? config.tasks.serve;
  const words = command.trim().split(/\s+/);
  if (words[0] !== "deno" || words[1] !== "run" || words.at(-1) !== "main.ts") {
    throw new Error(`deno.json's serve task is not "deno run <flags> main.ts": ${command}`);
  }
  return words.slice(2, -1);
}

/** A running service. */
export interface RunningService {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** The service's process id. */
  pid: number;
  /** Milliseconds from spawn until `/readyz` answered 200. */
  readyMs: number;
  /** Sends SIGTERM and waits for the exit. */
  stop(): Promise<void>;
}

/**
 * Starts `main.ts` with the serve task's flags and waits until `/readyz` answers 200 (polled every 5 ms).
 *
 * @param env The service's `IMBI_*` settings (port and host are added).
 * @param options `log`: the file its stderr (JSON log lines) is appended to; `extraFlags` (e.g. `--inspect`) after
 *   the serve task's.
 * @returns The running service.
 */
export async function startService(
  env: Record<string, string>,
  options: { log: string; extraFlags?: string[] },
): Promise<RunningService> {
  const port = benchPort();
  const flags = [...await serveFlags(), ...options.extraFlags ?? []];
  const log = await Deno.open(options.log, { write: true, create: true, append: true });
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, `${ROOT}main.ts`],
    cwd: ROOT,
    env: { IMBI_LOG_LEVEL: "warn", ...env, IMBI_HOST: "127.0.0.1", IMBI_PORT: String(port) },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const logged = child.stderr.pipeTo(log.writable).catch(() => {});
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      const r = await fetch(`${url}/readyz`);
      await r.body?.cancel();
      if (r.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`the service did not become ready within 120 s; see ${options.log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const readyMs = performance.now() - started;
  return {
    url,
    pid: child.pid,
    readyMs,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // gone already
      }
      await child.status;
      await logged;
    },
  };
}

/**
 * Starts a helper program (a bench server) and waits for its first stdout line.
 *
 * @param args `deno` arguments.
 * @returns Its stop function.
 */
export async function startHelper(args: string[]): Promise<{ stop(): Promise<void> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  if (value === undefined) throw new Error(`helper ${args.join(" ")} exited before it was ready`);
  reader.releaseLock();
  void child.stdout.cancel().catch(() => {});
  return {
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // gone already
      }
      await child.status;
    },
  };
}

/**
 * Resident memory of a process (`VmRSS`), MiB.
 *
 * @param pid The process.
 * @returns MiB.
 */
export async function residentMiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kb) / 1024;
}

/**
 * The processes whose parent is `pid` (from `/proc/<pid>/stat`), with their command lines.
 *
 * @param pid The parent.
 * @returns Child pids and command lines.
 */
export async function childProcesses(pid: number): Promise<{ pid: number; cmdline: string }[]> {
  const children: { pid: number; cmdline: string }[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid !== pid) continue;
      const cmdline = (await Deno.readTextFile(`/proc/${entry.name}/cmdline`)).replaceAll("\0", " ");
      children.push({ pid: Number(entry.name), cmdline });
    } catch {
      // exited meanwhile
    }
  }
  return children;
}

/** The machine the numbers come from, for the table's heading. */
export async function machine(): Promise<string> {
  const cpu = /model name\s*:\s*(.+)/.exec(await Deno.readTextFile("/proc/cpuinfo"))?.[1]?.trim() ?? "unknown CPU";
  const memKb = Number(/MemTotal:\s+(\d+) kB/.exec(await Deno.readTextFile("/proc/meminfo"))?.[1] ?? 0);
  const cores = navigator.hardwareConcurrency;
  const date = new Date().toISOString().slice(0, 16).replace("T", " ");
  return `${cpu}, ${cores} cores, ${Math.round(memKb / 1024 / 1024)} GiB RAM, Deno ${Deno.version.deno}, ${date} UTC`;
}

/**
 * The 1-minute load average (`/proc/loadavg`): how busy the machine was besides the benchmark.
 *
 * @returns The load average.
 */
export async function loadAverage(): Promise<number> {
  return Number((await Deno.readTextFile("/proc/loadavg")).split(" ")[0]);
}
