import assert from "node:assert/strict";
import { parseManifest } from "../../core/packages/manifest.ts";

const where = { packageName: "@acme/vault", entry: "plugins[0]" };

function manifest(options: unknown, hosts: string[] = ["vault.example:8200"]) {
  return {
    slug: "vault",
    name: "Vault",
    plugin_type: "configuration",
    api_version: "^1.0.0",
    options,
    network: { hosts },
  };
}

Deno.test("parseManifest() refuses an options schema that does not compile, with the compiler's message", () => {
  const r = parseManifest(
    manifest({ type: "object", properties: { token: { type: "string", requried: true } } }),
    where,
  );
  assert.deepEqual(r, {
    ok: false,
    status: "invalid",
    reason: 'Cannot load plugin "vault" from package "@acme/vault": ' +
      'manifest.options does not compile: strict mode: unknown keyword: "requried"',
  });
});

Deno.test("parseManifest() refuses a network host that names a secret option", () => {
  const options = { type: "object", properties: { host: { type: "string", writeOnly: true } } };
  const r = parseManifest(manifest(options, ["{host}:8200"]), where);
  assert.equal(r.ok, false);
  assert.match(r.ok ? "" : r.reason, /network\.hosts entry "\{host\}:8200" names the secret option "host"/);
});

Deno.test("parseManifest() accepts a secret option and a full draft 2020-12 schema", () => {
  const options = {
    type: "object",
    properties: {
      token: { type: "string", writeOnly: true, minLength: 8 },
      mount: { type: "string", default: "secret", pattern: "^[a-z]+$" },
      tags: { type: "array", items: { type: "string" }, uniqueItems: true },
      ttl: { anyOf: [{ type: "integer", exclusiveMinimum: 0 }, { type: "string", format: "duration" }] },
    },
    required: ["token"],
    additionalProperties: false,
  };
  const r = parseManifest(manifest(options), where);
  assert.equal(r.ok, true, r.ok ? "" : r.reason);
});

Deno.test("parseManifest() checks the cache hints: cacheable a boolean, cache_ttl_ms a whole number of ms", () => {
  const withHints = (hints: unknown) => ({ ...manifest(undefined), hints });
  assert.equal(parseManifest(withHints({ cacheable: true, cache_ttl_ms: 5000 }), where).ok, true);
  for (
    const [hints, rule] of [
      [{ cacheable: "yes" }, "manifest.hints.cacheable must be a boolean"],
      [{ cacheable: true, cache_ttl_ms: 0 }, "manifest.hints.cache_ttl_ms must be a whole number of milliseconds"],
      [{ cacheable: true, cache_ttl_ms: 1.5 }, "manifest.hints.cache_ttl_ms must be a whole number of milliseconds"],
      [{ cacheable: true, cache_ttl_ms: "30s" }, "manifest.hints.cache_ttl_ms must be a whole number of milliseconds"],
    ] as const
  ) {
    const r = parseManifest(withHints(hints), where);
    assert.equal(r.ok, false, JSON.stringify(hints));
    assert.ok(!r.ok && r.reason.includes(rule), r.ok ? "" : r.reason);
  }
});
