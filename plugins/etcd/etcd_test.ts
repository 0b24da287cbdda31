import assert from "node:assert/strict";
import { conformanceSteps, inProcess, testContext } from "@imbi/plugin-sdk/testing";
import { EtcdConfiguration, etcdError } from "./etcd.ts";
import { etcdApi } from "./etcd_api.ts";

const etcdUrl = Deno.env.get("IMBI_TEST_ETCD_URL");
const ignore = !etcdUrl && Deno.env.get("IMBI_TEST_SERVICES") !== "required";
const unique = () => `/imbi-test/${crypto.randomUUID().slice(0, 8)}/`;

Deno.test({
  name: "EtcdConfiguration keeps the configuration protocol against etcd",
  ignore,
  async fn(t) {
    await conformanceSteps(t, inProcess(EtcdConfiguration, { options: { endpoint: etcdUrl } }), {
      ctx: testContext(unique()),
    });
  },
});

Deno.test({
  name: "EtcdConfiguration keeps data types in an envelope and reads foreign plain values as strings",
  ignore,
  async fn() {
    const prefix = unique();
    const handler = new EtcdConfiguration({
      options: { endpoint: etcdUrl },
      credentials: {},
      plugin: { id: "p", slug: "etcd" },
      service: { slug: "s", name: "s", vendor: null, base_url: null, account: null, region: null },
    });
    const ctx = testContext(prefix.slice(0, -1));
    const gateway = etcdApi(etcdUrl!);
    await handler.setValue(ctx, "token", { value: "hunter2", data_type: "secret" });
    await handler.setValue(ctx, "limits", { value: '{"rps":5}', data_type: "json" });
    await gateway("/v3/kv/put", { key: btoa(`${prefix}plain`), value: btoa("raw value") });
    await gateway("/v3/kv/put", { key: btoa(`${prefix}x`.slice(0, -2) + "y"), value: btoa("outside") });
    const keys = await handler.listKeys(ctx);
    assert.deepEqual(keys.map((k) => [k.key, k.data_type, k.secret, Boolean(k.last_modified)]), [
      ["limits", "json", false, true],
      ["plain", "string", false, false],
      ["token", "secret", true, true],
    ]);
    const values = await handler.getValues(ctx, ["token", "plain", "nope"]);
    assert.deepEqual(values.map((v) => [v.key, v.value]), [["plain", "raw value"], ["token", "hunter2"]]);
    const stored = await gateway("/v3/kv/range", { key: btoa(`${prefix}token`) });
    assert.equal(JSON.parse(atob((stored.kvs as { value: string }[])[0]!.value)).data_type, "secret");
    await assert.rejects(handler.setValue(ctx, "bad", { value: "{", data_type: "json" }), { kind: "invalid_input" });
    assert.equal(await handler.describePrefix(ctx), `etcd://${new URL(etcdUrl!).host}${prefix}`);
  },
});

Deno.test("etcdError() maps gRPC codes to the typed set", () => {
  assert.equal(
    etcdError({ status: 401, code: 16, message: "etcdserver: invalid auth token" }, "x").kind,
    "credentials_rejected",
  );
  assert.equal(
    etcdError({ status: 400, code: 3, message: "etcdserver: authentication failed, invalid user ID or password" }, "x")
      .kind,
    "credentials_rejected",
  );
  assert.equal(etcdError({ status: 429, code: 8, message: "etcdserver: too many requests" }, "x").kind, "rate_limited");
  assert.equal(
    etcdError({ status: 503, code: 14, message: "etcdserver: leader changed" }, "x").kind,
    "upstream_unavailable",
  );
  assert.equal(
    etcdError({ status: 400, code: 3, message: "etcdserver: key is not provided" }, "x").kind,
    "invalid_input",
  );
});

Deno.test("EtcdConfiguration reports an unreachable member as upstream_unavailable", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const handler = inProcess(EtcdConfiguration, { options: { endpoint: `http://127.0.0.1:${port}` } });
  await assert.rejects(handler.call("listKeys", [testContext("/x/")]), { kind: "upstream_unavailable" });
});
