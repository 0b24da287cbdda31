import assert from "node:assert/strict";
import { seedProject } from "../support/seed.ts";
import { serviceUrl } from "../support/services.ts";
import { ROOT, startTestApp } from "../support/test_app.ts";
import { cloudWatchLogsApi } from "../../plugins/aws/moto.ts";

const moto = serviceUrl("IMBI_TEST_MOTO_URL");
const keyId = Deno.env.get("IMBI_TEST_MOTO_ACCESS_KEY_ID") ?? "";
const secretKey = Deno.env.get("IMBI_TEST_MOTO_SECRET_ACCESS_KEY") ?? "";
const AWS = { name: "@imbi/plugin-aws", dir: `${ROOT}plugins/aws`, entryPoints: ["aws-ssm", "aws-cloudwatch-logs"] };

Deno.test({
  name: "README walk-through: SSM and CloudWatch Logs tabs on one AWS service record, against moto",
  ignore: moto === undefined,
  async fn(t) {
    const app = await startTestApp({ packages: [AWS] });
    const org = `acme-${crypto.randomUUID().slice(0, 8)}`;
    try {
      const service = `/orgs/${org}/third-party-services/aws-prod`;
      await seedProject(app, org);
      await app.ok("POST", `/orgs/${org}/third-party-services`, {
        body: { slug: "aws-prod", name: "AWS production", vendor: "aws", region: "us-east-1" },
      });
      const app_ = await app.ok("POST", `${service}/applications`, {
        body: {
          slug: "imbi",
          name: "Imbi IAM user",
          credentials: { access_key_id: keyId, secret_access_key: secretKey },
        },
      });
      assert.deepEqual(app_.credential_fields, ["access_key_id", "secret_access_key"]);
      const ssm = await app.ok("POST", `${service}/plugins`, {
        body: { slug: "ssm", plugin: "aws-ssm", label: "Parameter Store", options: { endpoint: moto } },
      });
      const logs = await app.ok("POST", `${service}/plugins`, {
        body: { slug: "logs", plugin: "aws-cloudwatch-logs", label: "CloudWatch Logs", options: { endpoint: moto } },
      });
      await t.step("both capabilities share the service's one application and reach only moto", () => {
        assert.equal(ssm.application, "imbi");
        assert.equal(logs.application, "imbi");
        const host = new URL(moto!).host;
        assert.deepEqual(ssm.network.hosts, [host]);
        assert.deepEqual(logs.network.hosts, [host]);
      });
      await t.step("a non-secret credential field is shown, the secret one is not", async () => {
        const r = await app.request("GET", `${service}/applications/imbi`);
        assert.deepEqual(Object.keys(r.body.credentials), ["access_key_id"]);
      });
      await app.ok("PUT", `/orgs/${org}/project-types/http-api/plugins`, {
        body: {
          bindings: [
            { plugin_id: ssm.id, tab: "configuration", default: true, search_template: "/{org.slug}/{project.slug}/" },
            { plugin_id: logs.id, tab: "logs", default: true, search_template: "/apps/{org.slug}/{project.slug}" },
          ],
        },
      });
      const base = `/orgs/${org}/projects/web`;

      await t.step("Configuration tab: write, list and read parameters through aws-ssm", async () => {
        await app.ok("PUT", `${base}/configuration/DATABASE_URL`, {
          body: { value: "postgres://db/web", data_type: "string" },
        });
        await app.ok("PUT", `${base}/configuration/API_KEY`, { body: { value: "k-123", data_type: "secure_string" } });
        const keys = await app.request("GET", `${base}/configuration`);
        assert.equal(keys.status, 200, keys.text);
        assert.equal(keys.body.source.plugin, "aws-ssm");
        const listed = keys.body.items.map((k: { key: string; secret: boolean }) => [k.key, k.secret]);
        assert.deepEqual(listed.sort(), [["API_KEY", true], ["DATABASE_URL", false]]);
        const values = await app.request("POST", `${base}/configuration/values`, { body: { keys: ["DATABASE_URL"] } });
        assert.equal(values.body.items[0].value, "postgres://db/web");
      });

      await t.step("Logs tab: newest first from aws-cloudwatch-logs", async () => {
        const group = `/apps/${org}/web`;
        const now = Date.now();
        const cloudwatch = cloudWatchLogsApi(moto!, { access_key_id: keyId, secret_access_key: secretKey });
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
        await app.ok("PATCH", `${service}/applications/imbi`, {
          body: { credentials: { secret_access_key: "wrong-secret-value" } },
        });
        const r = await app.request("GET", `${base}/configuration`);
        assert.equal(r.status, 502, r.text);
        assert.equal(r.body.type, "https://imbi.dev/problems/plugin-credentials-rejected");
      });
    } finally {
      await app.close();
    }
  },
});
