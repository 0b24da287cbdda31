/**
 * A whole-process profile with Linux `perf` (Debian's `linux-perf`): where
 * each process's CPU goes, the kernel, V8 and Rust in the `deno` binary,
 * JIT-compiled JavaScript, libc, and which threads (the main thread, V8's
 * worker threads that mark and scavenge the heap and compile). The V8
 * inspector's profile (`bench/profile.ts`) sees the main thread's JavaScript
 * only; on a 2-core machine the rest (the network stack, the garbage
 * collector's threads) is often what a ratio pays for. Private to `bench/`.
 *
 * The service runs with `--v8-flags=--perf-basic-prof` so perf names its
 * JavaScript functions (`/tmp/perf-<pid>.map`); native time is charged to the
 * first JavaScript function up its stack.
 *
 * @module
 */

import { aptInstall, findCommand } from "../tests/setup/service.ts";

/** The sampling frequency: each sample is 500 µs of one thread's CPU. */
const HZ = 2000;

/** A process to profile. */
export interface Profiled {
  /** What it is, for the report. */
  label: string;
  /** Its process id. */
  pid: number;
}

/**
 * Makes sure `perf` runs, installing Debian's `linux-perf` when it is missing.
 *
 * @throws {Error} When it is missing and cannot be installed.
 */
export async function ensurePerf(): Promise<void> {
  if (await findCommand(["perf"])) return;
  await aptInstall("linux-perf");
  if (!await findCommand(["perf"])) throw new Error("perf is not installed and linux-perf did not provide it");
}

interface Sample {
  pid: number;
  tid: number;
  thread: string;
  frames: string[];
}

/** `perf script -F comm,pid,tid,ip,sym,dso` output as samples: a header line, then one line per frame, leaf first. */
function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const block of text.split("\n\n")) {
    const lines = block.split("\n").filter((line) => line.trim() !== "");
    const header = /^(.*?)\s+(\d+)\/(\d+)\s*$/.exec(lines[0] ?? "");
    if (header === null) continue;
    samples.push({
      pid: Number(header[2]),
      tid: Number(header[3]),
      thread: header[1]!.trim(),
      frames: lines.slice(1).map((l) => l.trim()),
    });
  }
  return samples;
}

function where(frame: string): "kernel" | "JIT" | "deno" | "libc" | "other" {
  if (frame.includes("[kernel.kallsyms]")) return "kernel";
  if (frame.includes(" JS:")) return "JIT";
  if (frame.includes("/deno)")) return "deno";
  if (frame.includes("libc.so")) return "libc";
  return "other";
}

/** `JS:*'name file:///…/x.ts:1:2` as `name x.ts:1`, with the repository's and npm cache's prefixes cut. */
function jsName(frame: string): string {
  const js = frame.slice(frame.indexOf(" JS:") + 4).replace(/ \(\/tmp\/perf-\d+\.map\)$/, "");
  return js.replace(/^[*~+^']+/, "").replace(
    /file:\/\/\/\S*?\/(core|routes|plugins|hono|prom-client|@logtape)\//,
    "$1/",
  )
    .replace(/:(\d+):\d+$/, ":$1");
}

function percent(part: number, whole: number): string {
  return `${(100 * part / whole).toFixed(1).padStart(5)}%`;
}

function top(counts: Map<string, number>, whole: number, n: number): string[] {
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, count]) =>
    `      ${percent(count, whole)}  ${name}`
  );
}

function add(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

function report(samples: Sample[], processes: Profiled[], requests: number): string {
  const out: string[] = [];
  for (const process of processes) {
    const own = samples.filter((s) => s.pid === process.pid);
    if (own.length === 0) {
      out.push(`${process.label} (pid ${process.pid}): no samples\n`);
      continue;
    }
    const perRequest = (count: number) => `${(count * 1e6 / HZ / requests).toFixed(1)} µs a request`;
    out.push(`${process.label} (pid ${process.pid}): ${own.length} samples, ${perRequest(own.length)}`);
    const main = own.filter((s) => s.tid === s.pid);
    const byWhere = new Map<string, number>();
    for (const s of own) {
      const thread = s.tid === s.pid ? "main thread" : s.thread.startsWith("V8 ") ? "V8 worker threads" : s.thread;
      add(byWhere, `${thread}: ${where(s.frames[0] ?? "")}`);
    }
    out.push("    by thread and where the sample landed:");
    out.push(...top(byWhere, own.length, 12).map((line) => line.replace(": deno", ": V8 and Rust in the deno binary")));
    const nativeUnder = new Map<string, number>();
    const leaves = new Map<string, number>();
    for (const s of main) {
      const leaf = s.frames[0] ?? "";
      if (where(leaf) === "JIT") {
        add(leaves, jsName(leaf));
      } else if (where(leaf) !== "kernel") {
        const js = s.frames.find((f) => where(f) === "JIT");
        add(
          nativeUnder,
          js === undefined ? "(no JavaScript caller: the event loop, HTTP, GC on this thread)" : jsName(js),
        );
      }
    }
    out.push("    native time (V8 builtins and runtime, Rust, libc) by the JavaScript function that called it:");
    out.push(...top(nativeUnder, own.length, 15));
    out.push("    JavaScript itself:");
    out.push(...top(leaves, own.length, 10), "");
  }
  return out.join("\n");
}

/**
 * Records `seconds` of `perf` on the given processes (all their threads) while the caller's load runs, and
 * summarises it per process.
 *
 * @param processes The processes.
 * @param seconds How long to record.
 * @param load Runs the load (it should last longer than `seconds`); resolves to the requests it completed while
 *   recording was on (perf starts as the load does and stops before it ends).
 * @returns The report.
 */
export async function perfProfile(
  processes: Profiled[],
  seconds: number,
  load: () => Promise<number>,
): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "imbi-perf-" });
  try {
    const data = `${dir}/perf.data`;
    const record = new Deno.Command("perf", {
      args: [
        "record",
        "-F",
        String(HZ),
        "-g",
        "-p",
        processes.map((p) => p.pid).join(","),
        "-o",
        data,
        "--",
        "sleep",
        String(seconds),
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    const [recorded, requests] = await Promise.all([record, load()]);
    if (!recorded.success) throw new Error(`perf record failed: ${new TextDecoder().decode(recorded.stderr)}`);
    const script = await new Deno.Command("perf", {
      args: ["script", "-i", data, "-F", "comm,pid,tid,ip,sym,dso"],
      stdout: "piped",
      stderr: "null",
    }).output();
    return report(parseSamples(new TextDecoder().decode(script.stdout)), processes, requests);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
