/**
 * Start-up against a Neo4j that cannot be reached yet (issue 10): the
 * service waits, logging `waiting for the graph store`, and connects as soon
 * as the server answers; it gives up after `IMBI_GRAPH_WAIT_MS` with the
 * store's error. The server "comes up" by a loopback TCP relay to the shared
 * test Neo4j starting to listen on the port the service was told to use.
 *
 * @module
 */

import assert from "node:assert/strict";
import { loadConfig } from "../../core/config.ts";
import { UnavailableError } from "../../core/errors.ts";
import { setLogSink } from "../../core/logger.ts";
import { openStore } from "../../core/wiring.ts";
import { freePort } from "../support/local.ts";
import { serviceUrl } from "../support/services.ts";

const NEO4J = serviceUrl("IMBI_TEST_NEO4J_URL");

function config(port: number, waitMs: number) {
  return loadConfig({
    IMBI_GRAPH_URL: `bolt://127.0.0.1:${port}`,
    IMBI_GRAPH_USER: Deno.env.get("IMBI_TEST_NEO4J_USER") ?? "neo4j",
    IMBI_GRAPH_PASSWORD: Deno.env.get("IMBI_TEST_NEO4J_PASSWORD") ?? "",
    IMBI_GRAPH_WAIT_MS: String(waitMs),
  });
}

/** Relays every connection on `port` to the test Neo4j. */
function relay(port: number) {
  const upstream = new URL(NEO4J!);
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const conns: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      const far = await Deno.connect({ hostname: upstream.hostname, port: Number(upstream.port) });
      conns.push(conn, far);
      conn.readable.pipeTo(far.writable).catch(() => {});
      far.readable.pipeTo(conn.writable).catch(() => {});
    }
  })();
  return {
    async close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // Already closed by the other side.
        }
      }
      await accepting.catch(() => {});
    },
  };
}

Deno.test({
  name: "openStore() waits for an unreachable Neo4j, logging it, and connects when it comes up",
  ignore: !NEO4J,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const port = freePort();
    const lines: string[] = [];
    const previous = setLogSink((line) => lines.push(line));
    let up: ReturnType<typeof relay> | undefined;
    try {
      const opening = openStore(config(port, 60_000));
      // The first attempts fail (nothing listens); then the server "comes up".
      while (!lines.some((l) => l.includes('"msg":"waiting for the graph store"'))) {
        await new Promise((r) => setTimeout(r, 50));
      }
      up = relay(port);
      const store = await opening;
      try {
        await store.ping();
        const waiting = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === "waiting for the graph store");
        assert.ok(waiting.length >= 1);
        assert.equal(typeof waiting[0].retry_in_ms, "number");
        assert.equal(typeof waiting[0].gives_up_in_ms, "number");
        assert.ok(!lines.some((l) => l.includes(Deno.env.get("IMBI_TEST_NEO4J_PASSWORD") ?? "never-logged")));
      } finally {
        await store.close();
      }
    } finally {
      setLogSink(previous);
      await up?.close();
    }
  },
});

Deno.test({
  name: "openStore() gives up after IMBI_GRAPH_WAIT_MS with the store's error",
  ignore: !NEO4J,
  fn: async () => {
    const lines: string[] = [];
    const previous = setLogSink((line) => lines.push(line));
    try {
      const started = performance.now();
      await assert.rejects(openStore(config(freePort(), 1500)), UnavailableError);
      const took = performance.now() - started;
      assert.ok(took >= 1000 && took < 15_000, `${Math.round(took)} ms`);
      assert.ok(lines.some((l) => l.includes('"msg":"waiting for the graph store"')));
    } finally {
      setLogSink(previous);
    }
  },
});
