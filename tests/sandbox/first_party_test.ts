/**
 * Every first-party plugin, run inside the real sandbox: it passes the
 * conformance suite of its type with exactly the hosts its manifest
 * computes, a request to any host outside that list fails inside the
 * sandbox (the backend and a canary see nothing), its computed hosts are
 * the ones it needs and no more, and no credential reaches a log line or
 * an error.
 *
 * @module
 */

import assert from "node:assert/strict";
import { setLogSink } from "../../core/logger.ts";
import { computeNetHosts } from "../../core/sandbox/network_hosts.ts";
import { checkConformance, type ConformanceOptions, serveFakeBackend, testContext } from "@imbi/plugin-sdk/testing";
import {
  type BundledPlugin,
  bundlePlugin,
  runInSandbox,
  type SandboxRunOptions,
} from "../../core/sandbox/test_runner.ts";
import { cloudWatchLogsApi, motoKeys } from "../../plugins/aws/moto.ts";
import { startFakeGitHub } from "../../plugins/github/fake_github.ts";
import { startFakeLogzio } from "../../plugins/logzio/fake_logzio.ts";
import { serviceUrl } from "../support/services.ts";

const plugin = (name: string) => new URL(`../../plugins/${name}/`, import.meta.url);
const motoUrl = serviceUrl("IMBI_TEST_MOTO_URL");
const etcdUrl = serviceUrl("IMBI_TEST_ETCD_URL");
const aws = motoKeys();

/** Every log line the host writes while `fn` runs. */
async function capturingLogs<T>(fn: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = [];
  const previous = setLogSink((line) => lines.push(line));
  try {
    return { result: await fn(), lines };
  } finally {
    setLogSink(previous);
  }
}

/** A loopback server that counts the requests it gets (none may arrive). */
function canary(): { hostPort: string; hits: () => number; close: () => Promise<void> } {
  let hits = 0;
  const server = serveFakeBackend(() => {
    hits++;
    return new Response("{}");
  });
  return { hostPort: new URL(server.url).host, hits: () => hits, close: server.close };
}

/**
 * Runs one entry in the sandbox: conformance with the computed hosts, then
 * the same first call with an allow-list that lacks the backend's host.
 */
async function proveEntry(
  pkg: string,
  run: SandboxRunOptions,
  conformance: ConformanceOptions,
  expectHosts: string[],
  secrets: string[],
): Promise<void> {
  const { result: report, lines } = await capturingLogs(async () => {
    const runner = await runInSandbox(plugin(pkg), run);
    try {
      assert.deepEqual(runner.netHosts, expectHosts);
      return await checkConformance(runner, conformance);
    } finally {
      await runner.close();
    }
  });
  assert.deepEqual(report.results.filter((r) => !r.ok), [], `${run.entry} conformance in the sandbox`);
  for (const secret of secrets) {
    assert.ok(!lines.some((line) => line.includes(secret)), `a log line holds a credential of ${run.entry}`);
  }

  const trap = canary();
  const fenced = await runInSandbox(plugin(pkg), { ...run, netHosts: [trap.hostPort] });
  try {
    const method = fenced.manifest.plugin_type === "logs" ? "search" : "listKeys";
    const args = method === "search"
      ? [conformance.ctx, { ...(conformance as { query: object }).query, filters: [], levels: [], limit: 5 }]
      : [conformance.ctx];
    await assert.rejects(fenced.call(method, args), (e: { kind: string; message: string }) => {
      assert.equal(e.kind, "upstream_unavailable", `${run.entry}: ${e.message}`);
      for (const secret of secrets) assert.ok(!e.message.includes(secret));
      return true;
    });
    assert.equal(trap.hits(), 0);
  } finally {
    await fenced.close();
    await trap.close();
  }
}

function hostOf(url: string): string {
  return new URL(url).host;
}

Deno.test({
  name: "aws-ssm passes the configuration suite in the sandbox against moto, reaching only its endpoint",
  ignore: !motoUrl,
  async fn() {
    await proveEntry(
      "aws",
      { entry: "aws-ssm", options: { endpoint: motoUrl }, credentials: aws, service: { region: "us-east-1" } },
      { ctx: testContext(`/sandbox/${crypto.randomUUID().slice(0, 8)}`) },
      [hostOf(motoUrl!)],
      [aws.secret_access_key],
    );
  },
});

async function seedLogGroup(): Promise<string> {
  const call = cloudWatchLogsApi(motoUrl!, aws);
  const group = `/sandbox/${crypto.randomUUID().slice(0, 8)}`;
  await call("CreateLogGroup", { logGroupName: group });
  await call("CreateLogStream", { logGroupName: group, logStreamName: "app" });
  const base = Date.now() - 3600_000;
  const levels = ["info", "error", "warn"];
  await call("PutLogEvents", {
    logGroupName: group,
    logStreamName: "app",
    logEvents: Array.from({ length: 8 }, (_, i) => ({
      timestamp: base + i * 60_000,
      message: JSON.stringify({ level: levels[i % 3], message: `event ${i}` }),
    })),
  });
  return group;
}

Deno.test({
  name: "aws-cloudwatch-logs passes the logs suite in the sandbox against moto, reaching only its endpoint",
  ignore: !motoUrl,
  async fn() {
    const group = await seedLogGroup();
    await proveEntry(
      "aws",
      {
        entry: "aws-cloudwatch-logs",
        options: { endpoint: motoUrl },
        credentials: aws,
        service: { region: "us-east-1" },
      },
      {
        ctx: testContext(group),
        query: { start: new Date(Date.now() - 2 * 3600_000).toISOString(), end: new Date().toISOString() },
        minEntries: 8,
      },
      [hostOf(motoUrl!)],
      [aws.secret_access_key],
    );
  },
});

Deno.test({
  name: "etcd passes the configuration suite in the sandbox against etcd, reaching only its endpoint",
  ignore: !etcdUrl,
  async fn() {
    await proveEntry(
      "etcd",
      { entry: "etcd", options: { endpoint: etcdUrl } },
      { ctx: testContext(`/sandbox/${crypto.randomUUID().slice(0, 8)}/`) },
      [hostOf(etcdUrl!)],
      [],
    );
  },
});

Deno.test("logzio passes the logs suite in the sandbox against the Logz.io fake, reaching only its endpoint", async () => {
  const base = Date.parse("2024-05-01T10:00:00Z");
  await using fake = startFakeLogzio(Array.from({ length: 9 }, (_, i) => ({
    _id: `d${i}`,
    _source: {
      "@timestamp": new Date(base + i * 30_000).toISOString(),
      level: ["info", "error", "warn"][i % 3]!,
      message: `m${i}`,
      service: "api",
    },
  })));
  await proveEntry(
    "logzio",
    { entry: "logzio", options: { endpoint: fake.url }, credentials: { api_token: fake.token } },
    {
      ctx: testContext("service:api"),
      query: { start: "2024-05-01T09:00:00Z", end: "2024-05-01T11:00:00Z" },
      minEntries: 9,
    },
    [hostOf(fake.url)],
    [fake.token],
  );
  assert.ok(fake.requests.length > 0, "the conformance run reached the fake");
});

Deno.test("github-actions passes the configuration suite in the sandbox against the GitHub fake, reaching only base_url", async () => {
  await using fake = await startFakeGitHub(["acme/api"]);
  await proveEntry(
    "github",
    { entry: "github-actions", credentials: { token: fake.token }, service: { base_url: fake.url } },
    { ctx: testContext("acme/api") },
    [hostOf(fake.url)],
    [fake.token],
  );
  assert.equal(fake.variables("acme/api").size, 0, "the suite cleaned up after itself");
});

Deno.test("first-party manifests compute only the production hosts they need", async () => {
  const service = { slug: "s", name: "S", vendor: null, base_url: null, account: null, region: "eu-west-1" };
  const [awsPkg, etcdPkg, logzioPkg, githubPkg] = await Promise.all([
    bundlePlugin(plugin("aws")),
    bundlePlugin(plugin("etcd")),
    bundlePlugin(plugin("logzio")),
    bundlePlugin(plugin("github")),
  ]);
  const m = (pkg: BundledPlugin, slug: string) => pkg.manifests.find((x) => x.slug === slug)!;
  assert.deepEqual(awsPkg.manifests.map((x) => x.slug), ["aws-ssm", "aws-cloudwatch-logs"]);
  assert.deepEqual(
    computeNetHosts(m(awsPkg, "aws-ssm"), {
      options: { endpoint: "https://vpce-1.ssm.eu-west-1.vpce.amazonaws.com" },
      service,
    }),
    ["vpce-1.ssm.eu-west-1.vpce.amazonaws.com:443"],
  );
  assert.deepEqual(
    computeNetHosts(m(etcdPkg, "etcd"), { options: { endpoint: "http://etcd.internal:2379" }, service }),
    ["etcd.internal:2379"],
  );
  assert.deepEqual(
    computeNetHosts(m(logzioPkg, "logzio"), { options: { endpoint: "https://api-eu.logz.io" }, service }),
    ["api-eu.logz.io:443"],
  );
  assert.deepEqual(
    computeNetHosts(m(githubPkg, "github-actions"), {
      options: {},
      service: { ...service, base_url: "https://api.github.com" },
    }),
    ["api.github.com:443"],
  );
  assert.deepEqual(
    computeNetHosts(m(githubPkg, "github-actions"), {
      options: {},
      service: { ...service, base_url: "https://ghe.example.com/api/v3" },
    }),
    ["ghe.example.com:443"],
  );
});
