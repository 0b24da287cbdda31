/**
 * The service as operators run it: `./bin/deno task serve`, with the task's
 * own permission flags (never `-A`), as a child process, and a small HTTP
 * client for it with the same `request`/`ok` shape as the in-process test
 * app, so the seed helpers (`seed.ts`) work against either.
 *
 * @module
 */

import { type CommandResult, runCommand } from "./command.ts";
import { freePort } from "./local.ts";
import { type HttpClient, type LocalPackage, lockLocalPackages, ROOT, testClient } from "./test_app.ts";

export type { HttpClient };

/** A running `deno task serve`. */
export interface ServeProcess {
  /** `http://127.0.0.1:<port>`, from its "listening" log line. */
  url: string;
  /** The process id of `./bin/deno task serve` (the group's id too when started `detached`). */
  pid: number;
  /** Resolves with its exit status. */
  status: Promise<Deno.CommandStatus>;
  /** Its output lines so far: log lines go to stderr, or through `console` (stdout for info) under OTel. */
  lines: string[];
  /**
   * The first output line, written so far or later, that contains `text`.
   *
   * @throws {Error} When the process ends first.
   */
  line(text: string): Promise<string>;
  /** Sends SIGTERM and waits for it to exit. */
  stop(): Promise<Deno.CommandStatus>;
}

/**
 * Starts `./bin/deno task serve` and waits until it logs "listening"; its
 * output lines are collected.
 *
 * @param env The whole environment of the process.
 * @param options `detached`: in a process group of its own, as under a container's init (signal the group with
 *   `Deno.kill(-pid, …)`).
 * @returns The running service.
 * @throws {Error} With its log when it exits before listening.
 */
export async function serve(env: Record<string, string>, options: { detached?: boolean } = {}): Promise<ServeProcess> {
  const child = new Deno.Command(`${ROOT}bin/deno`, {
    args: ["task", "serve"],
    cwd: ROOT,
    env,
    detached: options.detached ?? false,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const waiters: { text: string; resolve: (line: string) => void }[] = [];
  const read = async (stream: ReadableStream<Uint8Array>) => {
    let partial = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      const parts = (partial + chunk).split("\n");
      partial = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        for (const waiter of waiters.filter((w) => line.includes(w.text))) waiter.resolve(line);
      }
    }
  };
  const exited = Promise.all([read(child.stdout), read(child.stderr)]).then(() => child.status);
  const ended = exited.then(() => {
    throw new Error(`the service ended; its log:\n${lines.join("\n")}`);
  });
  ended.catch(() => {});
  const line = (text: string): Promise<string> => {
    const seen = lines.find((l) => l.includes(text));
    if (seen !== undefined) return Promise.resolve(seen);
    const { promise, resolve } = Promise.withResolvers<string>();
    waiters.push({ text, resolve });
    return Promise.race([promise, ended]);
  };
  let listening: string;
  try {
    listening = await line('"msg":"listening"');
  } catch {
    throw new Error(`deno task serve did not start:\n${lines.join("\n")}`);
  }
  return {
    url: JSON.parse(listening).url as string,
    pid: child.pid,
    status: exited,
    lines,
    line,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already gone.
      }
      return await exited;
    },
  };
}

/**
 * A client of a running service with the test app's `request` and `ok`:
 * the admin token unless `token` is given (`null` for none), JSON bodies,
 * every response scanned for secrets.
 *
 * @param url The service's base URL.
 * @param adminToken The admin token.
 * @returns The client.
 */
export function httpClient(url: string, adminToken: string): HttpClient {
  return testClient((path, init) => fetch(`${url}${path}`, init), adminToken);
}

/** A `deno task serve` started by {@linkcode serveLocked}, in a temporary directory of its own. */
export interface LockedService extends AsyncDisposable {
  /** The process. */
  service: ServeProcess;
  /** The temporary directory: the data directory `data/` and the lockfile `plugins.lock.json`. */
  work: string;
  /** Its admin token (random). */
  admin: string;
  /** A client of it with the admin token. */
  app: HttpClient;
}

/**
 * Starts `deno task serve` on a free port with a fresh data directory, a
 * lockfile holding `packages` (local paths) and a random admin token, in a
 * new temporary directory; disposing of it stops the service and removes
 * the directory.
 *
 * @param packages The local packages to lock.
 * @param options `prefix` of the temporary directory, or `work`, one the caller made (and hands over: it is
 *   removed too); `env` added to (or overriding) the service's environment, which is the test's own (but for the
 *   names in `unset`) plus the above and `IMBI_MIN_PACKAGE_AGE=0`.
 * @returns The running service.
 * @example
 * ```ts
 * await using served = await serveLocked([], { prefix: "imbi-body-limit-" });
 * await served.app.ok("GET", "/orgs");
 * ```
 */
export async function serveLocked(
  packages: LocalPackage[],
  options: { prefix?: string; work?: string; env?: Record<string, string>; unset?: string[] } = {},
): Promise<LockedService> {
  const work = options.work ?? await Deno.makeTempDir({ prefix: options.prefix ?? "imbi-serve-" });
  const admin = `admin-${crypto.randomUUID()}`;
  const inherited = Deno.env.toObject();
  for (const name of options.unset ?? []) delete inherited[name];
  let service: ServeProcess;
  try {
    await lockLocalPackages(`${work}/plugins.lock.json`, packages);
    service = await serve({
      ...inherited,
      IMBI_DATA_DIR: `${work}/data`,
      IMBI_LOCKFILE: `${work}/plugins.lock.json`,
      IMBI_ADMIN_TOKEN: admin,
      IMBI_PORT: String(freePort()),
      IMBI_MIN_PACKAGE_AGE: "0",
      ...options.env,
    });
  } catch (error) {
    await Deno.remove(work, { recursive: true });
    throw error;
  }
  return {
    service,
    work,
    admin,
    app: httpClient(service.url, admin),
    async [Symbol.asyncDispose]() {
      await service.stop();
      await Deno.remove(work, { recursive: true });
    },
  };
}

/**
 * Runs `./bin/deno task <task> <args…>` to its end (a CLI task such as
 * `plugins`, with the task's own permission flags).
 *
 * @param task The task, e.g. `plugins`.
 * @param args Its arguments.
 * @param env Its environment (added to the test runner's, with `NO_COLOR=1`).
 * @returns The exit code and both outputs.
 */
export function runTask(
  task: string,
  args: string[],
  env: Record<string, string>,
): Promise<CommandResult> {
  return runCommand(`${ROOT}bin/deno`, ["task", task, ...args], { cwd: ROOT, env });
}
