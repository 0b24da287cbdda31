import assert from "node:assert/strict";
import { freePort, runCli } from "../support/local.ts";
import { makeSecret } from "../support/secret_scan.ts";
import { seedService } from "../support/seed.ts";
import { serviceUrl } from "../support/services.ts";
import { DEMO_PACKAGES, ROOT, startTestApp } from "../support/test_app.ts";

const moto = serviceUrl("IMBI_TEST_MOTO_URL");
const keyId = Deno.env.get("IMBI_TEST_MOTO_ACCESS_KEY_ID") ?? "";
const secretKey = Deno.env.get("IMBI_TEST_MOTO_SECRET_ACCESS_KEY") ?? "";
const AWS = { name: "@imbi/plugin-aws", dir: `${ROOT}plugins/aws`, entryPoints: ["aws-ssm", "aws-cloudwatch-logs"] };
const ECHO = {
  name: "@imbi-test/echo-credentials",
  dir: `${ROOT}tests/fixtures/packages/echo-credentials`,
  entryPoints: ["echo-credentials"],
};

Deno.test({
  name: "POST .../plugins/{plugin}/test reports by kind whether a Plugin node's endpoint and credentials work",
  ignore: moto === undefined,
  async fn(t) {
    await using app = await startTestApp({ packages: [...DEMO_PACKAGES, AWS, ECHO] });
    const wrongSecret = makeSecret("wrong-aws-secret");
    const svc = "/orgs/acme/third-party-services";
    await seedService(app, { slug: "aws", name: "AWS", vendor: "aws", region: "us-east-1" });
    await app.ok("POST", `${svc}/aws/applications`, {
      body: { slug: "good", name: "Good", credentials: { access_key_id: keyId, secret_access_key: secretKey } },
    });
    await app.ok("POST", `${svc}/aws/plugins`, {
      body: { slug: "ssm", plugin: "aws-ssm", label: "SSM", application: "good", options: { endpoint: moto } },
    });
    await app.ok("POST", `${svc}/aws/plugins`, {
      body: {
        slug: "down",
        plugin: "aws-ssm",
        label: "SSM, nothing listening",
        application: "good",
        options: { endpoint: `http://127.0.0.1:${freePort()}` },
      },
    });
    const service = (body: Record<string, unknown>) => app.ok("POST", svc, { body });
    await service({ slug: "aws-bad", name: "AWS, wrong key", vendor: "aws", region: "us-east-1" });
    await app.ok("POST", `${svc}/aws-bad/applications`, {
      body: { slug: "bad", name: "Bad", credentials: { access_key_id: keyId, secret_access_key: wrongSecret } },
    });
    await app.ok("POST", `${svc}/aws-bad/plugins`, {
      body: { slug: "ssm", plugin: "aws-ssm", label: "SSM", application: "bad", options: { endpoint: moto } },
    });

    await t.step("a working node: ok, with what its checkConnection checked", async () => {
      const r = await app.ok("POST", `${svc}/aws/plugins/ssm/test`, { status: 200 });
      assert.equal(r.ok, true);
      assert.equal(r.error, undefined);
      assert.match(r.checked[0], /^ssm:DescribeParameters answered on 127\.0\.0\.1:\d+ \(region us-east-1\)$/);
      assert.ok(Number.isInteger(r.duration_ms) && r.duration_ms >= 0);
    });
    await t.step("rejected credentials: credentials_rejected, the secret nowhere in the answer", async () => {
      const r = await app.request("POST", `${svc}/aws-bad/plugins/ssm/test`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.ok, false);
      assert.equal(r.body.error.kind, "credentials_rejected");
      assert.deepEqual(r.body.checked, []);
      assert.ok(!r.text.includes(wrongSecret));
    });
    await t.step("an endpoint nothing listens on: upstream_unavailable naming the host", async () => {
      const r = await app.ok("POST", `${svc}/aws/plugins/down/test`, { status: 200 });
      assert.equal(r.ok, false);
      assert.equal(r.error.kind, "upstream_unavailable");
      assert.match(r.error.message, /127\.0\.0\.1:\d+/);
    });
    await t.step("a handler without checkConnection: the cheapest read of its type", async () => {
      await service({ slug: "echo", name: "Echo" });
      await app.ok("POST", `${svc}/echo/applications`, {
        body: { slug: "app", name: "App", credentials: { token: makeSecret("echo-token") } },
      });
      await app.ok("POST", `${svc}/echo/plugins`, {
        body: { slug: "echo", plugin: "echo-credentials", label: "Echo", application: "app" },
      });
      const r = await app.ok("POST", `${svc}/echo/plugins/echo/test`, { status: 200 });
      assert.equal(r.ok, true);
      assert.match(r.checked[0], /^listKeys answered with \d+ keys \(the plugin has no checkConnection\)$/);
    });
    await t.step("a node whose entry point is not loaded: not_loaded", async () => {
      await service({ slug: "demo", name: "Demo" });
      const node = await app.ok("POST", `${svc}/demo/plugins`, {
        body: { slug: "logs", plugin: "demo-logs", label: "Logs" },
      });
      const r = await app.ok("POST", `${svc}/demo/plugins/${node.id}/test`, { status: 200 });
      assert.equal(r.ok, true, JSON.stringify(r));
      await app.services.store.createPlugin("acme", "demo", {
        id: crypto.randomUUID(),
        slug: "ghost",
        service: "demo",
        application: null,
        plugin: "ghost-plugin",
        plugin_type: "logs",
        label: "Ghost",
        options: {},
        enabled: true,
      });
      const ghost = await app.ok("POST", `${svc}/demo/plugins/ghost/test`, { status: 200 });
      assert.equal(ghost.ok, false);
      assert.equal(ghost.error.kind, "not_loaded");
    });
    await t.step(
      "deno task plugins test <org>/<svc>/<plugin>: the same report, exit 1 when the check fails",
      async () => {
        const env: Record<string, string> = {
          IMBI_DATA_DIR: app.dataDir,
          IMBI_LOCKFILE: app.lockfilePath,
          IMBI_ADMIN_TOKEN: app.adminToken,
          IMBI_MIN_PACKAGE_AGE: "0",
          IMBI_LOG_LEVEL: "error",
        };
        if (Deno.env.get("IMBI_TEST_E2E_STORE") === "neo4j") {
          Object.assign(env, {
            IMBI_GRAPH_URL: serviceUrl("IMBI_TEST_NEO4J_URL")!,
            IMBI_GRAPH_USER: Deno.env.get("IMBI_TEST_NEO4J_USER") ?? "neo4j",
            IMBI_GRAPH_PASSWORD: Deno.env.get("IMBI_TEST_NEO4J_PASSWORD") ?? "",
            IMBI_ENCRYPTION_KEYS: await Deno.readTextFile(`${app.dataDir}/encryption.keys`),
          });
        }
        const good = await runCli(`${ROOT}cli/plugins.ts`, ["test", "acme/aws/ssm"], { env, cwd: ROOT });
        assert.equal(good.code, 0, good.stderr);
        assert.match(good.stdout, /^ok in \d+ ms\n {2}checked: ssm:DescribeParameters answered on /);
        const bad = await runCli(`${ROOT}cli/plugins.ts`, ["test", "acme/aws-bad/ssm", "--json"], { env, cwd: ROOT });
        assert.equal(bad.code, 1, bad.stderr);
        assert.equal(JSON.parse(bad.stdout).error.kind, "credentials_rejected");
        assert.ok(!(bad.stdout + bad.stderr).includes(wrongSecret));
        const usage = await runCli(`${ROOT}cli/plugins.ts`, ["test", "acme/aws"], { env, cwd: ROOT });
        assert.equal(usage.code, 2);
        assert.match(usage.stderr, /usage: deno task plugins test <org>\/<service>\/<plugin>/);
      },
    );
    await t.step("a read token is 403, an unknown node 404", async () => {
      const read = await app.request("POST", `${svc}/aws/plugins/ssm/test`, { token: app.readToken });
      assert.equal(read.status, 403);
      const missing = await app.request("POST", `${svc}/aws/plugins/nope/test`);
      assert.equal(missing.status, 404);
      assert.match(missing.body.detail, /"nope"/);
    });
  },
});

Deno.test({
  name: "POST .../plugins/{plugin}/test reports a node the egress policy now denies as egress_denied, not a 403",
  ignore: moto === undefined,
  async fn() {
    await using app = await startTestApp({ packages: [AWS], env: { IMBI_EGRESS_DENY: "127.0.0.1/32" } });
    const svc = "/orgs/acme/third-party-services";
    await seedService(app, { slug: "aws", name: "AWS", vendor: "aws", region: "us-east-1" });
    await app.ok("POST", `${svc}/aws/applications`, {
      body: { slug: "good", name: "Good", credentials: { access_key_id: keyId, secret_access_key: secretKey } },
    });
    // Written before the policy denied its host (straight into the store: the API refuses it now).
    await app.services.store.createPlugin("acme", "aws", {
      id: crypto.randomUUID(),
      slug: "ssm",
      service: "aws",
      application: "good",
      plugin: "aws-ssm",
      plugin_type: "configuration",
      label: "SSM",
      options: { endpoint: moto! },
      enabled: true,
    });
    const r = await app.ok("POST", `${svc}/aws/plugins/ssm/test`, { status: 200 });
    assert.equal(r.ok, false);
    assert.equal(r.error.kind, "egress_denied");
    assert.match(r.error.message, /network host "127\.0\.0\.1:\d+"/);
  },
});
