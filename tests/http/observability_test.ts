import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { Keyring } from "../../core/crypto.ts";
import { capturedLogs } from "../support/secret_scan.ts";
import { seedBoundPlugin, seedWalkthrough } from "../support/seed.ts";
import { openTestApp, ROOT, startTestApp } from "../support/test_app.ts";

/** The value of one sample of a Prometheus text exposition (0 when absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split("\n")) {
    const match = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = Object.fromEntries([...(match[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(match[3]);
  }
  return 0;
}

function accessLines(requestId: string): Record<string, unknown>[] {
  return capturedLogs().map((line) => JSON.parse(line)).filter((l) => l.request_id === requestId);
}

Deno.test("the access log and X-Request-Id", async (t) => {
  await using app = await startTestApp();
  const seed = await seedWalkthrough(app);
  const base = `/orgs/${seed.org}/projects/${seed.projectId}`;

  await t.step("a tab request: one line with route template, status, token kind, plugin and node", async () => {
    const r = await app.request("GET", `${base}/configuration`, {
      token: app.readToken,
      headers: { "x-request-id": "trace.me-1" },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get("x-request-id"), "trace.me-1");
    const lines = accessLines("trace.me-1").filter((l) => l.msg === "request");
    assert.equal(lines.length, 1);
    const line = lines[0]!;
    assert.equal(line.method, "GET");
    assert.equal(line.route, "/orgs/:org/projects/:id/configuration");
    assert.equal(line.status, 200);
    assert.equal(line.token, "read");
    assert.equal(line.plugin, "demo-config");
    assert.equal(line.node, `${seed.org}/demo/config`);
    assert.equal(typeof line.duration_ms, "number");
    assert.equal(line.level, "info");
    assert.match(String(line.ts), /^\d{4}-\d\d-\d\dT/);
  });

  await t.step("a malformed X-Request-Id is replaced; errors and 404s carry one too", async () => {
    const r = await app.request("GET", "/no/such/path", { headers: { "x-request-id": "bad id!" } });
    assert.equal(r.status, 404);
    const id = r.headers.get("x-request-id") ?? "";
    assert.match(id, /^[0-9a-f-]{36}$/);
    const [line] = accessLines(id);
    assert.equal(line?.route, "unmatched");
    assert.equal(line?.status, 404);
    assert.equal(line?.token, "admin");
    const refused = await app.request("GET", "/orgs", { token: "not-a-valid-token-at-all" });
    assert.equal(refused.status, 401);
    const [denied] = accessLines(refused.headers.get("x-request-id")!);
    assert.equal(denied?.token, "none");
    assert.equal(denied?.route, "/orgs");
  });

  await t.step("every line of a request carries its id, and no line holds a token", async () => {
    const r = await app.request("PUT", `${base}/configuration/K`, {
      body: { value: "v", data_type: "blob" },
      headers: { "x-request-id": "refused-write" },
    });
    assert.equal(r.status, 422);
    const lines = accessLines("refused-write");
    assert.ok(lines.length >= 1);
    assert.ok(lines.every((l) => l.request_id === "refused-write"));
    const all = capturedLogs().join("\n");
    assert.ok(!all.includes(app.adminToken) && !all.includes(app.readToken), "a token reached the log");
  });
});

Deno.test("the client's X-Request-Id reaches the plugin as ctx.request_id", async () => {
  const seen: string[] = [];
  const gate = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    seen.push(new URL(request.url).searchParams.get("request") ?? "");
    return new Response("ok");
  });
  try {
    await using app = await startTestApp({
      packages: [{
        name: "@imbi-test/reload-probe",
        dir: `${ROOT}tests/fixtures/reload/probe`,
        entryPoints: ["reload-probe"],
      }],
    });
    await seedBoundPlugin(app, {
      plugin: "reload-probe",
      options: { gate_url: `http://127.0.0.1:${gate.addr.port}` },
    });
    const r = await app.request("GET", "/orgs/acme/projects/web/configuration", {
      headers: { "x-request-id": "from-the-client.7" },
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(seen, ["from-the-client.7"]);
  } finally {
    await gate.shutdown();
  }
});

Deno.test("GET /metrics", async (t) => {
  await using app = await startTestApp();
  const seed = await seedWalkthrough(app);
  const base = `/orgs/${seed.org}/projects/${seed.projectId}`;
  const node = `${seed.org}/demo/config`;
  const scrape = async () => {
    const r = await app.request("GET", "/metrics", { token: app.readToken });
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    return r.text;
  };

  await t.step("needs a token", async () => {
    assert.equal((await app.request("GET", "/metrics", { token: null })).status, 401);
  });

  await t.step("counts plugin calls by plugin, node, method and outcome, and HTTP requests by route", async () => {
    const before = await scrape();
    for (let i = 0; i < 3; i++) assert.equal((await app.request("GET", `${base}/configuration`)).status, 200);
    const refused = await app.request("PUT", `${base}/configuration/K`, { body: { value: "v", data_type: "blob" } });
    assert.equal(refused.status, 422);
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string>) =>
      sample(after, name, labels) - sample(before, name, labels);
    const call = { plugin: "demo-config", node };
    assert.equal(delta("imbi_plugin_calls_total", { ...call, method: "listKeys", outcome: "ok" }), 3);
    assert.equal(delta("imbi_plugin_calls_total", { ...call, method: "setValue", outcome: "invalid_input" }), 1);
    assert.equal(delta("imbi_plugin_call_duration_seconds_count", { ...call, method: "listKeys" }), 3);
    const route = "/orgs/:org/projects/:id/configuration";
    assert.equal(delta("imbi_http_requests_total", { route, method: "GET", status: "200" }), 3);
    assert.equal(delta("imbi_http_request_duration_seconds_count", { route, method: "GET" }), 3);
    assert.equal(
      delta("imbi_http_requests_total", { route: "/orgs/:org/projects/:id/configuration/:key", status: "422" }),
      1,
    );
  });

  await t.step("counts a process start and a drain when a node's configuration changes", async () => {
    const before = await scrape();
    await app.ok("PATCH", `/orgs/${seed.org}/third-party-services/demo/plugins/${seed.configPluginId}`, {
      body: { options: { seed: { GREETING: "hello again" } } },
    });
    assert.equal((await app.request("GET", `${base}/configuration`)).status, 200);
    let after = await scrape();
    for (let i = 0; i < 100 && sample(after, "imbi_plugin_process_exits_total", { node, cause: "drain" }) === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      after = await scrape();
    }
    const delta = (name: string, labels: Record<string, string>) =>
      sample(after, name, labels) - sample(before, name, labels);
    assert.equal(delta("imbi_plugin_process_starts_total", { node }), 1);
    assert.equal(delta("imbi_plugin_process_exits_total", { node, cause: "drain" }), 1);
  });

  await t.step("reports processes, starts, registry generation, lock revision and the store", async () => {
    const text = await scrape();
    assert.equal(sample(text, "imbi_plugin_processes", { node }), 1);
    assert.ok(sample(text, "imbi_plugin_process_starts_total", { node }) >= 1);
    assert.equal(sample(text, "imbi_plugin_queue_depth", { node }), 0);
    assert.equal(sample(text, "imbi_registry_generation"), app.services.runtime.registry.generation);
    assert.equal(sample(text, "imbi_lock_revision"), app.services.runtime.registry.revision);
    assert.equal(sample(text, "imbi_graph_store_up"), 1);
    assert.match(text, /# HELP imbi_plugin_process_exits_total/);
    assert.match(text, /# HELP imbi_tab_cache_lookups_total/);
    assert.ok(!text.includes(app.adminToken) && !text.includes("demo-token"), "a secret in the metrics");
  });
});

Deno.test("GET /readyz", async (t) => {
  const dataDir = await Deno.makeTempDir({ prefix: "imbi-ready-" });
  const admin = `admin-${crypto.randomUUID()}`;
  const rightKey = Keyring.generate("right");
  const newKey = Keyring.generate("new");
  const start = async (keys: string) => {
    const app = await openTestApp(dataDir, { adminToken: admin, env: { IMBI_ENCRYPTION_KEYS: keys } });
    const get = async (path: string) => {
      const r = await app.request("GET", path, { token: null });
      return { status: r.status, body: r.body };
    };
    const post = async (path: string, body?: unknown) => (await app.request("POST", path, { body })).status;
    return { services: app.services, get, post };
  };
  try {
    const first = await start(rightKey);
    try {
      assert.equal(await first.post("/orgs", { slug: "acme", name: "Acme" }), 201);
      assert.equal(await first.post("/orgs/acme/third-party-services", { slug: "aws", name: "AWS" }), 201);
      assert.equal(
        await first.post("/orgs/acme/third-party-services/aws/applications", {
          slug: "prod",
          name: "Prod",
          credentials: { secret_access_key: "s3cr3t-value-for-readiness" },
        }),
        201,
      );
      await t.step("ready with the key that sealed the credentials", async () => {
        const r = await first.get("/readyz");
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.deepEqual([r.body.status, r.body.keys, r.body.store.status, r.body.reasons], ["ready", "ok", "up", []]);
      });
    } finally {
      await first.services.close();
    }

    await t.step("a wrong key: 503 naming the application and key id, while /healthz stays up", async () => {
      const wrong = await start(Keyring.generate("wrong"));
      try {
        const r = await wrong.get("/readyz");
        assert.equal(r.status, 503);
        assert.equal(r.body.status, "not_ready");
        assert.equal(r.body.keys, "unreadable");
        assert.match(r.body.reasons[0], /cannot decrypt application acme\/aws\/prod \(key id "right"\)/);
        assert.ok(!JSON.stringify(r.body).includes("s3cr3t"));
        assert.equal((await wrong.get("/healthz")).status, 200);
      } finally {
        await wrong.services.close();
      }
    });

    await t.step(
      "after a key change: new key first, old one kept, re-encrypted, then the old key dropped",
      async () => {
        const both = await start(`${newKey},${rightKey}`);
        try {
          assert.equal((await both.get("/readyz")).status, 200);
          assert.equal(await both.post("/admin/credentials/reencrypt"), 200);
          assert.equal((await both.get("/readyz")).body.keys, "ok");
        } finally {
          await both.services.close();
        }
        const onlyNew = await start(newKey);
        try {
          assert.equal((await onlyNew.get("/readyz")).status, 200);
        } finally {
          await onlyNew.services.close();
        }
      },
    );

    await t.step("a lock revision that fails to load: 503 until a reload serves one again", async () => {
      const service = await start(newKey);
      // A revision no replica can load, as a bad write from an older release or a hand edit of the store would leave.
      const db = new DatabaseSync(`${dataDir}/graph.sqlite`);
      const broken = () =>
        db.prepare(
          `INSERT INTO lock_revisions (deployment, revision, document, written_at, written_by, action, from_revision,
             summary, replica)
           SELECT 'default', COALESCE(MAX(revision), 0) + 1, '{"lockfile_version": "broken"}', '2026-01-01T00:00:00Z',
             'test', 'external', COALESCE(MAX(revision), 0), 'broken', 'test'
           FROM lock_revisions WHERE deployment = 'default'`,
        ).run();
      try {
        assert.equal(broken().changes, 1);
        assert.notEqual(await service.post("/admin/plugins/reload"), 200);
        const r = await service.get("/readyz");
        assert.equal(r.status, 503);
        assert.equal(r.body.lock, "failed");
        assert.match(r.body.reasons.join(" "), /the lock state failed to load: /);
        db.prepare("DELETE FROM lock_revisions WHERE written_by = 'test'").run();
        assert.equal(await service.post("/admin/plugins/reload"), 200);
        assert.equal((await service.get("/readyz")).status, 200);
      } finally {
        db.close();
        await service.services.close();
      }
    });
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
