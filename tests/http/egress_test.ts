/**
 * The operator's egress policy against `deno task serve` with its real
 * flags: Plugin node writes whose network hosts the policy denies are 422
 * naming the entry, the rule and the option (JSON pointer), the defaults deny
 * link-local and instance-metadata addresses in any spelling, and a node
 * written before the policy tightened is refused at spawn (403
 * `plugin-egress-denied`) without a process ever starting.
 */
import assert from "node:assert/strict";
import { freePort } from "../support/local.ts";
import { type HttpClient, httpClient, serve, type ServeProcess } from "../support/serve_process.ts";
import { lockLocalPackages, ROOT } from "../support/test_app.ts";

const SERVICES = "/orgs/acme/third-party-services";

/** A data directory and lockfile holding the egress fixture, for one or more service runs. */
async function workspace(): Promise<{ dir: string; env: (extra: Record<string, string>) => Record<string, string> }> {
  const dir = await Deno.makeTempDir({ prefix: "imbi-egress-" });
  await lockLocalPackages(`${dir}/plugins.lock.json`, [{
    name: "@imbi-test/egress",
    dir: `${ROOT}tests/fixtures/egress`,
    entryPoints: ["egress-endpoint", "egress-metadata"],
  }]);
  const admin = `admin-${crypto.randomUUID()}`;
  const { IMBI_EGRESS_ALLOW: _a, IMBI_EGRESS_DENY: _d, IMBI_EGRESS_FILE: _f, ...inherited } = Deno.env.toObject();
  return {
    dir,
    env: (extra) => ({
      ...inherited,
      IMBI_DATA_DIR: `${dir}/data`,
      IMBI_LOCKFILE: `${dir}/plugins.lock.json`,
      IMBI_ADMIN_TOKEN: admin,
      IMBI_PORT: String(freePort()),
      ...extra,
    }),
  };
}

async function withService(
  env: Record<string, string>,
  fn: (app: HttpClient, service: ServeProcess) => Promise<void>,
): Promise<void> {
  const service = await serve(env);
  try {
    const app = httpClient(service.url, env.IMBI_ADMIN_TOKEN!);
    const registry = await app.ok("GET", "/admin/plugins");
    assert.deepEqual(registry.items.map((p: { status: string }) => p.status), ["loaded"], JSON.stringify(registry));
    await fn(app, service);
  } finally {
    await service.stop();
  }
}

function node(plugin: string, options: Record<string, unknown> = {}) {
  return { body: { slug: plugin, plugin, label: plugin, options } };
}

Deno.test("POST and PATCH of Plugin nodes: hosts the egress policy denies are 422 naming entry, rule and pointer", async (t) => {
  const work = await workspace();
  try {
    await withService(work.env({ IMBI_EGRESS_DENY: "10.0.0.0/8, db.internal.example" }), async (app) => {
      await app.ok("POST", "/orgs", { body: { slug: "acme", name: "Acme" } });
      await app.ok("POST", SERVICES, { body: { slug: "vendor", name: "Vendor" } });
      const plugins = `${SERVICES}/vendor/plugins`;
      const refused = async (method: string, path: string, body: unknown, pointer: string, message: RegExp) => {
        const r = await app.request(method, path, { body });
        assert.equal(r.status, 422, r.text);
        assert.equal(r.headers.get("content-type"), "application/problem+json");
        assert.equal(r.body.errors[0].pointer, pointer, r.text);
        assert.match(r.body.errors[0].message, message);
      };

      await t.step("a manifest listing the instance-metadata address: pointer /plugin, denied by default", async () => {
        await refused(
          "POST",
          plugins,
          node("egress-metadata").body,
          "/plugin",
          /network host "169\.254\.169\.254:80" \(from manifest "egress-metadata" network\.hosts\.0\) is denied by default: "169\.254\.169\.254"/,
        );
      });

      await t.step(
        "an option naming a denied CIDR or host: pointer /options/endpoint, the operator's rule",
        async () => {
          await refused(
            "POST",
            plugins,
            node("egress-endpoint", { endpoint: "http://10.1.2.3:8080" }).body,
            "/options/endpoint",
            /network host "10\.1\.2\.3:8080" \(from option "endpoint"\) is denied by "10\.0\.0\.0\/8" \(IMBI_EGRESS_DENY\)/,
          );
          await refused(
            "POST",
            plugins,
            node("egress-endpoint", { endpoint: "https://DB.Internal.Example/" }).body,
            "/options/endpoint",
            /"db\.internal\.example:443" .* is denied by "db\.internal\.example" \(IMBI_EGRESS_DENY\)/,
          );
        },
      );

      await t.step("link-local and metadata addresses in other spellings are denied too", async () => {
        for (
          const [endpoint, rule] of <[string, string][]> [
            ["http://0xa9fea9fe/", "169.254.169.254"],
            ["http://169.254.43518/", "169.254.169.254"],
            ["http://[::ffff:169.254.169.254]/", "169.254.169.254"],
            ["http://[fd00:ec2::254]/", "fd00:ec2::254"],
            ["http://metadata.google.internal/", "metadata.google.internal"],
            ["http://169.254.10.10:8080/", "169.254.0.0/16"],
            ["http://[fe80::1]:8080/", "fe80::/10"],
          ]
        ) {
          const escaped = rule.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
          await refused(
            "POST",
            plugins,
            node("egress-endpoint", { endpoint }).body,
            "/options/endpoint",
            new RegExp(`is denied by default: "${escaped}"`),
          );
        }
      });

      await t.step("an allowed host is written; a PATCH to a denied one is refused and changes nothing", async () => {
        const created = await app.ok("POST", plugins, node("egress-endpoint", { endpoint: "http://127.0.0.1:23001" }));
        assert.deepEqual(created.network.hosts, ["127.0.0.1:23001"]);
        await refused(
          "PATCH",
          `${plugins}/egress-endpoint`,
          { options: { endpoint: "http://10.0.0.1/" } },
          "/options/endpoint",
          /"10\.0\.0\.1:80" \(from option "endpoint"\) is denied by "10\.0\.0\.0\/8"/,
        );
        const after = await app.ok("GET", `${plugins}/egress-endpoint`);
        assert.deepEqual(after.options, { endpoint: "http://127.0.0.1:23001" });
      });
    });
  } finally {
    await Deno.remove(work.dir, { recursive: true });
  }
});

Deno.test("GET a tab: a node the tightened policy denies is refused at spawn, 403 plugin-egress-denied", async (t) => {
  const work = await workspace();
  try {
    await withService(work.env({}), async (app) => {
      await app.ok("POST", "/orgs", { body: { slug: "acme", name: "Acme" } });
      await app.ok("POST", SERVICES, { body: { slug: "vendor", name: "Vendor" } });
      await app.ok("POST", "/orgs/acme/projects", { body: { slug: "web", name: "Web" } });
      const created = await app.ok(
        "POST",
        `${SERVICES}/vendor/plugins`,
        node("egress-endpoint", { endpoint: "http://127.0.0.1:23002" }),
      );
      await app.ok("PUT", "/orgs/acme/projects/web/plugins", {
        body: { bindings: [{ plugin_id: created.id, tab: "configuration", default: true }] },
      });
      await t.step("under the policy it was written with, the tab answers", async () => {
        const r = await app.request("GET", "/orgs/acme/projects/web/configuration");
        assert.equal(r.status, 200, r.text);
        assert.equal(r.body.items[0].key, "REACHED");
      });
    });
    await withService(
      work.env({ IMBI_EGRESS_DENY: "127.0.0.1:23002", IMBI_LOG_LEVEL: "debug" }),
      async (app, service) => {
        await t.step("after a restart that denies its host, the call fails and no process starts", async () => {
          const r = await app.request("GET", "/orgs/acme/projects/web/configuration");
          assert.equal(r.status, 403, r.text);
          assert.equal(r.headers.get("content-type"), "application/problem+json");
          assert.equal(r.body.type, "https://imbi.dev/problems/plugin-egress-denied");
          assert.match(
            r.body.detail,
            /Plugin node "egress-endpoint" was not started: network host "127\.0\.0\.1:23002" is denied by "127\.0\.0\.1:23002" \(IMBI_EGRESS_DENY\)/,
          );
          assert.ok(!service.lines.some((l) => l.includes("plugin process spawned")), "no plugin process was spawned");
        });
      },
    );
  } finally {
    await Deno.remove(work.dir, { recursive: true });
  }
});

Deno.test("deno task serve refuses to start with a malformed egress rule, naming the variable", async () => {
  const work = await workspace();
  try {
    const child = await new Deno.Command(`${ROOT}bin/deno`, {
      args: ["task", "serve"],
      cwd: ROOT,
      env: work.env({ IMBI_EGRESS_DENY: "10.0.0.0/40" }),
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(child.success, false);
    const line = new TextDecoder().decode(child.stderr).split("\n").find((l) => l.includes("invalid configuration"));
    assert.ok(line, new TextDecoder().decode(child.stderr));
    const logged = JSON.parse(line);
    assert.equal(logged.variable, "IMBI_EGRESS_DENY");
    assert.match(logged.error, /"10\.0\.0\.0\/40" has a prefix length outside 0-32/);
  } finally {
    await Deno.remove(work.dir, { recursive: true });
  }
});
