import assert from "node:assert/strict";
import { compileOptionsSchema, validate } from "../core/validation.ts";

const body = {
  type: "object",
  required: ["slug"],
  properties: {
    slug: { type: "string", pattern: "^[a-z]+$" },
    url: { type: "string", format: "uri" },
    limit: { type: "integer", exclusiveMinimum: 0, default: 10 },
    tags: { type: "array", items: { type: "string" }, uniqueItems: true },
    "a/b": { type: "boolean" },
  },
  additionalProperties: false,
} as const;

Deno.test("validate() reports every error with a JSON pointer to the bad value", () => {
  const r = validate(body, { url: "not a url", limit: 0, tags: ["x", "x"], extra: 1, "a/b": "no" });
  assert.equal(r.ok, false);
  assert.deepEqual(r.ok ? [] : r.errors.map((e) => e.pointer).sort(), [
    "/a~1b",
    "/extra",
    "/limit",
    "/slug",
    "/tags",
    "/url",
  ]);
  const messages = Object.fromEntries(r.ok ? [] : r.errors.map((e) => [e.pointer, e.message]));
  assert.equal(messages["/slug"], "is required");
  assert.equal(messages["/extra"], "is not an allowed property");
  assert.equal(messages["/url"], 'must match format "uri"');
  assert.equal(messages["/limit"], "must be > 0");
});

Deno.test("validate() applies defaults to a copy and leaves the input alone", () => {
  const input = { slug: "web" };
  const r = validate(body, input);
  assert.deepEqual(r, { ok: true, value: { slug: "web", limit: 10 } });
  assert.deepEqual(input, { slug: "web" });
});

Deno.test("validate() compares enum and const values structurally and requires exactly one oneOf match", () => {
  const schema = {
    type: "object",
    properties: {
      shape: { enum: [{ a: 1, b: 2 }] },
      either: { oneOf: [{ type: "integer" }, { type: "number", maximum: 10 }] },
    },
  };
  assert.equal(validate(schema, { shape: { b: 2, a: 1 } }).ok, true);
  const both = validate(schema, { either: 3 });
  assert.equal(both.ok, false);
  assert.ok(!both.ok && both.errors.some((e) => e.pointer === "/either" && /exactly one/.test(e.message)));
  assert.equal(validate(schema, { either: 12 }).ok, true);
});

Deno.test("validate() compiles a schema once and keeps it by identity", () => {
  const schema: { type: string; properties: { n: { type: string } } } = {
    type: "object",
    properties: { n: { type: "integer" } },
  };
  assert.equal(validate(schema, { n: "x" }).ok, false);
  // Changing the object afterwards changes nothing: the compiled validator is kept for this object.
  schema.properties.n.type = "string";
  assert.equal(validate(schema, { n: "x" }).ok, false);
  assert.equal(validate(structuredClone(schema), { n: "x" }).ok, true);
});

Deno.test("compileOptionsSchema() returns the same compiled schema for the same manifest object", () => {
  const options = { type: "object", properties: { region: { type: "string" } } };
  assert.equal(compileOptionsSchema(options), compileOptionsSchema(options));
});

Deno.test("compileOptionsSchema() accepts draft 2020-12: $defs and $ref, anyOf, allOf, dependentRequired", () => {
  const compiled = compileOptionsSchema({
    $schema: "https://json-schema.org/draft/2020-12/schema",
    type: "object",
    $defs: { port: { type: "integer", minimum: 1, maximum: 65535 } },
    properties: {
      port: { $ref: "#/$defs/port" },
      mode: { anyOf: [{ const: "fast" }, { const: "safe" }] },
      name: { allOf: [{ type: "string" }, { type: "string", minLength: 2 }] },
      tls: { type: "boolean" },
      ca: { type: "string" },
    },
    dependentRequired: { tls: ["ca"] },
  });
  assert.ok(compiled.ok, compiled.ok ? "" : compiled.message);
  const r = compiled.schema.validate({ port: 0, mode: "slow", name: "x", tls: true });
  const pointers = new Set(r.ok ? [] : r.errors.map((e) => e.pointer));
  assert.deepEqual([...pointers].sort(), ["/ca", "/mode", "/name", "/port"]);
});

Deno.test("compileOptionsSchema() refuses what an author must fix, with the compiler's message", () => {
  const cases: [unknown, RegExp][] = [
    [{ type: "object", properties: { a: { type: "string", fromat: "uri" } } }, /unknown keyword: "fromat"/],
    [{ type: "object", properties: { a: { minLength: 1 } } }, /missing type "string" for keyword "minLength"/],
    [
      { type: "object", required: ["b"], properties: { a: { type: "string" } } },
      /required property "b" is not defined/,
    ],
    [{ type: "object", properties: { a: { type: "strin" } } }, /schema is invalid/],
    [{ type: "object", properties: { a: { $ref: "https://example.com/a.json" } } }, /can't resolve reference/],
    [{ type: "string" }, /type "object"/],
    [{ $schema: "http://json-schema.org/draft-07/schema#", type: "object" }, /no schema with key or ref/],
    [{ type: "object", properties: { a: { type: "string", "x-secret": true } } }, /"x-secret" is not supported/],
    [
      { type: "object", properties: { a: { type: "object", properties: { b: { type: "string", writeOnly: true } } } } },
      /\/properties\/a\/properties\/b\/writeOnly: only top-level options/,
    ],
    [
      { type: "object", properties: { n: { type: "integer", writeOnly: true } } },
      /writeOnly \(secret\) option must be a string/,
    ],
  ];
  for (const [schema, message] of cases) {
    const r = compileOptionsSchema(schema);
    assert.equal(r.ok, false, JSON.stringify(schema));
    assert.match(r.ok ? "" : r.message, message);
  }
});

Deno.test("compileOptionsSchema() lists top-level writeOnly options as secrets", () => {
  const r = compileOptionsSchema({
    type: "object",
    properties: {
      token: { type: "string", writeOnly: true },
      region: { type: "string" },
      writeOnly: { type: "string", description: "a property that happens to be called writeOnly" },
    },
  });
  assert.deepEqual(r.ok ? r.schema.secrets : r.message, ["token"]);
});
