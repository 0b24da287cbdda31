/**
 * Request bodies past `IMBI_MAX_BODY_BYTES` (default 1 MiB) against
 * `deno task serve` with its real flags, over a raw socket so the test knows
 * how much of the body it had sent when the answer came: a 50 MB body is
 * answered 413 long before it is sent, whether its Content-Length says so or
 * it is chunked (then the service counts what it reads and stops).
 */
import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../../core/config.ts";
import { serveLocked } from "../support/serve_process.ts";

const FIFTY_MB = 50 * 1000 * 1000;
const CHUNK = new Uint8Array(64 * 1024).fill(0x20);
const encoder = new TextEncoder();

/** What a raw upload saw: the status line, and how many body bytes were written when it arrived. */
interface Upload {
  status: number;
  head: string;
  sentWhenAnswered: number;
  elapsedMs: number;
}

/**
 * Sends a request head, then up to `total` body bytes (chunked when
 * `chunked`), while reading the answer; stops writing when the answer
 * arrives or the service closes the connection. With `pause`, it sends one
 * 64 KiB piece of the body and then waits for the answer before sending more.
 */
async function upload(
  url: string,
  options: { token?: string; total: number; chunked: boolean; pause?: boolean },
): Promise<Upload> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  const started = performance.now();
  let sent = 0;
  let answered = false;
  let sentWhenAnswered = -1;
  const head = [
    "POST /orgs HTTP/1.1",
    `Host: ${hostname}:${port}`,
    "Content-Type: application/json",
    ...(options.token ? [`Authorization: Bearer ${options.token}`] : []),
    options.chunked ? "Transfer-Encoding: chunked" : `Content-Length: ${options.total}`,
    "",
    "",
  ].join("\r\n");
  const answer = Promise.withResolvers<void>();
  const writer = (async () => {
    try {
      await conn.write(encoder.encode(head));
      while (!answered && sent < options.total) {
        if (options.pause && sent > 0) await answer.promise;
        const frame = options.chunked
          ? new Uint8Array([...encoder.encode(`${CHUNK.length.toString(16)}\r\n`), ...CHUNK, 13, 10])
          : CHUNK;
        let written = 0;
        while (written < frame.length) written += await conn.write(frame.subarray(written));
        sent += CHUNK.length;
      }
    } catch {
      // The service closed the connection after answering: what it did not read, it never will.
    }
  })();
  const reader = (async () => {
    const buffer = new Uint8Array(16 * 1024);
    let text = "";
    while (!text.includes("\r\n\r\n")) {
      const n = await conn.read(buffer);
      if (n === null) break;
      if (sentWhenAnswered < 0) sentWhenAnswered = sent;
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
    answered = true;
    answer.resolve();
    return text;
  })();
  const text = await reader;
  const elapsedMs = performance.now() - started;
  conn.close(); // a write the service no longer reads would block until it closes its end
  await writer;
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
  return { status, head: text, sentWhenAnswered, elapsedMs };
}

Deno.test("request bodies past IMBI_MAX_BODY_BYTES are 413 before they are read", async (t) => {
  await using served = await serveLocked([], { prefix: "imbi-body-limit-" });
  const { service, admin } = served;
  try {
    await t.step("a 50 MB body with its Content-Length is 413 after a few KiB of it", async () => {
      const r = await upload(service.url, { token: admin, total: FIFTY_MB, chunked: false, pause: true });
      assert.equal(r.status, 413, r.head);
      assert.match(r.head, /content-type: application\/problem\+json/i);
      assert.equal(r.sentWhenAnswered, CHUNK.length, "answered after the first 64 KiB, without waiting for more");
      assert.ok(r.elapsedMs < 5000, `answered after ${Math.round(r.elapsedMs)} ms`);
    });

    await t.step("a chunked 50 MB body is 413 once the bytes read pass the limit", async () => {
      const r = await upload(service.url, { token: admin, total: FIFTY_MB, chunked: true });
      assert.equal(r.status, 413, r.head);
      assert.ok(r.sentWhenAnswered < 16 * 1024 * 1024, `answered after ${r.sentWhenAnswered} bytes`);
      assert.ok(r.elapsedMs < 5000, `answered after ${Math.round(r.elapsedMs)} ms`);
    });

    await t.step("without a token too: the limit holds before authentication", async () => {
      const r = await upload(service.url, { total: FIFTY_MB, chunked: false, pause: true });
      assert.equal(r.status, 413, r.head);
    });

    await t.step("a body under the limit is read and validated (422, not 413)", async () => {
      const body = JSON.stringify({ slug: "acme", name: "x".repeat(900 * 1024) });
      const r = await fetch(`${service.url}/orgs`, {
        method: "POST",
        headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
        body,
      });
      assert.equal(r.status, 422, await r.text());
    });
  } finally {
    const status = await service.stop();
    assert.equal(status.code, 0, service.lines.slice(-20).join("\n"));
  }
});

Deno.test("loadConfig() validates IMBI_MAX_BODY_BYTES", () => {
  const base = { IMBI_ADMIN_TOKEN: "admin-0123456789abcdef" };
  assert.equal(loadConfig(base).maxBodyBytes, 1024 * 1024);
  assert.equal(loadConfig({ ...base, IMBI_MAX_BODY_BYTES: "4096" }).maxBodyBytes, 4096);
  for (const bad of ["1mb", "-1", "100", "2000000000"]) {
    assert.throws(() => loadConfig({ ...base, IMBI_MAX_BODY_BYTES: bad }), (e) => {
      return e instanceof ConfigError && e.variable === "IMBI_MAX_BODY_BYTES";
    });
  }
});
