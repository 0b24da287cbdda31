/**
 * `deno task bench`: the service under production-like load, each number
 * measured side by side with its baseline in one run, printed as one table
 * of ratios against the targets of issue 9 (record it in
 * `docs/performance.md`).
 *
 * Load comes from wrk (Debian's package, installed when missing), never a
 * loop of fetches. Everything runs on loopback: the service as its own
 * process with `deno task serve`'s flags, a key-value upstream answering 50
 * keys (`tests/fixtures/http-config/upstream.ts`), and the baselines (a
 * plain Hono app calling the same handler class in-process, and a bare Hono
 * route returning the cached tab's JSON) in `bench/_baseline_server.ts`.
 *
 * Rows: the tab vs the in-process route at 1 and 50 clients with error
 * counts and the hop's added latency (beside a control: the in-process
 * route with a second upstream call); the cached tab vs bare Hono; another
 * node's tab p99 while one node answers 10.9 MB listings, against alone
 * (beside a control: the same listings from the in-process route);
 * resolution p50 at 100 and 100,000 projects on SQLite (and on Neo4j when
 * `IMBI_BENCH_NEO4J_URL`, or the tests' `IMBI_TEST_NEO4J_URL`, names one);
 * 20 packages reloaded under load; start-up to ready with 10 packages; and
 * resident memory of the idle service and of a plugin process after its
 * first call.
 *
 * Settings: `IMBI_BENCH_SECONDS` (wrk load per side of a pair, default 5; a pair runs A B B A),
 * `IMBI_BENCH_WARM_UP_SECONDS` (1-client load on each side before the 1-client rows, default 20),
 * `IMBI_BENCH_PORT_BASE` (use consecutive loopback ports from there instead
 * of free ones).
 *
 * @module
 */

import { setLogLevel } from "../core/logger.ts";
import { type LocalPackage, lockLocalPackages } from "../tests/support/test_app.ts";
import { ADMIN, adminCall, READ_AUTH, startSeededService, startUpstream, tabAnswer, tabUrl } from "./_bench_service.ts";
import { writeBenchPackages } from "./_packages.ts";
import {
  benchPort,
  descendants,
  isPluginProcess,
  loadAverage,
  machine,
  residentMiB,
  type RunningService,
  runTask,
  startHelper,
  startService,
} from "./_processes.ts";
import { type ResolutionRow, resolutionScaling } from "./_scaling.ts";
import { ensureWrk, median, runWrk, sideBySide, type WrkResult, type WrkTarget } from "./_wrk.ts";

const SECONDS = Number(Deno.env.get("IMBI_BENCH_SECONDS") ?? "5");
/**
 * Load on each side before the 1-client rows. A fresh service and plugin process are still compiling: the service's
 * V8 finished 271 optimisations in the first 4 s of 1-client load and 0 to 4 in each 4 s after the 25,000th call,
 * and the tab's p99 fell from 2.2 to 4.0 ms to 1.2 to 2.6 ms with it (docs/performance.md, "Warm-up").
 */
const WARM_UP_SECONDS = Number(Deno.env.get("IMBI_BENCH_WARM_UP_SECONDS") ?? "20");
/** Rounds of A B C C B A at 1 client: each side's p99 is the median of twice as many runs. */
const LATENCY_ROUNDS = 5;

/** One line of the table. */
interface Row {
  what: string;
  measured: string;
  baseline: string;
  ratio: string;
  target: string;
  /** Whether the target is met; null when the row has none. */
  met: boolean | null;
}

const rows: Row[] = [];

function progress(text: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(`bench: ${text}\n`));
}

function rps(r: WrkResult): string {
  return `${Math.round(r.rps).toLocaleString("en")} req/s, ${r.errors} errors of ${r.requests.toLocaleString("en")}`;
}

function ms(value: number): string {
  return value >= 100 ? `${Math.round(value)} ms` : `${value.toFixed(value >= 10 ? 1 : 2)} ms`;
}

function signed(value: number): string {
  return value < 0 ? `-${ms(-value)}` : `+${ms(value)}`;
}

function ratio(value: number): string {
  return `${value.toFixed(2)}x`;
}

/** MiB (what `/proc` counts in, 2^20 bytes) as MB (10^6 bytes), the unit of issue 9's memory targets. */
function megabytes(mib: number): number {
  return mib * 1.048576;
}

/** Resident memory in both units, so the MiB read from `/proc` compares honestly with a target in MB. */
function resident(mib: number): string {
  return `${mib.toFixed(1)} MiB (${megabytes(mib).toFixed(1)} MB)`;
}

/** Start-up to ready with 10 packages (warm package cache), and the idle service's resident memory. */
async function startupRows(work: string, packages: LocalPackage[]): Promise<void> {
  const dataDir = `${work}/startup`;
  const lockfile = `${dataDir}/plugins.lock.json`;
  await Deno.mkdir(dataDir, { recursive: true });
  await lockLocalPackages(lockfile, packages);
  const env = { IMBI_DATA_DIR: dataDir, IMBI_LOCKFILE: lockfile, IMBI_ADMIN_TOKEN: ADMIN, IMBI_MIN_PACKAGE_AGE: "0" };
  progress("start-up: first start fills the package cache");
  const log = `${work}/startup.log`;
  await (await startService(env, { log })).stop();
  const times: number[] = [];
  const residents: number[] = [];
  for (let i = 0; i < 5; i++) {
    const service = await startService(env, { log });
    times.push(service.readyMs);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    residents.push(await residentMiB(service.pid));
    await service.stop();
  }
  const startup = median(times);
  const idle = median(residents);
  rows.push({
    what: `start-up to ready, ${packages.length} packages (median of 5, warm cache)`,
    measured: ms(startup),
    baseline: "",
    ratio: "",
    target: "<= 1 s",
    met: startup <= 1000,
  });
  rows.push({
    what: `resident memory, idle service (${packages.length} packages loaded; median of 5 starts)`,
    measured: `${resident(idle)}; starts ${Math.min(...residents).toFixed(1)} to ${
      Math.max(...residents).toFixed(1)
    } MiB`,
    baseline: "",
    ratio: "",
    target: "<= 80 MB",
    met: megabytes(idle) <= 80,
  });
}

function throughputRow(clients: number, sandboxed: WrkResult, direct: WrkResult): Row {
  const r = sandboxed.rps / direct.rps;
  return {
    what: `Configuration tab (50 keys) vs in-process Hono route, ${clients} client${clients > 1 ? "s" : ""}`,
    measured: rps(sandboxed),
    baseline: rps(direct),
    ratio: ratio(r),
    target: clients === 50 ? ">= 0.90x, 0 errors" : "",
    met: clients === 50 ? r >= 0.9 && sandboxed.errors === 0 : null,
  };
}

function latencyRow(what: string, measured: WrkResult, direct: WrkResult, target: boolean): Row {
  const p99 = measured.p99 - direct.p99;
  return {
    what: `${what}, 1 client (p50 / p99, medians of ${2 * LATENCY_ROUNDS} runs)`,
    measured: `${ms(measured.p50)} / ${ms(measured.p99)}`,
    baseline: `${ms(direct.p50)} / ${ms(direct.p99)}`,
    ratio: `${signed(measured.p50 - direct.p50)} / ${signed(p99)}`,
    target: target ? "p99 <= +0.5 ms" : "",
    met: target ? p99 <= 0.5 : null,
  };
}

/**
 * The sandboxed tab vs the in-process route at 1 and 50 clients (at 1 client beside a control: the in-process route
 * with one more round trip to another process, the upstream), and the cached tab vs bare Hono.
 */
async function tabRows(service: RunningService, baseline: string): Promise<void> {
  const tab = { url: tabUrl(service, "tab"), headers: READ_AUTH };
  const inProcess = { url: `${baseline}/orgs/bench/projects/tab/configuration` };
  const twice = { url: `${inProcess.url}/twice` };
  progress(`warming up the tab, the in-process route and the control: ${WARM_UP_SECONDS} s each at 1 client`);
  for (const target of [tab, inProcess, twice] as WrkTarget[]) {
    await runWrk(target.url, { connections: 1, seconds: WARM_UP_SECONDS, headers: target.headers });
  }

  progress("tab vs in-process route, 1 client");
  // The rows are about the tail: each side gets ten runs to take the median p99 of.
  const [one, oneDirect, oneTwice] = await sideBySide([tab, inProcess, twice], {
    connections: 1,
    seconds: SECONDS,
    rounds: LATENCY_ROUNDS,
  });
  rows.push(throughputRow(1, one, oneDirect));
  rows.push(latencyRow("added latency of the service and the hop", one, oneDirect, true));
  rows.push(
    latencyRow("control: the in-process route with a second upstream call, no service", oneTwice, oneDirect, false),
  );

  progress("tab vs in-process route, 50 clients");
  const [fifty, fiftyDirect] = await sideBySide([tab, inProcess], { connections: 50, seconds: SECONDS });
  rows.push(throughputRow(50, fifty, fiftyDirect));

  progress("cached tab vs bare Hono");
  const cachedTab = { url: tabUrl(service, "cached"), headers: READ_AUTH };
  const bareHono = { url: `${baseline}/fixed` };
  await runWrk(cachedTab.url, { connections: 8, seconds: 1, headers: cachedTab.headers });
  await runWrk(bareHono.url, { connections: 8, seconds: 1 });
  const [cached, bare] = await sideBySide([cachedTab, bareHono], { connections: 50, seconds: SECONDS });
  rows.push({
    what: "cached Configuration tab vs bare Hono returning the same JSON, 50 clients",
    measured: rps(cached),
    baseline: rps(bare),
    ratio: ratio(cached.rps / bare.rps),
    target: ">= 0.35x",
    met: cached.rps / bare.rps >= 0.35 && cached.errors === 0,
  });
}

/** Keys of the large node's upstream: a listing of about 10.9 MB. */
const LARGE_KEYS = 110_000;

/**
 * Another node's tab at 8 clients while one node's tab answers 10.9 MB listings back to back, one at a time, against
 * the same tab alone: runs alone, with, control, control, with, alone, twice, and each side's p99 the median of its
 * runs'. The control row has the same listings answered back to back by the in-process route (`controlUrl`, the
 * baseline server against the large upstream): the load of making and fetching them, without the service.
 */
async function largeAnswerRows(service: RunningService, controlUrl: string): Promise<void> {
  progress(`another node's tab beside ${LARGE_KEYS.toLocaleString("en")}-key answers`);
  const url = tabUrl(service, "tab");
  let bytes = 0;
  const answers: number[] = [];
  const controlAnswers: number[] = [];
  const alone = () => runWrk(url, { connections: 8, seconds: Math.ceil(SECONDS / 2), headers: READ_AUTH });
  const withLarge = async (large = tabUrl(service, "large"), times = answers) => {
    let stop = false;
    const loop = (async () => {
      while (!stop) {
        const started = performance.now();
        const response = await fetch(large, { headers: READ_AUTH });
        const body = await response.arrayBuffer();
        if (response.status !== 200) throw new Error(`GET ${large}: ${response.status}`);
        bytes = body.byteLength;
        times.push(performance.now() - started);
      }
    })();
    try {
      return await alone();
    } finally {
      stop = true;
      await loop;
    }
  };
  const control = () => withLarge(controlUrl, controlAnswers);
  await alone();
  await withLarge();
  await control();
  answers.length = 0;
  controlAnswers.length = 0;
  const runs: Record<"alone" | "beside" | "control", WrkResult[]> = { alone: [], beside: [], control: [] };
  for (let round = 0; round < 2; round++) {
    runs.alone.push(await alone());
    runs.beside.push(await withLarge());
    runs.control.push(await control(), await control());
    runs.beside.push(await withLarge());
    runs.alone.push(await alone());
  }
  const p99 = (results: WrkResult[]) => median(results.map((r) => r.p99));
  const errors = (results: WrkResult[]) => results.reduce((sum, r) => sum + r.errors, 0);
  const beside = (results: WrkResult[], times: number[]) =>
    `${ms(p99(results))}, ${errors(results)} errors; ${times.length} large answers of ${ms(median(times))} (median)`;
  const r = p99(runs.beside) / p99(runs.alone);
  rows.push({
    what:
      `another node's tab, 8 clients, while one node answers ${(bytes / 1e6).toFixed(1)} MB listings back to back ` +
      `(p99, medians of 4 runs)`,
    measured: beside(runs.beside, answers),
    baseline: `${ms(p99(runs.alone))} alone, ${errors(runs.alone)} errors`,
    ratio: ratio(r),
    target: "<= 2x",
    met: r <= 2 && errors(runs.beside) === 0,
  });
  rows.push({
    what: "control: the same listings answered back to back by the in-process route instead (no service)",
    measured: beside(runs.control, controlAnswers),
    baseline: `${ms(p99(runs.alone))} alone`,
    ratio: ratio(p99(runs.control) / p99(runs.alone)),
    target: "",
    met: null,
  });
}

/** Reloads 20 packages (new content, new integrity) while wrk loads a tab served by one of them. */
async function reloadRow(
  service: RunningService,
  options: { work: string; env: Record<string, string>; count: number },
): Promise<void> {
  const { work, env, count } = options;
  progress(`reloading ${count} packages under load`);
  const url = tabUrl(service, "reload");
  await runWrk(url, { connections: 8, seconds: 1, headers: READ_AUTH });
  const next = await writeBenchPackages(`${work}/packages-r2`, { count, revision: 2 });
  const load = runWrk(url, {
    connections: 50,
    seconds: Math.max(SECONDS, 6),
    headers: READ_AUTH,
  });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  // A git-driven deploy: the new lockfile imported into the graph store's lock state, then the registry reloaded.
  await lockLocalPackages(env.IMBI_LOCKFILE!, next);
  await runTask("plugins", { args: ["import"], env });
  const started = performance.now();
  const registry = await adminCall(service, { method: "POST", path: "/admin/plugins/reload" }) as {
    items: { name: string; version: string; status: string; reason: string | null }[];
  };
  const reloaded = performance.now();
  const stale = registry.items.filter((p) => p.name.startsWith("@imbi-bench/") && p.version !== "1.0.2");
  if (stale.length > 0) throw new Error(`the reload did not load the new revision: ${JSON.stringify(stale)}`);
  let swapMs = Number.NaN;
  while (performance.now() - reloaded < 15_000) { // a probe, one request at a time, beside the load
    if ((await tabAnswer(service, "reload")).version === "1.0.2") {
      swapMs = performance.now() - reloaded;
      break;
    }
  }
  const loaded = await load;
  rows.push({
    what: `${count} packages reloaded under load (50 clients on a reloaded package's tab)`,
    measured: `${loaded.errors} failed of ${loaded.requests.toLocaleString("en")}; swap ${ms(swapMs)}; ` +
      `max latency ${ms(loaded.max)}`,
    baseline: `registry build ${ms(reloaded - started)}, off the request path`,
    ratio: "",
    target: "0 failed, swap <= 300 ms",
    met: loaded.errors === 0 && swapMs <= 300,
  });
}

function scalingRows(results: ResolutionRow[]): void {
  for (const r of results) {
    if (r.error !== undefined) {
      const what = `tab resolution p50, ${r.store}: 100,000 vs 100 projects`;
      rows.push({
        what,
        measured: `failed: ${r.error.slice(0, 160)}`,
        baseline: "",
        ratio: "",
        target: "",
        met: false,
      });
      continue;
    }
    rows.push({
      what: `tab resolution p50, ${r.store}: 100,000 vs 100 projects`,
      measured: `${r.large.toFixed(3)} ms (p99 ${r.largeP99.toFixed(3)} ms)`,
      baseline: `${r.small.toFixed(3)} ms (p99 ${r.smallP99.toFixed(3)} ms)`,
      ratio: ratio(r.large / r.small),
      target: "<= 1.5x",
      met: r.large / r.small <= 1.5,
    });
  }
}

function table(): string {
  const header = ["measurement", "measured", "baseline", "ratio", "target", "met"];
  const lines = rows.map((
    r,
  ) => [r.what, r.measured, r.baseline, r.ratio, r.target, r.met === null ? "" : r.met ? "yes" : "**no**"]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const format = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [format(header), format(widths.map((w) => "-".repeat(w))), ...lines.map(format)].join("\n");
}

async function main(): Promise<void> {
  setLogLevel("warn");
  await ensureWrk();
  const loadBefore = await loadAverage();
  const work = await Deno.makeTempDir({ prefix: "imbi-bench-" });
  const stops: (() => Promise<void>)[] = [];
  try {
    const started = await startUpstream();
    const upstream = started.url;
    stops.push(started.stop);
    const largeUpstream = await startUpstream(LARGE_KEYS);
    stops.push(largeUpstream.stop);
    const packages = await writeBenchPackages(`${work}/packages`, { count: 20, revision: 1 });
    await startupRows(work, packages.slice(0, 10));

    progress("starting the service with 21 packages");
    const { service, env } = await startSeededService(`${work}/service`, {
      upstream,
      nodes: {
        tab: "http-config-uncached",
        cached: "http-config",
        reload: "bench-p00-uncached",
        large: { plugin: "http-config-uncached", upstream: largeUpstream.url },
      },
      packages,
    });
    stops.unshift(service.stop);
    const before = new Set((await descendants(service.pid)).map((c) => c.pid));
    await tabAnswer(service, "tab");
    const plugin = (await descendants(service.pid)).find((c) => !before.has(c.pid) && isPluginProcess(c.cmdline));
    const pluginRss = plugin ? await residentMiB(plugin.pid) : Number.NaN;

    const fixed = `${work}/fixed.json`;
    await tabAnswer(service, "cached");
    await Deno.writeTextFile(fixed, (await tabAnswer(service, "cached")).text);
    /** Starts `bench/_baseline_server.ts` against an upstream; its URL. */
    const baseline = async (upstreamUrl: string) => {
      const port = benchPort();
      const helper = await startHelper([
        "run",
        "--allow-net",
        "--allow-read",
        "bench/_baseline_server.ts",
        String(port),
        upstreamUrl,
        fixed,
      ]);
      stops.unshift(helper.stop);
      return `http://127.0.0.1:${port}`;
    };
    await tabRows(service, await baseline(upstream));
    await largeAnswerRows(service, `${await baseline(largeUpstream.url)}/orgs/bench/projects/large/configuration`);
    await reloadRow(service, { work, env, count: 20 });
    rows.push({
      what: "resident memory, one plugin process after its first call",
      measured: resident(pluginRss),
      baseline: "",
      ratio: "",
      target: "<= 40 MB",
      met: megabytes(pluginRss) <= 40,
    });
    for (const stop of stops.splice(0)) await stop();

    progress("tab resolution at 100 and 100,000 projects");
    scalingRows(await resolutionScaling(progress));

    const load = `1-minute load average ${loadBefore.toFixed(1)} before, ${(await loadAverage()).toFixed(1)} after`;
    const pairs =
      `wrk pairs A B B A (at 1 client ${LATENCY_ROUNDS} rounds of A B C C B A after ${WARM_UP_SECONDS} s a side ` +
      `of warm-up), ${Math.ceil(SECONDS / 2)} s a run`;
    const out = `\n${await machine()}; ${load}; ${pairs}\n\n${table()}\n`;
    await Deno.stdout.write(new TextEncoder().encode(out));
  } finally {
    for (const stop of stops) await stop().catch(() => {});
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) await main();
