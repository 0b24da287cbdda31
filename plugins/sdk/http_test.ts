import { assertEquals, assertInstanceOf, assertRejects } from "jsr:@std/assert@^1.0.0";
import { CredentialsRejected, InvalidInput, NotFound, RateLimited, UpstreamUnavailable } from "./errors.ts";
import { errorForStatus, fetchUpstream, parseRetryAfter } from "./http.ts";

Deno.test("parseRetryAfter() reads seconds and HTTP dates", () => {
  assertEquals(parseRetryAfter("7"), 7);
  assertEquals(parseRetryAfter("Thu, 01 Jan 1970 00:00:30 GMT", () => 10_000), 20);
  assertEquals(parseRetryAfter(null), undefined);
  assertEquals(parseRetryAfter("soon"), undefined);
});

Deno.test("errorForStatus() maps statuses to the typed set", () => {
  assertInstanceOf(errorForStatus(new Response(null, { status: 401 }), "x"), CredentialsRejected);
  assertInstanceOf(errorForStatus(new Response(null, { status: 403 }), "x"), CredentialsRejected);
  assertInstanceOf(errorForStatus(new Response(null, { status: 404 }), "x"), NotFound);
  assertInstanceOf(errorForStatus(new Response(null, { status: 422 }), "x"), InvalidInput);
  assertInstanceOf(errorForStatus(new Response(null, { status: 503 }), "x"), UpstreamUnavailable);
  const limited = errorForStatus(new Response(null, { status: 429, headers: { "retry-after": "12" } }), "x");
  assertInstanceOf(limited, RateLimited);
  assertEquals(limited.retryAfter, 12);
});

Deno.test("fetchUpstream() turns a refused connection into UpstreamUnavailable naming only the host", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const error = await assertRejects(
    () => fetchUpstream(`http://127.0.0.1:${port}/x?token=secret`),
    UpstreamUnavailable,
  );
  assertEquals(error.message, `Cannot reach 127.0.0.1:${port}`);
});
