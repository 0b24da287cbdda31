/**
 * The test command: installs and starts every real backend the tests use
 * (once per run, on loopback), runs `deno test` with their addresses in the
 * environment, and stops them. With `IMBI_TEST_SERVICES=required` (CI), a
 * service that cannot be installed or started fails the run; otherwise its
 * tests are skipped with a notice.
 *
 * Usage: deno run -A tests/setup/run.ts [deno test arguments...]
 *
 * Several checkouts on one machine can share one set of backends: start them
 * once with `deno run -A tests/setup/run.ts --services-only <env.json>`
 * (it writes their variables to the file and runs until stopped), then run
 * tests anywhere with `IMBI_TEST_SERVICES_ENV=<env.json>`: the test command
 * then starts nothing and reads the variables from the file.
 *
 * @module
 */

import { buildJail } from "../../cli/sandbox_jail.ts";
import type { RunningService, TestService } from "./service.ts";

const root = new URL("../../", import.meta.url).pathname;
const cacheDir = Deno.env.get("IMBI_TEST_CACHE") ?? `${root}.cache/test-services`;
const required = Deno.env.get("IMBI_TEST_SERVICES") === "required";

async function loadServices(): Promise<TestService[]> {
  const services: TestService[] = [];
  for await (const entry of Deno.readDir(new URL(".", import.meta.url))) {
    if (!entry.isFile || !entry.name.endsWith(".ts") || ["run.ts", "service.ts"].includes(entry.name)) continue;
    if (entry.name.endsWith("_test.ts") || entry.name.startsWith("_")) continue;
    const mod = await import(new URL(entry.name, import.meta.url).href);
    if (mod.service) services.push(mod.service as TestService);
  }
  return services.sort((a, b) => a.name.localeCompare(b.name));
}

function say(line: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(`[test-services] ${line}\n`));
}

async function main(): Promise<number> {
  const shared = Deno.env.get("IMBI_TEST_SERVICES_ENV");
  const servicesOnly = Deno.args[0] === "--services-only" ? Deno.args[1] : undefined;
  if (Deno.args[0] === "--services-only" && !servicesOnly) {
    say("usage: run.ts --services-only <env.json>");
    return 2;
  }
  await Deno.mkdir(cacheDir, { recursive: true });
  // Plugin processes are confined through imbi-jail wherever a test spawns them (docs/sandbox.md).
  say(`imbi-jail: ${(await buildJail()).path}`);
  const services = shared ? [] : await loadServices();
  const running: RunningService[] = [];
  const env: Record<string, string> = { IMBI_TEST_SERVICES: required ? "required" : "optional" };
  if (shared) {
    Object.assign(env, JSON.parse(await Deno.readTextFile(shared)), { IMBI_TEST_SERVICES: env.IMBI_TEST_SERVICES });
  }
  const failures: string[] = [];
  await Promise.all(services.map(async (svc) => {
    const progress = (line: string) => say(`${svc.name}: ${line}`);
    try {
      const started = performance.now();
      await svc.install(cacheDir, progress);
      const handle = await svc.start(cacheDir, progress);
      running.push(handle);
      Object.assign(env, handle.env);
      progress(`ready in ${Math.round(performance.now() - started)} ms`);
    } catch (error) {
      failures.push(`${svc.name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }));
  const stopAll = async () => {
    await Promise.allSettled(running.map((r) => r.stop()));
  };
  if (failures.length > 0) {
    for (const failure of failures) say(`UNAVAILABLE ${failure}`);
    if (required) {
      say("IMBI_TEST_SERVICES=required: a test service is missing, failing the run");
      await stopAll();
      return 1;
    }
    say("their tests will be skipped (set IMBI_TEST_SERVICES=required to fail instead)");
  }
  if (servicesOnly) {
    await Deno.writeTextFile(servicesOnly, JSON.stringify(env, null, 2));
    say(`services up; variables in ${servicesOnly}; stop with SIGINT or SIGTERM`);
    await new Promise<void>((resolve) => {
      Deno.addSignalListener("SIGINT", resolve);
      Deno.addSignalListener("SIGTERM", resolve);
    });
    await stopAll();
    return 0;
  }
  const args = Deno.args.length > 0 ? Deno.args : ["--parallel"];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["test", "--allow-all", ...args],
    cwd: root,
    env,
    stdin: "null",
  }).spawn();
  let current = child;
  const onSignal = () => current.kill("SIGTERM");
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  let status = await child.status;
  if (status.success && Deno.args.length === 0 && env.IMBI_TEST_NEO4J_URL) {
    say("second pass: the HTTP end-to-end and console tests on Neo4j");
    const httpTests: string[] = [];
    for (const dir of ["tests/http", "tests/console"]) {
      for await (const entry of Deno.readDir(`${root}${dir}`)) {
        if (entry.isFile && entry.name.endsWith("_test.ts")) httpTests.push(`${dir}/${entry.name}`);
      }
    }
    current = new Deno.Command(Deno.execPath(), {
      args: ["test", "--allow-all", ...httpTests.sort()],
      cwd: root,
      env: { ...env, IMBI_TEST_E2E_STORE: "neo4j" },
      stdin: "null",
    }).spawn();
    status = await current.status;
  }
  Deno.removeSignalListener("SIGINT", onSignal);
  Deno.removeSignalListener("SIGTERM", onSignal);
  await stopAll();
  return status.code;
}

Deno.exit(await main());
