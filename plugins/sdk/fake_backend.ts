/**
 * A loopback HTTP server for the faithful fake of a backend that cannot run
 * where the tests do: it listens on a free port of 127.0.0.1 and closes with
 * `await using`.
 *
 * @example
 * ```ts
 * import { serveFakeBackend } from "@imbi/plugin-sdk/testing";
 * await using backend = serveFakeBackend((request) => Response.json({ path: new URL(request.url).pathname }));
 * const runner = inProcess(MyLogs, { options: { endpoint: backend.url } });
 * ```
 *
 * @module
 */

/** A running fake backend. */
export interface FakeBackend extends AsyncDisposable {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** Stops listening once the requests in flight are answered. */
  close(): Promise<void>;
}

/**
 * Serves `handler` on a free loopback port.
 *
 * @param handler Answers every request.
 * @returns The server; `await using` (or `close()`) stops it.
 */
export function serveFakeBackend(handler: (request: Request) => Response | Promise<Response>): FakeBackend {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
  const close = () => server.shutdown();
  return { url: `http://127.0.0.1:${server.addr.port}`, close, [Symbol.asyncDispose]: close };
}
