import assert from "node:assert/strict";
import { CredentialsRejected, InvalidInput, NotFound, RateLimited, UpstreamUnavailable } from "./errors.ts";
import { errorForStatus, fetchUpstream, parseRetryAfter } from "./http.ts";

Deno.test("parseRetryAfter() reads seconds and HTTP dates", () => {
  assert.deepEqual(parseRetryAfter("7"), 7);
  assert.deepEqual(parseRetryAfter("Thu, 01 Jan 1970 00:00:30 GMT", () => 10_000), 20);
  assert.deepEqual(parseRetryAfter(null), undefined);
  assert.deepEqual(parseRetryAfter("soon"), undefined);
});

Deno.test("errorForStatus() maps statuses to the typed set", () => {
  assert.ok(errorForStatus(new Response(null, { status: 401 }), "x") instanceof CredentialsRejected);
  assert.ok(errorForStatus(new Response(null, { status: 403 }), "x") instanceof CredentialsRejected);
  assert.ok(errorForStatus(new Response(null, { status: 404 }), "x") instanceof NotFound);
  assert.ok(errorForStatus(new Response(null, { status: 422 }), "x") instanceof InvalidInput);
  assert.ok(errorForStatus(new Response(null, { status: 503 }), "x") instanceof UpstreamUnavailable);
  const limited = errorForStatus(new Response(null, { status: 429, headers: { "retry-after": "12" } }), "x");
  assert.ok(limited instanceof RateLimited);
  assert.deepEqual(limited.retryAfter, 12);
});

Deno.test("fetchUpstream() turns a refused connection into UpstreamUnavailable naming only the host", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await assert.rejects(fetchUpstream(`http://127.0.0.1:${port}/x?token=secret`), (error) => {
    assert.ok(error instanceof UpstreamUnavailable);
    assert.equal(error.message, `Cannot reach 127.0.0.1:${port}`);
    return true;
  });
});
