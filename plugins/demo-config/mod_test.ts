import assert from "node:assert/strict";
import { DemoConfig } from "./mod.ts";

const ctx = {
  org: { slug: "acme" },
  project: { id: "p1", slug: "web", name: "Web", project_types: [] },
  search_template: "/acme/web",
  request_id: "r1",
};

function make(seed: Record<string, string> = {}) {
  return new DemoConfig({
    options: { seed, latency_ms: 0 },
    credentials: {},
    plugin: { id: "n1", slug: "demo" },
    service: { slug: "demo", name: "Demo", vendor: null, base_url: null, account: null, region: null },
  });
}

Deno.test("DemoConfig seeds each namespace, sets, lists sorted and deletes idempotently", async () => {
  const handler = make({ B: "2", A: "1" });
  assert.deepEqual((await handler.listKeys(ctx)).map((k) => k.key), ["A", "B"]);
  await handler.setValue(ctx, "TOKEN", { value: "t", data_type: "secret" });
  const values = await handler.getValues(ctx, ["TOKEN", "MISSING"]);
  assert.deepEqual(values.map((v) => [v.key, v.value, v.secret]), [["TOKEN", "t", true]]);
  await handler.deleteKey(ctx, "TOKEN");
  await handler.deleteKey(ctx, "TOKEN");
  assert.equal((await handler.getValues(ctx, ["TOKEN"])).length, 0);
  const other = { ...ctx, search_template: "/acme/api" };
  assert.deepEqual((await handler.listKeys(other)).map((k) => k.key), ["A", "B"]);
});

Deno.test("DemoConfig.setValue() refuses an unknown data type and a bad key", async () => {
  const handler = make();
  await assert.rejects(() => handler.setValue(ctx, "K", { value: "v", data_type: "blob" }), { kind: "invalid_input" });
  await assert.rejects(() => handler.setValue(ctx, "bad key", { value: "v", data_type: "string" }), {
    kind: "invalid_input",
  });
});
