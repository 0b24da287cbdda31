/**
 * The service as operators run it: `./bin/deno task serve`, with the task's
 * own permission flags (never `-A`), as a child process, and a small HTTP
 * client for it with the same `request`/`ok` shape as the in-process test
 * app, so the seed helpers (`seed.ts`) work against either.
 *
 * @module
 */

import assert from "node:assert/strict";
import { scanForSecrets } from "./secret_scan.ts";
import { ROOT, type TestApp, type TestResponse } from "./test_app.ts";

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

/** The part of {@linkcode TestApp} the seed helpers use. */
export type HttpClient = Pick<TestApp, "request" | "ok">;

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
  const request: TestApp["request"] = async (method, path, { body, token, headers = {} } = {}) => {
    const sent: Record<string, string> = { ...headers };
    if (token !== null) sent.authorization = `Bearer ${token ?? adminToken}`;
    const init: RequestInit = { method, headers: sent };
    if (body !== undefined) {
      init.body = typeof body === "string" ? body : JSON.stringify(body);
      sent["content-type"] ??= "application/json";
    }
    const response = await fetch(`${url}${path}`, init);
    const text = await response.text();
    scanForSecrets(text, `the response to ${method} ${path}`);
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: response.status, headers: response.headers, body: parsed, text } satisfies TestResponse;
  };
  return {
    request,
    async ok(method, path, { status = method === "POST" ? 201 : 200, ...options } = {}) {
      const response = await request(method, path, options);
      assert.equal(response.status, status, `${method} ${path}: ${response.text}`);
      return response.body;
    },
  };
}

/**
 * Runs `./bin/deno task <task> <args…>` to its end (a CLI task such as
 * `plugins`, with the task's own permission flags).
 *
 * @param task The task, e.g. `plugins`.
 * @param args Its arguments.
 * @param env Its environment (added to the test runner's).
 * @returns The exit code and both outputs.
 */
export async function runTask(
  task: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(`${ROOT}bin/deno`, {
    args: ["task", task, ...args],
    cwd: ROOT,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}
