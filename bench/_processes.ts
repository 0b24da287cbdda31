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
 * A `deno run` task of `deno.json` split into its flags and its script, so the benchmark runs the service and the
 * CLI exactly as operators do.
 *
 * @param name The task, e.g. `serve` or `plugins`.
 * @returns The flags between `deno run` and the script, and the script's absolute path.
 */
export async function taskCommand(name: string): Promise<{ flags: string[]; script: string }> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const task = config.tasks[name];
  const command: string = task.command ?? task;
  const words = command.trim().split(/\s+/);
  if (words[0] !== "deno" || words[1] !== "run" || !words.at(-1)!.endsWith(".ts")) {
    throw new Error(`deno.json's ${name} task is not "deno run <flags> <script>.ts": ${command}`);
  }
  return { flags: words.slice(2, -1), script: `${ROOT}${words.at(-1)}` };
}

/**
 * Runs `deno task <name> <args>` as its own process, with its flags, and waits for it to succeed.
 *
 * @param name The task.
 * @param options Its arguments and environment.
 * @throws {Error} With its output when it fails.
 */
export async function runTask(name: string, options: { args: string[]; env: Record<string, string> }): Promise<void> {
  const { flags, script } = await taskCommand(name);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, script, ...options.args],
    cwd: ROOT,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    throw new Error(`deno task ${name} ${options.args.join(" ")} failed: ${text}`);
  }
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
  const serve = await taskCommand("serve");
  const flags = [...serve.flags, ...options.extraFlags ?? []];
  const log = await Deno.open(options.log, { write: true, create: true, append: true });
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, serve.script],
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
 * @returns Its process id and stop function.
 */
export async function startHelper(args: string[]): Promise<{ pid: number; stop(): Promise<void> }> {
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
    pid: child.pid,
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
 * Whether a command line is a plugin process: Deno running the sandbox bootstrap. Its jail process, when confinement
 * has one, holds the same words after its own program, so the first word decides.
 *
 * @param cmdline The command line, arguments joined by spaces.
 */
export function isPluginProcess(cmdline: string): boolean {
  return /(^|\/)deno$/.test(cmdline.split(" ")[0]!) && cmdline.includes("bootstrap");
}

/**
 * Every process below `pid` (children, their children, …) with its command line, from `/proc/<n>/stat`: a plugin
 * process may run under a jail process that the service started.
 *
 * @param pid The ancestor.
 * @returns Descendant pids and command lines.
 */
export async function descendants(pid: number): Promise<{ pid: number; cmdline: string }[]> {
  const parents = new Map<number, number>();
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
      parents.set(Number(entry.name), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // exited meanwhile
    }
  }
  const below = new Set([pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [child, parent] of parents) {
      if (below.has(parent) && !below.has(child)) below.add(child), grew = true;
    }
  }
  below.delete(pid);
  const found: { pid: number; cmdline: string }[] = [];
  for (const child of below) {
    try {
      found.push({ pid: child, cmdline: (await Deno.readTextFile(`/proc/${child}/cmdline`)).replaceAll("\0", " ") });
    } catch {
      // exited meanwhile
    }
  }
  return found;
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
