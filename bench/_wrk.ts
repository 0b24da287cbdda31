/**
 * Runs wrk (Debian's `wrk` package) against a loopback URL and reads its
 * summary as JSON through a Lua `done` hook. Installs wrk with apt-get when
 * it is missing, as `tests/setup` installs the test backends. Private to
 * `bench/`.
 *
 * @module
 */

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

async function succeeds(command: string, args: string[]): Promise<boolean> {
  try {
    const out = await new Deno.Command(command, {
      args,
      env: { DEBIAN_FRONTEND: "noninteractive" },
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

/**
 * Makes sure `wrk` runs, installing Debian's package when it is missing.
 *
 * @throws {Error} When it is missing and cannot be installed.
 */
export async function ensureWrk(): Promise<void> {
  if (await succeeds("wrk", ["--version"]) || await succeeds("sh", ["-c", "command -v wrk"])) return;
  if (!await succeeds("apt-get", ["install", "-y", "-qq", "wrk"])) {
    await succeeds("apt-get", ["update", "-qq"]);
    if (!await succeeds("apt-get", ["install", "-y", "-qq", "wrk"])) {
      throw new Error("wrk is missing and `apt-get install -y wrk` failed; install it and run the benchmark again");
    }
  }
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
