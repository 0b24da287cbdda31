/**
 * One Configuration tab call three ways, side by side (`deno task bench`
 * prints each as a ratio of the in-process baseline): the handler called
 * directly in-process, the same call through its sandbox process (alone, and
 * eight at once), and the whole HTTP request (auth, resolution, lease,
 * sandbox call, result check).
 *
 * @module
 */

import { DemoConfig } from "../plugins/demo-config/mod.ts";
import { seedWalkthrough } from "../tests/support/seed.ts";
import { startTestApp } from "../tests/support/test_app.ts";

const app = await startTestApp();
const seed = await seedWalkthrough(app);
const path = `/orgs/${seed.org}/projects/${seed.projectId}/configuration`;
const first = await app.request("GET", path);
if (first.status !== 200) throw new Error(`warm-up failed: ${first.text}`);
const supervisor = app.services.runtime.pool.list().map((p) => p.key)[0]!;
const target = await resolved();
const { supervisor: leased } = await app.services.runtime.lease(
  target,
  () => Promise.resolve({ credentials: {}, options: target.binding.plugin.options, secrets: {} }),
);
const ctx = {
  org: { slug: seed.org },
  project: { id: seed.projectId, slug: "web", name: "Web", project_types: ["http-api"] },
  search_template: `/${seed.org}/web`,
  request_id: "bench",
};
const direct = new DemoConfig({
  options: { seed: { GREETING: "hello" }, latency_ms: 0 },
  credentials: {},
  plugin: { id: seed.configPluginId, slug: "config" },
  service: { slug: "demo", name: "Demo", vendor: null, base_url: null, account: null, region: null },
});

async function resolved() {
  const r = await app.services.store.resolveTab({
    org: seed.org,
    project: seed.projectId,
    tab: "configuration",
    loaded: app.services.runtime.registry.loadedSlugs(),
  });
  if (r.kind !== "selected") throw new Error(`resolution: ${r.kind}`);
  return r.target;
}

Deno.bench("listKeys in-process (no sandbox)", { group: "configuration tab", baseline: true }, async () => {
  await direct.listKeys(ctx);
});

Deno.bench("listKeys through the sandbox process", { group: "configuration tab" }, async () => {
  await leased.call("listKeys", [ctx], { requestId: "bench" });
});

Deno.bench("8 concurrent listKeys through the sandbox (one batch)", { group: "configuration tab" }, async () => {
  await Promise.all(Array.from({ length: 8 }, () => leased.call("listKeys", [ctx], { requestId: "bench" })));
});

Deno.bench("GET …/configuration through the whole service", { group: "configuration tab" }, async () => {
  const r = await app.request("GET", path);
  if (r.status !== 200) throw new Error(r.text);
});

Deno.bench("resolveTab() alone (SQLite)", { group: "parts" }, async () => {
  await resolved();
});

const pid = app.services.runtime.pool.list().find((p) => p.key === supervisor)?.stats.pid;
if (pid) {
  // With the confinement the supervisor's pid is the jail's; the plugin is its one child.
  const children = await Deno.readTextFile(`/proc/${pid}/task/${pid}/children`).catch(() => "");
  const plugin = Number(children.trim().split(" ")[0]) || pid;
  const status = await Deno.readTextFile(`/proc/${plugin}/status`);
  const rss = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  const line = `plugin process ${plugin}: resident memory ${rss ? Math.round(Number(rss) / 1024) : "?"} MiB\n`;
  Deno.stderr.writeSync(new TextEncoder().encode(line));
}

globalThis.addEventListener("unload", () => {
  for (const p of app.services.runtime.pool.list()) {
    if (p.stats.pid) Deno.kill(p.stats.pid, "SIGKILL");
  }
});
