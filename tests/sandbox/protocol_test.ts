import assert from "node:assert/strict";
import {
  encodeFrame,
  FrameDecoder,
  FrameError,
  FrameWriter,
  parseChildMessage,
  parseHostMessage,
} from "../../core/sandbox/protocol.ts";
import { thrown } from "../support/thrown.ts";

function frameError(fn: () => unknown): FrameError {
  return thrown(fn, FrameError);
}

Deno.test("FrameDecoder reassembles frames split at every byte and joined in one chunk", () => {
  const messages = [{ type: "ready" }, { type: "result", id: 1, value: { ü: "snow ☃", n: [1, 2] } }];
  const bytes = new Uint8Array(messages.flatMap((m) => [...encodeFrame(m, 1024)]));
  const byByte = new FrameDecoder(1024);
  const out: unknown[] = [];
  for (const byte of bytes) out.push(...byByte.push(new Uint8Array([byte])));
  assert.deepEqual(out, messages);
  assert.equal(byByte.partial, false);
  assert.deepEqual(new FrameDecoder(1024).push(bytes), messages);
});

Deno.test("FrameDecoder refuses an oversized frame at its length prefix, before any body", () => {
  const header = new Uint8Array(4);
  new DataView(header.buffer).setUint32(0, 50 * 1024 * 1024);
  const error = frameError(() => new FrameDecoder(16 * 1024 * 1024).push(header));
  assert.equal(error.reason, "too_large");
  assert.match(error.message, /52428800 bytes exceeds the 16777216-byte limit/);
});

Deno.test("FrameDecoder refuses empty, non-UTF-8 and non-JSON bodies", () => {
  assert.equal(frameError(() => new FrameDecoder(64).push(new Uint8Array([0, 0, 0, 0]))).reason, "malformed");
  assert.equal(frameError(() => new FrameDecoder(64).push(new Uint8Array([0, 0, 0, 1, 0xff]))).reason, "malformed");
  assert.equal(frameError(() => new FrameDecoder(64).push(new Uint8Array([0, 0, 0, 1, 0x7b]))).reason, "malformed");
});

Deno.test("encodeFrame() refuses a message above the limit and one that is not JSON", () => {
  assert.equal(frameError(() => encodeFrame({ s: "x".repeat(100) }, 64)).reason, "too_large");
  assert.equal(frameError(() => encodeFrame({ s: "é".repeat(40) }, 64)).reason, "too_large");
  assert.throws(() => encodeFrame({ n: 1n }, 64), TypeError);
  assert.equal(encodeFrame({ type: "ready" }, 64).length, 4 + '{"type":"ready"}'.length);
});

Deno.test("parseChildMessage() accepts each child message and refuses anything else", () => {
  assert.deepEqual(parseChildMessage({ type: "result", id: 3 }), { type: "result", id: 3 });
  assert.deepEqual(
    parseChildMessage({ type: "error", id: 3, error: { code: "thrown", kind: "not_found", message: "m" } }),
    {
      type: "error",
      id: 3,
      error: { code: "thrown", kind: "not_found", message: "m" },
    },
  );
  assert.deepEqual(parseChildMessage({ type: "inspected", result: { ok: false, reason: "r" } }), {
    type: "inspected",
    result: { ok: false, reason: "r" },
  });
  for (
    const bad of [
      null,
      [],
      { type: "hello" },
      { type: "ready", extra: 1 },
      { type: "result", id: -1 },
      { type: "result", id: "1" },
      { type: "error", id: 1, error: { code: "boom", message: "m" } },
      { type: "error", id: 1, error: { code: "thrown" } },
      { type: "error", id: 1, error: { code: "thrown", message: "m", retry_after: "soon" } },
      { type: "fatal" },
      { type: "inspected", result: { ok: true, entries: [{ index: 0 }] } },
    ]
  ) {
    assert.equal(frameError(() => parseChildMessage(bad)).reason, "malformed", JSON.stringify(bad));
  }
});

Deno.test("parseHostMessage() accepts each host message and refuses anything else", () => {
  assert.deepEqual(parseHostMessage({ type: "shutdown" }), { type: "shutdown" });
  assert.deepEqual(parseHostMessage({ type: "call", id: 1, method: "listKeys", args: [], request_id: "r" }), {
    type: "call",
    id: 1,
    method: "listKeys",
    args: [],
    request_id: "r",
  });
  for (
    const bad of [
      { type: "call", id: 1, method: "listKeys", args: {}, request_id: "r" },
      { type: "inspect", bundle: "https://example.com/x.js" },
      {
        type: "init",
        bundle: "file:///x.js",
        entry: "e",
        methods: { logs: [1] },
        init: { options: {}, credentials: {} },
      },
      { type: "init", bundle: "file:///x.js", entry: "e", methods: {}, init: {} },
    ]
  ) {
    assert.equal(frameError(() => parseHostMessage(bad)).reason, "malformed", JSON.stringify(bad));
  }
});

/** A connected pair of Unix sockets in a fresh directory; `writes` records the byte count of each write on `client`. */
async function socketPair(): Promise<
  { client: Deno.UnixConn; server: Deno.UnixConn; writes: number[] } & AsyncDisposable
> {
  const dir = await Deno.makeTempDir({ prefix: "frame-writer-" });
  const listener = Deno.listen({ transport: "unix", path: `${dir}/s.sock` });
  const [client, server] = await Promise.all([
    Deno.connect({ transport: "unix", path: `${dir}/s.sock` }),
    listener.accept(),
  ]);
  listener.close();
  const writes: number[] = [];
  const write = client.write.bind(client);
  client.write = (bytes) => write(bytes).then((n) => (writes.push(n), n));
  return {
    client,
    server,
    writes,
    async [Symbol.asyncDispose]() {
      for (const conn of [client, server]) {
        try {
          conn.close();
        } catch {
          // Closed by the test.
        }
      }
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Reads frames from `conn` until `count` came. */
async function readFrames(conn: Deno.Conn, count: number): Promise<unknown[]> {
  const decoder = new FrameDecoder(32 * 1024 * 1024);
  const out: unknown[] = [];
  const buffer = new Uint8Array(64 * 1024);
  while (out.length < count) {
    const read = await conn.read(buffer);
    if (read === null) break;
    out.push(...decoder.push(buffer.subarray(0, read)));
  }
  return out;
}

Deno.test("FrameWriter sends frames whole and in order over a socket, one write per turn, queued until attached", async () => {
  await using pair = await socketPair();
  const errors: unknown[] = [];
  const writer = new FrameWriter((error) => errors.push(error));
  const big = { type: "result", id: 3, value: "x".repeat(8 * 1024 * 1024) };
  const messages = [{ type: "ready" }, { type: "result", id: 1 }, { type: "result", id: 2, value: [1] }, big];
  // Two frames before the connection exists, then two more in the same turn.
  writer.write(encodeFrame(messages[0], 32 * 1024 * 1024));
  writer.write(encodeFrame(messages[1], 32 * 1024 * 1024));
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(pair.writes, [], "nothing is written before attach");
  writer.attach(pair.client);
  writer.write(encodeFrame(messages[2], 32 * 1024 * 1024));
  writer.write(encodeFrame(messages[3], 32 * 1024 * 1024));
  const [received] = await Promise.all([readFrames(pair.server, 4), writer.drained()]);
  assert.deepEqual(received, messages);
  assert.deepEqual(errors, []);
  const total = messages.reduce((sum, message) => sum + encodeFrame(message, 32 * 1024 * 1024).length, 0);
  assert.equal(pair.writes.reduce((sum, n) => sum + n, 0), total);
  // The kernel takes 8 MB in several parts (more than a socket's buffer).
  assert.ok(pair.writes.length > 1, "the 8 MB write was partial and resumed");
  // Three small frames in one turn: one write.
  const before = pair.writes.length;
  const small = [1, 2, 3].map((id) => ({ type: "result", id }));
  for (const message of small) writer.write(encodeFrame(message, 1024));
  const [again] = await Promise.all([readFrames(pair.server, 3), writer.drained()]);
  assert.deepEqual(again, small);
  assert.equal(pair.writes.length, before + 1);
});

Deno.test("FrameWriter reports a failed write once, drops what follows, and still drains", async () => {
  await using pair = await socketPair();
  const errors: unknown[] = [];
  const writer = new FrameWriter((error) => errors.push(error));
  writer.attach(pair.client);
  pair.server.close();
  pair.client.close();
  writer.write(encodeFrame({ type: "ready" }, 1024));
  await writer.drained();
  writer.write(encodeFrame({ type: "ready" }, 1024));
  await writer.drained();
  assert.equal(errors.length, 1);
  assert.ok(errors[0] instanceof Deno.errors.BadResource, String(errors[0]));
  assert.deepEqual(pair.writes, []);
});
