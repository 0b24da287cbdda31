/**
 * The service a benchmark loads: tokens, a lockfile with the `http-config`
 * fixture (and any other packages), the service started with the serve
 * task's flags, and the graph seeded through its admin API: org `bench`,
 * service `kv` with one application, one project per Plugin node, each bound
 * to it. Private to `bench/`.
 *
 * @module
 */

import { type LocalPackage, lockLocalPackages } from "../tests/support/test_app.ts";
import { benchPort, ROOT, type RunningService, startHelper, startService } from "./_processes.ts";

/** The admin token of every service a benchmark starts. */
export const ADMIN = `bench-admin-${crypto.randomUUID()}`;
/** The read-only token the load sends. */
export const READER = `bench-read-${crypto.randomUUID()}`;
/** `Authorization` for the load. */
export const READ_AUTH = { authorization: `Bearer ${READER}` };

/** The fixture package: `http-config` (cacheable) and `http-config-uncached`. */
export const FIXTURE: LocalPackage = {
  name: "@imbi-test/http-config",
  dir: `${ROOT}tests/fixtures/http-config`,
  entryPoints: ["http-config", "http-config-uncached"],
};

/**
 * Calls the admin API; throws on any answer but 2xx.
 *
 * @param service The running service.
 * @param request Method, path and JSON body.
 * @returns The parsed body.
 */
export async function adminCall(
  service: RunningService,
  request: { method: string; path: string; body?: unknown },
): Promise<unknown> {
  const response = await fetch(`${service.url}${request.path}`, {
    method: request.method,
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    ...(request.body !== undefined ? { body: JSON.stringify(request.body) } : {}),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${request.method} ${request.path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/**
 * Starts the service on a fresh data directory with the fixture and `packages` locked, and seeds one project per
 * entry of `nodes` (project slug to manifest slug), each with a Plugin node of its own against `upstream`.
 *
 * @param dir The data directory (created).
 * @param options The upstream URL, the nodes (a manifest slug, or one with an upstream of its own), more packages,
 *   extra flags for the service.
 * @returns The running service and its environment (`IMBI_LOCKFILE` names its lockfile).
 */
export async function startSeededService(
  dir: string,
  options: {
    upstream: string;
    nodes: Record<string, string | { plugin: string; upstream: string }>;
    packages?: LocalPackage[];
    extraFlags?: string[];
  },
): Promise<{ service: RunningService; env: Record<string, string> }> {
  const lockfile = `${dir}/plugins.lock.json`;
  await Deno.mkdir(dir, { recursive: true });
  await lockLocalPackages(lockfile, [FIXTURE, ...options.packages ?? []]);
  const env = {
    IMBI_DATA_DIR: dir,
    IMBI_LOCKFILE: lockfile,
    IMBI_ADMIN_TOKEN: ADMIN,
    IMBI_READ_TOKENS: READER,
    IMBI_MIN_PACKAGE_AGE: "0",
    // Lock revisions are taken up by POST /admin/plugins/reload, which the reload row times, not by the poll.
    IMBI_LOCK_POLL_MS: "60000",
  };
  const service = await startService(env, {
    log: `${dir}/service.log`,
    ...(options.extraFlags ? { extraFlags: options.extraFlags } : {}),
  });
  try {
    const call = (method: string, path: string, body?: unknown) => adminCall(service, { method, path, body });
    await call("POST", "/orgs", { slug: "bench", name: "Bench" });
    await call("POST", "/orgs/bench/third-party-services", { slug: "kv", name: "Key-value store" });
    await call("POST", "/orgs/bench/third-party-services/kv/applications", {
      slug: "default",
      name: "Default",
      credentials: { token: `kv-${crypto.randomUUID()}` },
    });
    for (const [project, spec] of Object.entries(options.nodes)) {
      const { plugin, upstream } = typeof spec === "string" ? { plugin: spec, upstream: options.upstream } : spec;
      const node = await call("POST", "/orgs/bench/third-party-services/kv/plugins", {
        slug: project,
        plugin,
        label: project,
        options: { endpoint: upstream },
      }) as { id: string };
      await call("POST", "/orgs/bench/projects", { slug: project, name: project });
      await call("PUT", `/orgs/bench/projects/${project}/plugins`, {
        bindings: [{
          plugin_id: node.id,
          tab: "configuration",
          default: true,
          search_template: "/bench/{project.slug}",
        }],
      });
    }
  } catch (error) {
    await service.stop();
    throw error;
  }
  return { service, env };
}

/**
 * The Configuration tab URL of a seeded project.
 *
 * @param service The running service.
 * @param project The project's slug.
 * @returns The URL.
 */
export function tabUrl(service: RunningService, project: string): string {
  return `${service.url}/orgs/bench/projects/${project}/configuration`;
}

/**
 * One Configuration tab answer with the read token; throws on any status but 200.
 *
 * @param service The running service.
 * @param project The project's slug.
 * @returns The body and the version of the package that answered.
 */
export async function tabAnswer(service: RunningService, project: string): Promise<{ text: string; version: string }> {
  const response = await fetch(tabUrl(service, project), { headers: READ_AUTH });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`GET ${project}/configuration: ${response.status} ${text}`);
  return { text, version: JSON.parse(text).source.version };
}

/**
 * Starts the fixture's key-value upstream (`tests/fixtures/http-config/upstream.ts`).
 *
 * @param keys Keys per prefix besides the secret one.
 * @returns Its URL, process id and stop function.
 */
export async function startUpstream(keys = 50): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const port = benchPort();
  const helper = await startHelper([
    "run",
    "--allow-net",
    "tests/fixtures/http-config/upstream.ts",
    String(port),
    String(keys),
  ]);
  return { url: `http://127.0.0.1:${port}`, pid: helper.pid, stop: helper.stop };
}
