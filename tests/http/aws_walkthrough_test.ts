import assert from "node:assert/strict";
import { serviceUrl } from "../support/services.ts";
import { startTestApp } from "../support/test_app.ts";
import { cloudWatchLogsApi } from "../../plugins/aws/moto.ts";

const moto = serviceUrl("IMBI_TEST_MOTO_URL");
const keyId = Deno.env.get("IMBI_TEST_MOTO_ACCESS_KEY_ID") ?? "";
const secretKey = Deno.env.get("IMBI_TEST_MOTO_SECRET_ACCESS_KEY") ?? "";
const ROOT = new URL("../../", import.meta.url).pathname;
const AWS = { name: "@imbi/plugin-aws", dir: `${ROOT}plugins/aws`, entryPoints: ["aws-ssm", "aws-cloudwatch-logs"] };

Deno.test({
  name: "README walk-through: SSM and CloudWatch Logs tabs on one AWS service record, against moto",
  ignore: moto === undefined,
  async fn(t) {
    const app = await startTestApp({ packages: [AWS] });
    const org = `acme-${crypto.randomUUID().slice(0, 8)}`;
    try {
      const ok = async (method: string, path: string, body: unknown, status = 201) => {
        const r = await app.request(method, path, { body });
        assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
        return r.body;
      };
      await ok("POST", "/orgs", { slug: org, name: "Acme" });
      await ok("POST", `/orgs/${org}/project-types`, { slug: "http-api", name: "HTTP API" });
      await ok("POST", `/orgs/${org}/projects`, { slug: "web", name: "Web", project_types: ["http-api"] });
      await ok("POST", `/orgs/${org}/third-party-services`, {
        slug: "aws-prod",
        name: "AWS production",
        vendor: "aws",
        region: "us-east-1",
      });
      const app_ = await ok("POST", `/orgs/${org}/third-party-services/aws-prod/applications`, {
        slug: "imbi",
        name: "Imbi IAM user",
        credentials: { access_key_id: keyId, secret_access_key: secretKey },
      });
      assert.deepEqual(app_.credential_fields, ["access_key_id", "secret_access_key"]);
      const ssm = await ok("POST", `/orgs/${org}/third-party-services/aws-prod/plugins`, {
        slug: "ssm",
        plugin: "aws-ssm",
        label: "Parameter Store",
        options: { endpoint: moto },
      });
      const logs = await ok("POST", `/orgs/${org}/third-party-services/aws-prod/plugins`, {
        slug: "logs",
        plugin: "aws-cloudwatch-logs",
        label: "CloudWatch Logs",
        options: { endpoint: moto },
      });
      await t.step("both capabilities share the service's one application and reach only moto", () => {
        assert.equal(ssm.application, "imbi");
        assert.equal(logs.application, "imbi");
        const host = new URL(moto!).host;
        assert.deepEqual(ssm.network.hosts, [host]);
        assert.deepEqual(logs.network.hosts, [host]);
      });
      await t.step("a non-secret credential field is shown, the secret one is not", async () => {
        const r = await app.request("GET", `/orgs/${org}/third-party-services/aws-prod/applications/imbi`);
        assert.deepEqual(Object.keys(r.body.credentials), ["access_key_id"]);
      });
      await ok("PUT", `/orgs/${org}/project-types/http-api/plugins`, {
        bindings: [
          { plugin_id: ssm.id, tab: "configuration", default: true, search_template: "/{org.slug}/{project.slug}/" },
          { plugin_id: logs.id, tab: "logs", default: true, search_template: "/apps/{org.slug}/{project.slug}" },
        ],
      }, 200);
      const base = `/orgs/${org}/projects/web`;

      await t.step("Configuration tab: write, list and read parameters through aws-ssm", async () => {
        await ok("PUT", `${base}/configuration/DATABASE_URL`, { value: "postgres://db/web", data_type: "string" }, 200);
        await ok("PUT", `${base}/configuration/API_KEY`, { value: "k-123", data_type: "secure_string" }, 200);
        const keys = await app.request("GET", `${base}/configuration`);
        assert.equal(keys.status, 200, keys.text);
        assert.equal(keys.body.source.plugin, "aws-ssm");
        const listed = keys.body.items.map((k: { key: string; secret: boolean }) => [k.key, k.secret]);
        assert.deepEqual(listed.sort(), [["API_KEY", true], ["DATABASE_URL", false]]);
        const values = await app.request("POST", `${base}/configuration/values`, { body: { keys: ["DATABASE_URL"] } });
        assert.equal(values.body.items[0].value, "postgres://db/web");
      });

      await t.step("Logs tab: newest first from aws-cloudwatch-logs", async () => {
        const cloudwatch = cloudWatchLogsApi(moto!, { access_key_id: keyId, secret_access_key: secretKey });
        const group = `/apps/${org}/web`;
        const now = Date.now();
        await cloudwatch("CreateLogGroup", { logGroupName: group });
        await cloudwatch("CreateLogStream", { logGroupName: group, logStreamName: "web-1" });
        await cloudwatch("PutLogEvents", {
          logGroupName: group,
          logStreamName: "web-1",
          logEvents: [0, 1, 2].map((i) => ({
            timestamp: now - (3 - i) * 60_000,
            message: JSON.stringify({ level: i === 2 ? "error" : "info", message: `event ${i}` }),
          })),
        });
        const r = await app.request("GET", `${base}/logs?start=${new Date(now - 600_000).toISOString()}&limit=10`);
        assert.equal(r.status, 200, r.text);
        assert.equal(r.body.source.plugin, "aws-cloudwatch-logs");
        assert.deepEqual(r.body.entries.map((e: { message: string }) => e.message), ["event 2", "event 1", "event 0"]);
        assert.equal(r.body.entries[0].level, "error");
      });

      await t.step("bad credentials are a 502 that names no secret", async () => {
        await ok("PATCH", `/orgs/${org}/third-party-services/aws-prod/applications/imbi`, {
          credentials: { secret_access_key: "wrong-secret-value" },
        }, 200);
        const r = await app.request("GET", `${base}/configuration`);
        assert.equal(r.status, 502, r.text);
        assert.equal(r.body.type, "https://imbi.dev/problems/plugin-credentials-rejected");
      });
    } finally {
      await app.close();
    }
  },
});
