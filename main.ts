/**
 * The service: reads and validates configuration, builds the dependencies,
 * calls `createApp`, and serves. Nothing else.
 *
 * @module
 */

import { parseCommand } from "./cli/_args.ts";
import { ConfigError, loadConfig } from "./core/config.ts";
import { log, setLogLevel } from "./core/logger.ts";
import { metrics } from "./core/ops/metrics.ts";
import { buildServices } from "./core/wiring.ts";
import { createApp } from "./routes/app.ts";

const VERSION = "1.0.0";

const USAGE = `usage: deno task serve

Runs the Imbi plugin runtime. It takes no arguments: every setting is an environment variable (IMBI_PORT, IMBI_HOST,
IMBI_DATA_DIR, IMBI_LOCKFILE, IMBI_ADMIN_TOKEN[_FILE], IMBI_ENCRYPTION_KEYS[_FILE], IMBI_GRAPH_URL, IMBI_METRICS_PORT,
...), listed in README.md and docs/operations.md. Probes: GET /healthz (alive), GET /readyz (ready to serve).`;

function url(hostname: string, port: number): string {
  return `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
}

async function main(): Promise<number> {
  parseCommand(Deno.args, { name: "serve", usage: USAGE, options: {} });
  let config;
  try {
    config = loadConfig(Deno.env.toObject());
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    log.error("invalid configuration", { variable: error.variable, error: error.message });
    return 2;
  }
  setLogLevel(config.logLevel);
  const started = performance.now();
  let services;
  try {
    services = await buildServices(config);
  } catch (error) {
    log.error("cannot start", { error: (error as Error).message });
    return 1;
  }
  const app = createApp({
    ...services,
    version: VERSION,
    clock: () => new Date(),
    maxBodyBytes: config.maxBodyBytes,
  });
  const server = Deno.serve({
    hostname: config.host,
    port: config.port,
    onListen: ({ hostname, port }) =>
      log.info("listening", {
        url: url(hostname, port),
        store: services.store.kind,
        startup_ms: Math.round(performance.now() - started),
      }),
  }, app.fetch);
  const metricsServer = config.metricsPort === undefined ? undefined : Deno.serve({
    hostname: config.host,
    port: config.metricsPort,
    onListen: ({ hostname, port }) => log.info("metrics listening", { url: `${url(hostname, port)}/metrics` }),
  }, async (request) => {
    if (new URL(request.url).pathname !== "/metrics" || request.method !== "GET") {
      return new Response("Not Found\n", { status: 404 });
    }
    return new Response(await metrics.exposition(), { headers: { "content-type": metrics.contentType } });
  });
  await stopRequested();
  log.info("stopping: no new connections; requests in flight may finish", { grace_ms: config.shutdownGraceMs });
  void metricsServer?.shutdown();
  const drained = await within(server.shutdown(), config.shutdownGraceMs);
  if (!drained) log.warn("stopping: grace period over with requests in flight", { grace_ms: config.shutdownGraceMs });
  // Only now do the plugin processes stop: they live in their own process group, so the signal did not reach them.
  await services.close();
  log.info("stopped");
  return 0;
}

/**
 * Resolves on the first SIGTERM or SIGINT. Later ones change nothing: with
 * `deno task` between an init and the service, one stop can arrive twice (the
 * group's signal and the one the task runner forwards).
 */
function stopRequested(): Promise<void> {
  const { promise, resolve } = Promise.withResolvers<void>();
  const onSignal = () => resolve();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  return promise;
}

/** Whether a promise settled within `ms` milliseconds. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.exit(await main());
