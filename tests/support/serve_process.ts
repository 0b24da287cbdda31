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
  /** Its log lines so far (stderr). */
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
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let partial = "";
  const pump = async (until?: (line: string) => boolean): Promise<string | undefined> => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return undefined;
      const parts = (partial + value).split("\n");
      partial = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        if (until?.(line)) return line;
      }
    }
  };
  const listening = await pump((line) => line.includes('"msg":"listening"'));
  if (!listening) {
    await child.status;
    throw new Error(`deno task serve did not start:\n${lines.join("\n")}`);
  }
  const drained = pump();
  return {
    url: JSON.parse(listening).url as string,
    lines,
    async stop() {
      child.kill("SIGTERM");
      await drained;
      return await child.status;
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
