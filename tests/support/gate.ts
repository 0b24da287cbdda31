/**
 * A loopback HTTP "gate" for tests that must hold a plugin call in flight:
 * the plugin's request to `/enter` is answered only when the test releases
 * it, and the test can await the moment the request arrived.
 *
 * @module
 */

/** A running gate server. */
export interface Gate {
  url: string;
  /** Resolves with the query of the next request that arrives at `/enter`. */
  arrival(): Promise<URLSearchParams>;
  /** Lets every waiting request (and all later ones) through. */
  open(): void;
  /** Makes later requests wait again. */
  close(): void;
  /** How many requests arrived in all. */
  readonly hits: number;
  shutdown(): Promise<void>;
}

/**
 * Starts a gate on 127.0.0.1, closed.
 *
 * @returns The gate.
 */
export function startGate(): Gate {
  let opened = false;
  let hits = 0;
  let release: (() => void)[] = [];
  const arrivals: ((q: URLSearchParams) => void)[] = [];
  const early: URLSearchParams[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    hits++;
    const query = new URL(request.url).searchParams;
    const waiter = arrivals.shift();
    if (waiter) waiter(query);
    else early.push(query);
    if (!opened) await new Promise<void>((resolve) => release.push(resolve));
    return new Response("ok");
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    arrival() {
      const ready = early.shift();
      return ready ? Promise.resolve(ready) : new Promise((resolve) => arrivals.push(resolve));
    },
    open() {
      opened = true;
      for (const r of release) r();
      release = [];
    },
    close() {
      opened = false;
    },
    get hits() {
      return hits;
    },
    async shutdown() {
      this.open();
      await server.shutdown();
    },
  };
}
