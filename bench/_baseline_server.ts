/**
 * The baselines of the tab benchmark, as their own process: a plain Hono
 * app on loopback with the tab's path calling the same handler class as the
 * sandboxed Plugin node, in-process, against the same upstream; and a route
 * returning a fixed JSON document (the cached tab's answer) with `c.json`.
 * No auth, no resolution, no checks: the cost floor. Private to `bench/`.
 *
 * `/orgs/:org/projects/:id/configuration/twice` calls the upstream twice,
 * one call after the other, and answers the second: the control of the
 * added-latency row. It adds one more round trip to another process on
 * loopback, as the hop to a plugin process does, and nothing else.
 *
 * `deno run --allow-net --allow-read bench/_baseline_server.ts <port> <upstream> <static.json>`
 * prints `listening` when ready.
 *
 * @module
 */

import { Hono } from "hono";
import { HttpConfig } from "../tests/fixtures/http-config/mod.ts";

const [port, upstream, staticFile] = Deno.args;
if (port === undefined || upstream === undefined || staticFile === undefined) {
  throw new TypeError("usage: _baseline_server.ts <port> <upstream url> <static json file>");
}
const fixed: unknown = JSON.parse(await Deno.readTextFile(staticFile));
const handler = new HttpConfig({ options: { endpoint: upstream }, credentials: { token: "baseline" } });
const source = { plugin: "http-config-uncached", package: "@imbi-test/http-config", cached: false };

const app = new Hono()
  .get("/orgs/:org/projects/:id/configuration", async (c) => {
    const items = await handler.listKeys({ search_template: `/${c.req.param("org")}/${c.req.param("id")}` });
    return c.json({ source, items });
  })
  .get("/orgs/:org/projects/:id/configuration/twice", async (c) => {
    const search = { search_template: `/${c.req.param("org")}/${c.req.param("id")}` };
    await handler.listKeys(search);
    return c.json({ source, items: await handler.listKeys(search) });
  })
  .get("/fixed", (c) => c.json(fixed));

Deno.serve({ hostname: "127.0.0.1", port: Number(port), onListen: () => {} }, app.fetch);
await Deno.stdout.write(new TextEncoder().encode("listening\n"));
