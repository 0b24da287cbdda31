import assert from "node:assert/strict";
import { completeInit, conformanceSteps, inProcess, testContext } from "@imbi/plugin-sdk/testing";
import { SsmConfiguration } from "./ssm.ts";
import { awsError } from "./_aws.ts";
import { motoInit as init, motoKeys, withoutMoto as ignore } from "./moto.ts";

const credentials = motoKeys();

Deno.test({
  name: "SsmConfiguration keeps the configuration protocol against moto",
  ignore,
  async fn(t) {
    const runner = inProcess(SsmConfiguration, init());
    const rejected = inProcess(SsmConfiguration, init({ access_key_id: "AKIANOTAKEY", secret_access_key: "nope" }));
    await conformanceSteps(t, runner, {
      ctx: testContext(`/conformance/${crypto.randomUUID().slice(0, 8)}`),
      rejectedCredentials: rejected,
    });
  },
});

Deno.test({
  name: "SsmConfiguration maps data types to parameter types and reads SecureString decrypted",
  ignore,
  async fn() {
    const handler = new SsmConfiguration(completeInit(SsmConfiguration, init()));
    const ctx = testContext(`/acme/${crypto.randomUUID().slice(0, 8)}/`);
    await handler.setValue(ctx, "HOSTS", { value: "a,b", data_type: "string_list" });
    await handler.setValue(ctx, "db/password", { value: "s3cret", data_type: "secure_string" });
    await handler.setValue(ctx, "NAME", { value: "api", data_type: "string" });
    const keys = await handler.listKeys(ctx);
    assert.deepEqual(keys.map((k) => [k.key, k.data_type, k.secret]), [
      ["HOSTS", "string_list", false],
      ["NAME", "string", false],
      ["db/password", "secure_string", true],
    ]);
    assert.ok(keys.every((k) => k.last_modified && !Number.isNaN(Date.parse(k.last_modified))));
    const values = await handler.getValues(ctx, ["db/password", "MISSING", "bad key!"]);
    assert.deepEqual(values.map((v) => [v.key, v.value]), [["db/password", "s3cret"]]);
    assert.equal(await handler.describePrefix(ctx), `ssm://us-east-1${ctx.search_template}`);
    for (const key of ["HOSTS", "db/password", "NAME"]) await handler.deleteKey(ctx, key);
    assert.deepEqual(await handler.listKeys(ctx), []);
  },
});

Deno.test({
  name: "SsmConfiguration reports a bad signature and an unknown key as credentials_rejected",
  ignore,
  async fn() {
    const ctx = testContext("/acme/creds");
    const badSecret = inProcess(SsmConfiguration, init({ ...credentials, secret_access_key: "wrong" }));
    await assert.rejects(badSecret.call("listKeys", [ctx]), (e: { kind: string; message: string }) => {
      assert.equal(e.kind, "credentials_rejected");
      assert.match(e.message, /InvalidSignatureException|SignatureDoesNotMatch/);
      assert.doesNotMatch(e.message, /wrong/);
      return true;
    });
    const unknown = inProcess(SsmConfiguration, init({ access_key_id: "AKIAUNKNOWN", secret_access_key: "x" }));
    await assert.rejects(unknown.call("listKeys", [ctx]), { kind: "credentials_rejected" });
  },
});

Deno.test("SsmConfiguration reports an unreachable endpoint as upstream_unavailable and a missing region as invalid_input", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const ctx = testContext("/acme/down");
  const down = inProcess(SsmConfiguration, {
    options: { endpoint: `http://127.0.0.1:${port}` },
    credentials: { access_key_id: "AKIA", secret_access_key: "x" },
    service: { region: "eu-west-1" },
  });
  await assert.rejects(down.call("listKeys", [ctx]), { kind: "upstream_unavailable" });
  const noRegion = inProcess(SsmConfiguration, { credentials: { access_key_id: "AKIA", secret_access_key: "x" } });
  await assert.rejects(noRegion.call("listKeys", [ctx]), { kind: "invalid_input" });
});

Deno.test("awsError() maps AWS error codes to the typed set", () => {
  assert.equal(
    awsError({ status: 400, code: "UnrecognizedClientException", message: "" }, "x").kind,
    "credentials_rejected",
  );
  assert.equal(
    awsError({ status: 400, code: "InvalidSignatureException", message: "" }, "x").kind,
    "credentials_rejected",
  );
  const throttled = awsError({ status: 400, code: "ThrottlingException", message: "Rate exceeded" }, "x");
  assert.equal(throttled.kind, "rate_limited");
  assert.equal(throttled.retryAfter, 1);
  assert.equal(awsError({ status: 400, code: "ParameterNotFound", message: "" }, "x").kind, "not_found");
  assert.equal(awsError({ status: 400, code: "ValidationException", message: "" }, "x").kind, "invalid_input");
  assert.equal(awsError({ status: 503, code: "ServiceUnavailable", message: "" }, "x").kind, "upstream_unavailable");
  assert.equal(awsError({ status: 500, code: "InternalFailure", message: "" }, "x").kind, "upstream_unavailable");
});

Deno.test("SsmConfiguration.manifest declares only its endpoint and the shared AWS credentials", () => {
  const m = SsmConfiguration.manifest;
  assert.deepEqual(m.network.hosts, ["{endpoint}"]);
  assert.deepEqual(m.credentials?.map((c) => [c.name, c.required ?? true, c.secret ?? true]), [
    ["access_key_id", true, false],
    ["secret_access_key", true, true],
    ["session_token", false, true],
  ]);
});
