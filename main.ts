/**
 * The service: reads and validates configuration, builds the dependencies,
 * calls `createApp`, and serves. Nothing else.
 *
 * @module
 */

import { ConfigError, loadConfig } from "./core/config.ts";
import { log, setLogLevel } from "./core/logger.ts";
import { buildServices } from "./core/wiring.ts";
import { createApp } from "./routes/app.ts";

const VERSION = "1.0.0";

async function main(): Promise<number> {
  let config;
  try {
    config = loadConfig(Deno.env.toObject());
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    Deno.stderr.writeSync(new TextEncoder().encode(`imbi: invalid configuration: ${error.message}\n`));
    return 2;
  }
  setLogLevel(config.logLevel);
  const started = performance.now();
  let services;
  try {
    services = await buildServices(config);
  } catch (error) {
    Deno.stderr.writeSync(new TextEncoder().encode(`imbi: cannot start: ${(error as Error).message}\n`));
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
        url: `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`,
        store: services.store.kind,
        startup_ms: Math.round(performance.now() - started),
      }),
  }, app.fetch);
  const stop = () => void server.shutdown();
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await server.finished;
  await services.close();
  log.info("stopped");
  return 0;
}

Deno.exit(await main());
