import assert from "node:assert/strict";
import {
  encodeFrame,
  FrameDecoder,
  FrameError,
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
