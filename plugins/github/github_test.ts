import assert from "node:assert/strict";
import nacl from "tweetnacl";
import { conformanceSteps, inProcess, testContext } from "@imbi/plugin-sdk/testing";
import { startFakeGitHub } from "./fake_github.ts";
import { GitHubActionsConfiguration, githubError } from "./github.ts";
import { openSealed, seal } from "./sealed_box.ts";

const ctx = testContext("acme/api");

Deno.test("GitHubActionsConfiguration keeps the configuration protocol against the GitHub fake", async (t) => {
  await using fake = await startFakeGitHub(["acme/api"]);
  const service = { base_url: fake.url };
  const runner = inProcess(GitHubActionsConfiguration, { credentials: { token: fake.token }, service });
  const rejected = inProcess(GitHubActionsConfiguration, { credentials: { token: "ghp_wrong" }, service });
  await conformanceSteps(t, runner, { ctx, rejectedCredentials: rejected });
});

Deno.test("GitHubActionsConfiguration seals secrets with the repository key and never reads them back", async () => {
  await using fake = await startFakeGitHub(["acme/api"]);
  const runner = inProcess(GitHubActionsConfiguration, {
    credentials: { token: fake.token },
    service: { base_url: fake.url },
  });
  const stored = await runner.call("setValue", [ctx, "db_password", { value: "s3cret ✓", data_type: "secret" }]);
  assert.deepEqual(stored, { key: "DB_PASSWORD", data_type: "secret", secret: true });
  assert.equal(fake.secretValue("acme/api", "DB_PASSWORD"), "s3cret ✓");
  await runner.call("setValue", [ctx, "REGION", { value: "eu", data_type: "variable" }]);
  await runner.call("setValue", [ctx, "REGION", { value: "us", data_type: "variable" }]);
  assert.equal(fake.variables("acme/api").get("REGION"), "us");
  const values = await runner.call<{ key: string; value: string; secret: boolean }[]>("getValues", [ctx]);
  assert.deepEqual(values.map((v) => [v.key, v.value, v.secret]), [["DB_PASSWORD", "", true], ["REGION", "us", false]]);
  // Turning a secret into a variable removes the secret.
  await runner.call("setValue", [ctx, "DB_PASSWORD", { value: "plain", data_type: "variable" }]);
  assert.equal(fake.secretValue("acme/api", "DB_PASSWORD"), undefined);
  assert.ok(fake.requests.includes("GET /repos/acme/api/actions/secrets/public-key"));
});

Deno.test("GitHubActionsConfiguration maps GitHub errors: bad token, rate limit, unknown repository, bad name", async () => {
  await using fake = await startFakeGitHub(["acme/api"]);
  const service = { base_url: fake.url };
  const limited = inProcess(GitHubActionsConfiguration, { credentials: { token: fake.rateLimitedToken }, service });
  await assert.rejects(limited.call("listKeys", [ctx]), (e: { kind: string; retryAfter: number }) => {
    assert.equal(e.kind, "rate_limited");
    assert.ok(e.retryAfter >= 40 && e.retryAfter <= 43);
    return true;
  });
  const wrong = inProcess(GitHubActionsConfiguration, { credentials: { token: "ghp_secretwrong" }, service });
  await assert.rejects(wrong.call("listKeys", [ctx]), (e: { kind: string; message: string }) => {
    assert.equal(e.kind, "credentials_rejected");
    assert.doesNotMatch(e.message, /ghp_secretwrong/);
    return true;
  });
  const good = inProcess(GitHubActionsConfiguration, { credentials: { token: fake.token }, service });
  await assert.rejects(good.call("listKeys", [testContext("acme/missing")]), { kind: "not_found" });
  await assert.rejects(good.call("listKeys", [testContext("not a repo")]), { kind: "invalid_input" });
  await assert.rejects(good.call("setValue", [ctx, "GITHUB_TOKEN", { value: "x", data_type: "variable" }]), {
    kind: "invalid_input",
  });
});

Deno.test("GitHubActionsConfiguration pages through more than 30 variables", async () => {
  await using fake = await startFakeGitHub(["acme/api"]);
  const runner = inProcess(GitHubActionsConfiguration, {
    credentials: { token: fake.token },
    service: { base_url: fake.url },
  });
  for (let i = 0; i < 33; i++) {
    await runner.call("setValue", [ctx, `V${i}`, { value: String(i), data_type: "variable" }]);
  }
  const keys = await runner.call<unknown[]>("listKeys", [ctx]);
  assert.equal(keys.length, 33);
});

Deno.test("seal() output opens with the recipient key and is 48 bytes longer", () => {
  const kp = nacl.box.keyPair();
  const sealed = seal(new TextEncoder().encode("hello"), kp.publicKey);
  assert.equal(sealed.length, 5 + 48);
  assert.equal(new TextDecoder().decode(openSealed(sealed, kp.publicKey, kp.secretKey)!), "hello");
  assert.equal(openSealed(sealed, kp.publicKey, nacl.box.keyPair().secretKey), null);
});

Deno.test("githubError() reads Retry-After of a secondary rate limit", () => {
  const e = githubError(new Response(null, { status: 403, headers: { "retry-after": "17" } }), "x");
  assert.equal(e.kind, "rate_limited");
  assert.equal(e.retryAfter, 17);
  assert.equal(githubError(new Response(null, { status: 403 }), "x").kind, "credentials_rejected");
});
