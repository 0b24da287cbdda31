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
  /** Its output lines so far: log lines go to stderr, or through `console` (stdout for info) under OTel. */
  lines: string[];
  /** Sends SIGTERM and waits for it to exit. */
  stop(): Promise<Deno.CommandStatus>;
}

/**
 * Starts `./bin/deno task serve` and waits until it logs "listening"; its log
 * lines are collected.
 *
 * @param env The whole environment of the process.
 * @returns The running service.
 * @throws {Error} With its log when it exits before listening.
 */
export async function serve(env: Record<string, string>): Promise<ServeProcess> {
  const child = new Deno.Command(`${ROOT}bin/deno`, {
    args: ["task", "serve"],
    cwd: ROOT,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Log lines go to stderr, or through console (stdout for info) when OTel exports them: read both.
  const lines: string[] = [];
  let notify = () => {};
  const read = async (stream: ReadableStream<Uint8Array>) => {
    let partial = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      const parts = (partial + chunk).split("\n");
      partial = parts.pop()!;
      lines.push(...parts);
      notify();
    }
  };
  const drained = Promise.all([read(child.stdout), read(child.stderr)]);
  const exited = drained.then(() => child.status);
  const listening = await new Promise<string | undefined>((resolve) => {
    const check = () => {
      const line = lines.find((l) => l.includes('"msg":"listening"'));
      if (line) resolve(line);
    };
    notify = check;
    void exited.then(() => resolve(lines.find((l) => l.includes('"msg":"listening"'))));
  });
  notify = () => {};
  if (!listening) {
    await exited;
    throw new Error(`deno task serve did not start:\n${lines.join("\n")}`);
  }
  return {
    url: JSON.parse(listening).url as string,
    lines,
    async stop() {
      child.kill("SIGTERM");
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
