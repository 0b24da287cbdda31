/**
 * Runs wrk (Debian's `wrk` package) against a loopback URL and reads its
 * summary as JSON through a Lua `done` hook. Installs wrk with apt-get when
 * it is missing, as `tests/setup` installs the test backends. Private to
 * `bench/`.
 *
 * @module
 */

import { aptInstall, findCommand } from "../tests/setup/service.ts";

/** What one wrk run measured. */
export interface WrkResult {
  /** Requests completed. */
  requests: number;
  /** Requests per second. */
  rps: number;
  /** Non-2xx/3xx answers. */
  status: number;
  /** Connect, read, write errors and timeouts. */
  socket: number;
  /** `status + socket`. */
  errors: number;
  /** Latency percentiles and maximum, ms. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Options of {@linkcode runWrk}. */
export interface WrkOptions {
  /** Open connections (concurrent clients). */
  connections: number;
  /** Seconds of load. */
  seconds: number;
  /** Request headers. */
  headers?: Record<string, string>;
}

const DONE = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKJSON {\\"requests\\":%d,\\"duration_us\\":%d,\\"connect\\":%d,\\"read\\":%d,\\"write\\":%d," ..
    "\\"status\\":%d,\\"timeout\\":%d,\\"p50\\":%d,\\"p90\\":%d,\\"p99\\":%d,\\"max\\":%d}\\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
`;

let script: string | undefined;

/**
 * Makes sure `wrk` runs, installing Debian's package when it is missing.
 *
 * @throws {Error} When it is missing and cannot be installed.
 */
export async function ensureWrk(): Promise<void> {
  if (await findCommand(["wrk"]) || await findCommand(["sh"], ["-c", "command -v wrk"])) return;
  await aptInstall("wrk").catch(() => {
    throw new Error("wrk is missing and `apt-get install -y wrk` failed; install it and run the benchmark again");
  });
}

/**
 * Loads `url` with wrk (one thread, `connections` connections) for `seconds`.
 *
 * @param url A loopback URL.
 * @param options Connections, duration, headers.
 * @returns Throughput, errors and latency.
 */
export async function runWrk(url: string, options: WrkOptions): Promise<WrkResult> {
  if (script === undefined) {
    script = await Deno.makeTempFile({ prefix: "imbi-wrk-", suffix: ".lua" });
    await Deno.writeTextFile(script, DONE);
  }
  const args = [
    "-t1",
    `-c${options.connections}`,
    `-d${options.seconds}s`,
    "--timeout",
    "15s",
    "-s",
    script,
  ];
  for (const [name, value] of Object.entries(options.headers ?? {})) args.push("-H", `${name}: ${value}`);
  args.push(url);
  const out = await new Deno.Command("wrk", { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  const line = text.split("\n").find((l) => l.startsWith("WRKJSON "));
  if (!out.success || line === undefined) {
    throw new Error(`wrk failed: ${text}${new TextDecoder().decode(out.stderr)}`);
  }
  const raw = JSON.parse(line.slice("WRKJSON ".length));
  const socket = raw.connect + raw.read + raw.write + raw.timeout;
  return {
    requests: raw.requests,
    rps: raw.requests / (raw.duration_us / 1e6),
    status: raw.status,
    socket,
    errors: raw.status + socket,
    p50: raw.p50 / 1000,
    p90: raw.p90 / 1000,
    p99: raw.p99 / 1000,
    max: raw.max / 1000,
  };
}

/** One side of {@linkcode sideBySide}: a URL and its request headers. */
export interface WrkTarget {
  url: string;
  headers?: Record<string, string>;
}

/**
 * The middle of the values (the mean of the two middle ones for an even count).
 *
 * @param values At least one number.
 * @returns Their median.
 */
export function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function merge(runs: WrkResult[]): WrkResult {
  const requests = runs.reduce((sum, r) => sum + r.requests, 0);
  const seconds = runs.reduce((sum, r) => sum + r.requests / r.rps, 0);
  const status = runs.reduce((sum, r) => sum + r.status, 0);
  const socket = runs.reduce((sum, r) => sum + r.socket, 0);
  return {
    requests,
    rps: requests / seconds,
    status,
    socket,
    errors: status + socket,
    p50: median(runs.map((r) => r.p50)),
    p90: median(runs.map((r) => r.p90)),
    p99: median(runs.map((r) => r.p99)),
    max: Math.max(...runs.map((r) => r.max)),
  };
}

/**
 * Measures targets side by side in rounds that run them forward, then backward (A B B A for two, A B C C B A for
 * three), each run half of `seconds` (rounded up), so a drift in the machine's load weighs on all alike. Throughput and
 * errors add up over the runs; p50, p90 and p99 are the medians of the runs' own percentiles (a burst of load from
 * outside during one run moves one run's tail, not the result), max the worst.
 *
 * @param targets The measured target first, then its baselines.
 * @param options Connections, seconds per target in a round, and rounds (default 1).
 * @returns One result per target, in their order, merged over their runs.
 */
export async function sideBySide<const T extends readonly WrkTarget[]>(
  targets: T,
  options: { connections: number; seconds: number; rounds?: number },
): Promise<{ -readonly [K in keyof T]: WrkResult }> {
  const seconds = Math.max(1, Math.ceil(options.seconds / 2));
  const runs: WrkResult[][] = targets.map(() => []);
  const order = [...targets.keys(), ...[...targets.keys()].reverse()];
  for (let round = 0; round < (options.rounds ?? 1); round++) {
    for (const i of order) {
      const t = targets[i]!;
      runs[i]!.push(
        await runWrk(t.url, {
          connections: options.connections,
          seconds,
          ...(t.headers ? { headers: t.headers } : {}),
        }),
      );
    }
  }
  return runs.map(merge) as { -readonly [K in keyof T]: WrkResult };
}
