/**
 * Turns Nagle's algorithm off on the Neo4j driver's sockets. Private to
 * `core/`: only `core/graph/neo4j/store.ts` imports it.
 *
 * Why: `neo4j-driver` opens its sockets with `node:net` / `node:tls` and
 * never calls `setNoDelay`, and under Deno those sockets keep Nagle on. The
 * driver writes a message in 1,400-byte chunks, so a query longer than one
 * chunk (tab resolution is about 5 KB of Cypher) leaves its last chunk, or
 * the `PULL` after it, waiting for the server's delayed ACK: about 40 ms on
 * Linux for a query the server answers in 2. Measured on loopback: median
 * 48 ms with Nagle, 2 ms without.
 *
 * How: `net.connect` and `tls.connect` are wrapped, once, so a socket to a
 * registered Bolt port gets `setNoDelay(true)`. Other sockets are left as
 * they were. The driver reads `connect` from the module object at call
 * time, so the wrapper sees its calls.
 *
 * @module
 */

import net from "node:net";
import tls from "node:tls";

const ports = new Set<number>();
let installed = false;

type Connect = (...args: unknown[]) => net.Socket;

function portOf(args: unknown[]): number | undefined {
  const first = args[0];
  if (typeof first === "number") return first;
  if (typeof first === "string" && /^\d+$/.test(first)) return Number(first);
  if (first !== null && typeof first === "object" && "port" in first) return Number((first as { port: unknown }).port);
  return undefined;
}

function wrap(module: { connect: unknown }): void {
  const original = module.connect as Connect;
  module.connect = function connect(this: unknown, ...args: unknown[]): net.Socket {
    const socket = original.apply(this, args);
    const port = portOf(args);
    if (port !== undefined && ports.has(port)) socket.setNoDelay(true);
    return socket;
  };
}

/**
 * Makes every later driver socket to `port` send without Nagle's delay.
 * Idempotent.
 *
 * @param port The Bolt port of a Neo4j URL (7687 when the URL has none).
 */
export function disableNagleForBoltPort(port: number): void {
  ports.add(port);
  if (installed) return;
  installed = true;
  wrap(net as unknown as { connect: unknown });
  wrap(tls as unknown as { connect: unknown });
}

/**
 * The port a Neo4j URL connects to.
 *
 * @param url A `neo4j://` or `bolt://` URL (with `+s` or `+ssc`).
 * @returns Its port, 7687 when it names none.
 */
export function boltPort(url: string): number {
  const port = new URL(url.replace(/^[a-z0-9+]+:/, "http:")).port;
  return port === "" ? 7687 : Number(port);
}
