/**
 * Shared pieces of the sandbox tests: call contexts, loopback HTTP servers
 * that count hits or hold a response until released, and process checks
 * through `/proc`.
 *
 * @module
 */

import type { CallContext, HandlerInit } from "@imbi/plugin-sdk/types";
import { PluginCallError } from "../../core/errors.ts";
import { rejection } from "./thrown.ts";

/**
 * What a supervisor call failed with.
 *
 * @param promise The call.
 * @returns Its PluginCallError.
 * @throws {Error} An assertion error when the call succeeds or fails otherwise.
 */
export function failure(promise: Promise<unknown>): Promise<PluginCallError> {
  return rejection(promise, PluginCallError);
}

/** A call context for tests. */
export function testContext(requestId: string = crypto.randomUUID()): CallContext {
  return {
    org: { slug: "acme" },
    project: { id: "p1", slug: "web", name: "Web", project_types: ["api"] },
    search_template: "/acme/web",
    request_id: requestId,
  };
}

/** A handler init for tests, with one secret credential. */
export function testInit(slug: string, credentials: Record<string, string> = {}, options = {}): HandlerInit {
  return {
    options,
    credentials,
    plugin: { id: `node-${slug}`, slug },
    service: { slug: "svc", name: "Service", vendor: null, base_url: null, account: null, region: null },
  };
}

/**
 * A loopback HTTP server. `/ok` answers at once, `/redirect?to=URL` answers
 * 302, `/hold` waits until {@link LoopbackServer.release}; every request is
 * counted.
 */
export class LoopbackServer implements AsyncDisposable {
  /** Requests seen, any path. */
  hits = 0;
  #server: Deno.HttpServer<Deno.NetAddr>;
  #holding = 0;
  #arrivalWaiters: { count: number; resolve: () => void }[] = [];
  #release = Promise.withResolvers<void>();

  constructor() {
    this.#server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
      this.hits++;
      const url = new URL(request.url);
      if (url.pathname === "/redirect") {
        return new Response(null, { status: 302, headers: { location: url.searchParams.get("to")! } });
      }
      if (url.pathname === "/hold") {
        this.#holding++;
        for (const waiter of this.#arrivalWaiters.filter((w) => w.count <= this.#holding)) waiter.resolve();
        this.#arrivalWaiters = this.#arrivalWaiters.filter((w) => w.count > this.#holding);
        return this.#release.promise.then(() => new Response("released"));
      }
      return new Response("ok");
    });
  }

  /** `host:port` of the server. */
  get hostPort(): string {
    return `127.0.0.1:${this.#server.addr.port}`;
  }

  /** Base URL, no trailing slash. */
  get url(): string {
    return `http://${this.hostPort}`;
  }

  /** Requests to `/hold` seen so far. */
  get held(): number {
    return this.#holding;
  }

  /** Resolves once `count` requests to `/hold` have arrived in total. */
  holding(count: number): Promise<void> {
    if (this.#holding >= count) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#arrivalWaiters.push({ count, resolve });
    return promise;
  }

  /** Answers every held request, now and later. */
  release(): void {
    this.#release.resolve();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.release();
    await this.#server.shutdown();
  }
}

/**
 * Whether a process is running: `/proc/<pid>` exists and is not a zombie (a process reaped while it is read is gone).
 *
 * @param pid The process id.
 */
export function isAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    // A process reaped while its stat file is read answers ESRCH rather than ENOENT.
    if (
      error instanceof Error && ((error as { code?: string }).code === "ESRCH" || /os error 3\)/.test(error.message))
    ) {
      return false;
    }
    throw error;
  }
}

/**
 * Polls until a process is gone, with a bounded deadline.
 *
 * @returns Milliseconds it took.
 * @throws {Error} When the process is still alive at the deadline.
 */
export async function waitGone(pid: number, deadlineMs = 5000): Promise<number> {
  const started = performance.now();
  while (isAlive(pid)) {
    if (performance.now() - started > deadlineMs) throw new Error(`process ${pid} still alive after ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return performance.now() - started;
}

/** CPU time (user + system, clock ticks) a process has used. */
export function cpuTicks(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/** Resident set size of a process in KiB (`VmRSS`). */
export function rssKiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

/**
 * The pid a host program prints as its first stdout line (the plugin child it started).
 *
 * @param host The host program, spawned with `stdout: "piped"`.
 * @returns The pid.
 */
export async function printedPid(host: Deno.ChildProcess): Promise<number> {
  const reader = host.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { done, value } = await reader.read();
    if (done) break;
    text += value;
  }
  await reader.cancel();
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`host printed ${JSON.stringify(text)}`);
  return pid;
}
