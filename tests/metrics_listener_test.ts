/**
 * `/metrics` from the service as operators run it (`deno task serve`'s own
 * permission flags): on the main port with a token, and on the separate
 * `IMBI_METRICS_PORT` listener without one; the access log on its stderr.
 */
import assert from "node:assert/strict";
import { serve, type ServeProcess as Served } from "./support/serve_process.ts";
import { DEMO_PACKAGES, lockLocalPackages } from "./support/test_app.ts";

/** The first line of the service's log that matches, waiting for it (lines arrive through a pipe). */
async function logged(service: Served, match: (line: string) => boolean): Promise<string> {
  for (let i = 0; i < 400; i++) {
    const line = service.lines.find(match);
    if (line) return line;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`no such log line in:\n${service.lines.join("\n")}`);
}

Deno.test("deno task serve with IMBI_METRICS_PORT: /metrics on its own listener, and the access log", async () => {
  const work = await Deno.makeTempDir({ prefix: "imbi-metrics-" });
  await lockLocalPackages(`${work}/plugins.lock.json`, DEMO_PACKAGES);
  const service = await serve({
    IMBI_DATA_DIR: `${work}/data`,
    IMBI_LOCKFILE: `${work}/plugins.lock.json`,
    IMBI_PORT: "0",
    IMBI_METRICS_PORT: "0",
    IMBI_READ_TOKENS: "a-read-token-for-metrics",
  });
  try {
    const metricsUrl = JSON.parse(await logged(service, (l) => l.includes('"msg":"metrics listening"'))).url as string;

    const refused = await fetch(`${service.url}/metrics`);
    assert.equal(refused.status, 401);
    await refused.body?.cancel();
    const withToken = await fetch(`${service.url}/metrics`, {
      headers: { authorization: "Bearer a-read-token-for-metrics", "x-request-id": "scrape-1" },
    });
    assert.equal(withToken.status, 200);
    assert.match(
      await withToken.text(),
      /^imbi_http_requests_total\{route="\/metrics",method="GET",status="401"\} 1$/m,
    );

    const open = await fetch(metricsUrl);
    assert.equal(open.status, 200);
    assert.match(open.headers.get("content-type") ?? "", /^text\/plain/);
    const text = await open.text();
    assert.match(text, /^imbi_graph_store_up 1$/m);
    assert.match(text, /^imbi_registry_generation 1$/m);
    const other = await fetch(metricsUrl.replace(/\/metrics$/, "/orgs"));
    assert.equal(other.status, 404, "the metrics listener serves nothing else");
    await other.body?.cancel();

    const scrape = JSON.parse(await logged(service, (l) => l.includes('"request_id":"scrape-1"')));
    assert.deepEqual(
      scrape && [scrape.method, scrape.route, scrape.status, scrape.token],
      ["GET", "/metrics", 200, "read"],
    );
    assert.ok(!service.lines.join("\n").includes("a-read-token-for-metrics"), "a token in the log");
  } finally {
    await service.stop();
    await Deno.remove(work, { recursive: true });
  }
});
