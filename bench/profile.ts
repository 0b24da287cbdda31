/**
 * What bounds a tab under load: the service's V8 CPU profile while wrk
 * loads one Configuration tab, summed by function (self and inclusive
 * time), so a missed target in `deno task bench` comes with where the time
 * goes.
 *
 * `deno run --allow-all bench/profile.ts [tab|cached] [clients] [seconds]`:
 * `tab` is the uncached `http-config-uncached` node (every request reaches
 * the plugin process), `cached` the `http-config` node answered from the
 * response cache. The service runs with the serve task's flags plus
 * `--inspect` on loopback; the profile is taken over the inspector protocol.
 *
 * `bench/profile.ts cpu [clients] [seconds]` instead accounts CPU per request
 * to each process (`_cpu.ts`): the service, its plugin processes and the
 * upstream for the tab, the baseline server and the upstream for the
 * in-process route, and the same for the cached tab against bare Hono.
 *
 * `bench/profile.ts perf [tab|cached] [clients] [seconds]` records Linux
 * `perf` over every process on the path (`_perf.ts`): the kernel, the `deno`
 * binary, JIT code and V8's worker threads, which the inspector cannot see.
 *
 * @module
 */

import { READ_AUTH, startSeededService, startUpstream, tabAnswer, tabUrl } from "./_bench_service.ts";
import { type Accounted, cpuPerRequest, cpuTable, descendantPids } from "./_cpu.ts";
import { ensurePerf, perfProfile } from "./_perf.ts";
import { benchPort, type RunningService, startHelper } from "./_processes.ts";
import { ensureWrk, runWrk } from "./_wrk.ts";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
}

/** A minimal inspector client: one WebSocket, requests matched to answers by id. */
async function inspector(
  port: number,
): Promise<{ send(method: string, params?: unknown): Promise<unknown>; close(): void }> {
  const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as {
    webSocketDebuggerUrl: string;
  }[];
  const socket = new WebSocket(targets[0]!.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  const pending = new Map<number, (result: unknown) => void>();
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data) as { id?: number; result?: unknown };
    if (message.id !== undefined) pending.get(message.id)?.(message.result);
  };
  let next = 0;
  return {
    send(method, params = {}) {
      const id = ++next;
      return new Promise((resolve) => {
        pending.set(id, resolve);
        socket.send(JSON.stringify({ id, method, params }));
      });
    },
    close: () => socket.close(),
  };
}

function where(frame: CallFrame): string {
  const file = frame.url.replace(/^.*\/(core|routes|plugins|hono|node_modules)\//, "$1/").replace(/^file:\/\/\//, "");
  return `${frame.functionName || "(anonymous)"} ${file}${frame.url ? `:${frame.lineNumber + 1}` : ""}`;
}

function summarise(profile: CpuProfile, top: number): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const sample of profile.samples) {
    const leaf = byId.get(sample)!;
    self.set(where(leaf.callFrame), (self.get(where(leaf.callFrame)) ?? 0) + 1);
    const seen = new Set<string>();
    for (let id: number | undefined = sample; id !== undefined; id = parent.get(id)) {
      const name = where(byId.get(id)!.callFrame);
      if (!seen.has(name)) inclusive.set(name, (inclusive.get(name) ?? 0) + 1);
      seen.add(name);
    }
  }
  const total = profile.samples.length;
  const list = (counts: Map<string, number>) =>
    [...counts].filter(([name]) => !name.startsWith("(root)")).sort((a, b) => b[1] - a[1]).slice(0, top)
      .map(([name, count]) => `${(100 * count / total).toFixed(1).padStart(5)}%  ${name}`).join("\n");
  return `self time:\n${list(self)}\n\ninclusive time:\n${list(inclusive)}\n`;
}

/**
 * CPU per request of each process: the tab through the service (the service, its plugin processes, the upstream)
 * against the in-process route (the baseline server, the upstream), and the cached tab against bare Hono.
 */
async function cpu(clients: number, seconds: number): Promise<void> {
  const work = await Deno.makeTempDir({ prefix: "imbi-cpu-" });
  const upstream = await startUpstream();
  const upstreamUrl = upstream.url;
  const { service } = await startSeededService(`${work}/service`, {
    upstream: upstreamUrl,
    nodes: { tab: "http-config-uncached", cached: "http-config" },
  });
  const stops = [service.stop, upstream.stop];
  try {
    await tabAnswer(service, "tab");
    const fixed = `${work}/fixed.json`;
    await Deno.writeTextFile(fixed, (await tabAnswer(service, "cached")).text);
    const baselinePort = benchPort();
    const baseline = await startHelper([
      "run",
      "--allow-net",
      "--allow-read",
      "bench/_baseline_server.ts",
      String(baselinePort),
      upstreamUrl,
      fixed,
    ]);
    stops.unshift(baseline.stop);
    const base = `http://127.0.0.1:${baselinePort}`;
    const load = { connections: clients, seconds, headers: READ_AUTH };
    const serviceSide: Accounted[] = [
      { label: "service", pids: () => Promise.resolve([service.pid]) },
      { label: "plugin processes", pids: descendantPids(service.pid, "plugins") },
      { label: "their jails", pids: descendantPids(service.pid, "jails") },
      { label: "upstream", pids: () => Promise.resolve([upstream.pid]) },
    ];
    const baselineSide: Accounted[] = [
      { label: "in-process baseline", pids: () => Promise.resolve([baseline.pid]) },
      { label: "upstream", pids: () => Promise.resolve([upstream.pid]) },
    ];
    for (
      const url of [tabUrl(service, "tab"), tabUrl(service, "cached"), `${base}/orgs/bench/projects/tab/configuration`]
    ) {
      await runWrk(url, { ...load, seconds: 1 });
    }
    const report = [
      cpuTable("tab through the service", await cpuPerRequest(tabUrl(service, "tab"), serviceSide, load)),
      cpuTable(
        "in-process route",
        await cpuPerRequest(`${base}/orgs/bench/projects/tab/configuration`, baselineSide, load),
      ),
      cpuTable("cached tab through the service", await cpuPerRequest(tabUrl(service, "cached"), serviceSide, load)),
      cpuTable("bare Hono, the same JSON", await cpuPerRequest(`${base}/fixed`, baselineSide.slice(0, 1), load)),
    ];
    const head = `CPU per request, ${clients} clients, ${seconds} s a run (wrk's own CPU not counted)\n\n`;
    await Deno.stdout.write(new TextEncoder().encode(head + report.join("\n")));
  } finally {
    for (const stop of stops) await stop().catch(() => {});
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

/**
 * Runs `body` against a service seeded with one tab's node (`tab`: uncached, `cached`: answered from the response
 * cache) and its upstream, after one answer and `warmClients` clients of warm-up load; stops both afterwards.
 */
async function withTab(
  project: "tab" | "cached",
  options: { extraFlags: string[]; warmClients: number },
  body: (service: RunningService, upstreamPid: number) => Promise<void>,
): Promise<void> {
  const work = await Deno.makeTempDir({ prefix: "imbi-profile-" });
  const upstream = await startUpstream();
  try {
    const { service } = await startSeededService(`${work}/service`, {
      upstream: upstream.url,
      nodes: { [project]: project === "cached" ? "http-config" : "http-config-uncached" },
      extraFlags: options.extraFlags,
    });
    try {
      await tabAnswer(service, project);
      await runWrk(tabUrl(service, project), { connections: options.warmClients, seconds: 2, headers: READ_AUTH });
      await body(service, upstream.pid);
    } finally {
      await service.stop();
    }
  } finally {
    await upstream.stop();
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

/** `perf` over the service and its plugin processes while wrk loads one tab (`_perf.ts`). */
async function perf(project: "tab" | "cached", clients: number, seconds: number): Promise<void> {
  await Promise.all([ensureWrk(), ensurePerf()]);
  const flags = ["--v8-flags=--perf-basic-prof"];
  await withTab(project, { extraFlags: flags, warmClients: clients }, async (service, upstreamPid) => {
    const plugins = await descendantPids(service.pid, "plugins")();
    const processes = [
      { label: "service", pid: service.pid },
      ...plugins.map((pid, i) => ({ label: `plugin process ${i + 1}`, pid })),
      { label: "upstream", pid: upstreamPid },
    ];
    let rps = 0;
    const text = await perfProfile(processes, seconds, async () => {
      const load = await runWrk(tabUrl(service, project), { connections: clients, seconds, headers: READ_AUTH });
      rps = load.rps;
      return load.requests;
    });
    const head = `${project} tab, ${clients} clients, ${seconds} s under perf: ${Math.round(rps)} req/s\n\n`;
    await Deno.stdout.write(new TextEncoder().encode(head + text));
  });
}

/** The inspector's CPU profile of the service's main thread while wrk loads one tab. */
async function inspectorProfile(project: "tab" | "cached", clients: number, seconds: number): Promise<void> {
  await ensureWrk();
  const inspectPort = benchPort();
  const flags = [`--inspect=127.0.0.1:${inspectPort}`];
  await withTab(project, { extraFlags: flags, warmClients: 8 }, async (service) => {
    const client = await inspector(inspectPort);
    await client.send("Profiler.enable");
    await client.send("Profiler.setSamplingInterval", { interval: 100 });
    await client.send("Profiler.start");
    const load = await runWrk(tabUrl(service, project), { connections: clients, seconds, headers: READ_AUTH });
    const { profile } = await client.send("Profiler.stop") as { profile: CpuProfile };
    client.close();
    const head = `${project} tab, ${clients} clients, ${seconds} s (profiler on): ${Math.round(load.rps)} req/s, ` +
      `${load.errors} errors, p50 ${load.p50.toFixed(2)} ms, p99 ${load.p99.toFixed(2)} ms\n\n`;
    await Deno.stdout.write(new TextEncoder().encode(head + summarise(profile, 30)));
  });
}

function isTab(value: string): value is "tab" | "cached" {
  return value === "tab" || value === "cached";
}

async function main(): Promise<void> {
  const [project = "cached", clients = "50", seconds = "5"] = Deno.args;
  if (project === "cpu") return await cpu(Number(clients), Number(seconds));
  if (project === "perf") {
    const [, tab = "cached", perfClients = "50", perfSeconds = "5"] = Deno.args;
    if (!isTab(tab)) throw new TypeError("usage: profile.ts perf [tab|cached] [clients] [seconds]");
    return await perf(tab, Number(perfClients), Number(perfSeconds));
  }
  if (!isTab(project)) throw new TypeError("usage: profile.ts [tab|cached|cpu|perf] [clients] [seconds]");
  await inspectorProfile(project, Number(clients), Number(seconds));
}

if (import.meta.main) await main();
