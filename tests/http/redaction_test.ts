/**
 * A plugin that hands out its credential upper-cased, base64,
 * base64url, hex and URL-encoded, through `deno task serve` (its real flags):
 * every form comes back redacted, to the admin token and to a read token, in a
 * short answer and in one of megabytes (handled on the answer worker's thread).
 */
import assert from "node:assert/strict";
import { encodings } from "../fixtures/leaky/encodings.ts";
import { makeSecret } from "../support/secret_scan.ts";
import { serveLocked } from "../support/serve_process.ts";
import { ROOT } from "../support/test_app.ts";

Deno.test("GET …/configuration/values: a credential in any common encoding comes back redacted", async () => {
  const read = `read-${crypto.randomUUID()}`;
  const leaky = { name: "@imbi-test/leaky", dir: `${ROOT}tests/fixtures/leaky` };
  await using served = await serveLocked([{ ...leaky, entryPoints: ["leaky", "leaky-encodings"] }], {
    prefix: "imbi-redaction-",
    env: { IMBI_READ_TOKENS: read },
  });
  const { app, admin } = served;
  // Characters that URL-encoding, JSON and base64 treat specially.
  const token = `${makeSecret("encodings")}/+ é=&Q`;
  const forms = encodings(token) as Record<string, string>;
  await app.ok("POST", "/orgs", { body: { slug: "acme", name: "Acme" } });
  await app.ok("POST", "/orgs/acme/projects", { body: { slug: "web", name: "Web" } });
  const services = "/orgs/acme/third-party-services";
  await app.ok("POST", services, { body: { slug: "vendor", name: "Vendor" } });
  await app.ok("POST", `${services}/vendor/applications`, {
    body: { slug: "default", name: "Default", credentials: { api_token: token } },
  });
  const created = await app.ok("POST", `${services}/vendor/plugins`, {
    body: { slug: "leaky", plugin: "leaky-encodings", label: "Leaky" },
  });
  await app.ok("PUT", "/orgs/acme/projects/web/plugins", {
    body: { bindings: [{ plugin_id: created.id, tab: "configuration", default: true }] },
  });
  const asked: [string, { keys?: string[] }][] = [[admin, {}], [read, {}]];
  for (const [bearer, body] of [...asked, ...asked.map(([bearer]) => [bearer, { keys: ["PADDING"] }] as const)]) {
    const r = await app.request("POST", "/orgs/acme/projects/web/configuration/values", { body, token: bearer });
    assert.equal(r.status, 200, r.text);
    const padded = body.keys !== undefined;
    if (padded) assert.ok(r.text.length > 1 << 20, `an answer of megabytes, not ${r.text.length} bytes`);
    const values = new Map<string, string>(
      r.body.items
        .filter((i: { key: string }) => !i.key.startsWith("PAD_"))
        .map((i: { key: string; value: string }) => [i.key, i.value]),
    );
    assert.equal(r.body.items.length, Object.keys(forms).length + (padded ? 15_000 : 0));
    assert.deepEqual([...values.keys()].sort(), Object.keys(forms).sort());
    for (const [key, form] of Object.entries(forms)) {
      const value = values.get(key)!;
      assert.ok(value.includes("[redacted]"), `${key}: ${value}`);
      assert.ok(!value.includes(form), `${key} came back: ${value}`);
      assert.ok(!r.text.includes(form), `${key} is somewhere in the answer`);
    }
    assert.equal(values.get("BASE64"), "[redacted]");
    assert.equal(values.get("HEX_UPPER"), "[redacted]");
    assert.equal(values.get("QUERY"), "https://api.example.com/?token=[redacted]");
  }
});
