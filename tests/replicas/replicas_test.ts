/**
 * Several replicas of the service on one real Neo4j, as a SaaS runs them
 * behind a load balancer (issue 10): every process is `./bin/deno task
 * serve` with the task's own flags, its own data directory and package
 * cache, and the same `IMBI_DEPLOYMENT`. Packages come from the loopback
 * Verdaccio. The test starts two replicas at the same instant, installs
 * through one and serves from the others, starts a third later, upgrades
 * while the other replicas are under load (0 failed requests), rolls back
 * through another, installs concurrently and patches credentials
 * concurrently through different replicas, and shows a replica that cannot
 * fetch keeping its revision and saying why. It prints the convergence
 * times and the failed-request counts it measured (docs/replicas.md quotes
 * them).
 *
 * Needs `IMBI_TEST_NEO4J_URL` and `IMBI_TEST_NPM_REGISTRY`; ignored without
 * them (a failure when `IMBI_TEST_SERVICES=required`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { Keyring } from "../../core/crypto.ts";
import { publishFixture } from "../support/npm_publish.ts";
import { serviceUrl } from "../support/services.ts";
import { httpClient, runTask, serve } from "../support/serve_process.ts";
import type { TestResponse } from "../support/test_app.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const NPM = serviceUrl("IMBI_TEST_NPM_REGISTRY");
const NEO4J = serviceUrl("IMBI_TEST_NEO4J_URL");
const PROBE_DIR = `${ROOT}tests/fixtures/replicas/probe`;
const run = crypto.randomUUID().slice(0, 8);
const ORG = `rep-${run}`;

/** One replica: `deno task serve` and a client sending the admin token. */
interface Replica {
  url: string;
  /** Milliseconds from spawn to "listening". */
  startupMs: number;
  call(method: string, path: string, body?: unknown): Promise<TestResponse>;
  stop(): Promise<Deno.CommandStatus>;
}

/** Starts one replica with the service's real flags (`deno task serve`). */
async function startReplica(env: Record<string, string>, adminToken: string): Promise<Replica> {
  const started = performance.now();
  const process = await serve({ IMBI_PORT: "0", ...env });
  const client = httpClient(process.url, adminToken);
  return {
    url: process.url,
    startupMs: Math.round(performance.now() - started),
    call: (method, path, body) => client.request(method, path, body === undefined ? {} : { body }),
    stop: () => process.stop(),
  };
}

/** Prints a measurement (the report and docs/replicas.md quote these lines). */
function say(line: string): void {
  Deno.stdout.writeSync(new TextEncoder().encode(`measured: ${line}\n`));
}

/** A loopback proxy in front of Verdaccio that can be switched to 503 (a registry outage for one replica). */
function flakyRegistry(upstream: string) {
  let broken = false;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    if (broken) return new Response("registry down", { status: 503 });
    const url = new URL(request.url);
    const target = new URL(url.pathname + url.search, upstream);
    const response = await fetch(target, {
      method: request.method,
      headers: { accept: request.headers.get("accept") ?? "*/*" },
    });
    // fetch() has decoded the body: pass it on without the encoding and length of the encoded one.
    const headers = new Headers(response.headers);
    for (const name of ["content-encoding", "content-length", "transfer-encoding"]) headers.delete(name);
    return new Response(response.body, { status: response.status, headers });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/`,
    set broken(value: boolean) {
      broken = value;
    },
    close: () => server.shutdown(),
  };
}

/**
 * Waits until `replica` serves `revision` (its `/readyz`), answering when it
 * noticed it (its last poll read it from the store) and when it served it
 * (fetched, verified, bundled, inspected and swapped), in ms from now.
 */
async function convergence(
  replica: Replica,
  revision: number,
  timeoutMs = 30_000,
): Promise<{ noticed: number; served: number }> {
  const started = performance.now();
  let noticed: number | undefined;
  for (;;) {
    const r = await replica.call("GET", "/readyz");
    const now = Math.round(performance.now() - started);
    if (noticed === undefined && r.body.replica?.store_revision >= revision) noticed = now;
    if (r.body.registry?.revision === revision) return { noticed: noticed ?? now, served: now };
    if (now > timeoutMs) {
      throw new Error(`${replica.url} still serves revision ${r.body.registry?.revision}, not ${revision}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** {@linkcode convergence}'s time until served. */
async function converged(replica: Replica, revision: number): Promise<number> {
  return (await convergence(replica, revision)).served;
}

/** Tab requests in a loop on some replicas until stopped, counting every answer that is not a 200. */
function load(replicas: Replica[], path: string) {
  let running = true;
  let ok = 0;
  const failures: string[] = [];
  const keys = new Set<string>();
  const worker = async (replica: Replica) => {
    while (running) {
      try {
        const r = await replica.call("GET", path);
        if (r.status === 200) {
          ok++;
          keys.add(r.body.items[0].key);
        } else failures.push(`${replica.url}: ${r.status} ${JSON.stringify(r.body)}`);
      } catch (error) {
        failures.push(`${replica.url}: ${(error as Error).message}`);
      }
    }
  };
  const workers = replicas.flatMap((r) => [worker(r), worker(r), worker(r)]);
  return {
    async stop() {
      running = false;
      await Promise.all(workers);
      return { ok, failures, keys: [...keys].sort() };
    },
  };
}

Deno.test({
  name: "three replicas on one Neo4j: one lock state, every replica on the same revision, no lost write",
  ignore: !NPM || !NEO4J,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const probe = `@imbi-test/rp-${run}`;
    const left = `@imbi-test/rp-${run}-x`;
    const right = `@imbi-test/rp-${run}-y`;
    const late = `@imbi-test/rp-${run}-z`;
    const unseen = `@imbi-test/rp-${run}-w`;
    for (const version of ["1.0.0", "1.1.0"]) await publishFixture(NPM!, PROBE_DIR, { name: probe, version });
    for (const name of [left, right, late, unseen]) await publishFixture(NPM!, PROBE_DIR, { name, version: "1.0.0" });
    const slug = (name: string) => name.split("/")[1]!;

    const adminToken = `admin-${crypto.randomUUID()}`;
    const data = await Deno.makeTempDir({ prefix: "imbi-replicas-" });
    const flaky = flakyRegistry(NPM!);
    const common = {
      IMBI_GRAPH_URL: NEO4J!,
      IMBI_GRAPH_USER: Deno.env.get("IMBI_TEST_NEO4J_USER") ?? "neo4j",
      IMBI_GRAPH_PASSWORD: Deno.env.get("IMBI_TEST_NEO4J_PASSWORD") ?? "",
      IMBI_DEPLOYMENT: `e2e-${run}`,
      IMBI_ADMIN_TOKEN: adminToken,
      IMBI_ENCRYPTION_KEYS: Keyring.generate("shared"),
      IMBI_MIN_PACKAGE_AGE: "0",
      IMBI_NPM_REGISTRY: NPM!,
      IMBI_LOG_LEVEL: "info",
    };
    const env = (name: string, extra: Record<string, string> = {}) => ({
      ...common,
      IMBI_REPLICA_ID: `${name}-${run}`,
      IMBI_DATA_DIR: `${data}/${name}`,
      IMBI_LOCKFILE: `${data}/${name}/plugins.lock.json`,
      ...extra,
    });
    const replicas: Replica[] = [];
    const tab = `/orgs/${ORG}/projects/web/configuration`;
    try {
      let a!: Replica;
      let b!: Replica;
      let c!: Replica;

      await t.step("two replicas started at the same instant both start and see each other", async () => {
        [a, b] = await Promise.all([startReplica(env("a"), adminToken), startReplica(env("b"), adminToken)]);
        replicas.push(a, b);
        say(`two replicas started together: ${a.startupMs} ms and ${b.startupMs} ms to listening`);
        const deadline = Date.now() + 10_000;
        let ids: string[] = [];
        while (Date.now() < deadline) {
          ids = (await a.call("GET", "/admin/replicas")).body.items.map((r: { id: string }) => r.id);
          if (ids.length === 2) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.deepEqual(ids, [`a-${run}`, `b-${run}`]);
      });

      let revision = 0;
      await t.step("an install through one replica is noticed by the other within 5 s and served", async () => {
        const r = await a.call("POST", "/admin/plugins", { specifier: `npm:${probe}@1.0.0`, accept_permissions: true });
        assert.equal(r.status, 201, JSON.stringify(r.body));
        revision = r.body.revision;
        assert.equal(revision, 1);
        const spread = await convergence(b, revision);
        say(`install through A: B noticed it after ${spread.noticed} ms, served it after ${spread.served} ms`);
        // The graph, written through A; the tab answered by B.
        assert.equal((await a.call("POST", "/orgs", { slug: ORG, name: "Replicas" })).status, 201);
        assert.equal((await a.call("POST", `/orgs/${ORG}/projects`, { slug: "web", name: "Web" })).status, 201);
        const service = await a.call("POST", `/orgs/${ORG}/third-party-services`, { slug: "vendor", name: "Vendor" });
        assert.equal(service.status, 201);
        const app = await a.call("POST", `/orgs/${ORG}/third-party-services/vendor/applications`, {
          slug: "default",
          name: "Default",
          credentials: { token: "initial-secret" },
        });
        assert.equal(app.status, 201, JSON.stringify(app.body));
        const node = await a.call("POST", `/orgs/${ORG}/third-party-services/vendor/plugins`, {
          slug: "probe",
          plugin: slug(probe),
          label: "Probe",
          application: "default",
        });
        assert.equal(node.status, 201, JSON.stringify(node.body));
        const bound = await a.call("PUT", `/orgs/${ORG}/projects/web/plugins`, {
          bindings: [{ plugin_id: node.body.id, tab: "configuration", default: true }],
        });
        assert.equal(bound.status, 200, JSON.stringify(bound.body));
        const answer = await b.call("GET", tab);
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        assert.equal(answer.body.items[0].key, "VERSION_1_0_0");
        assert.ok(spread.noticed < 5000, `noticed after ${spread.noticed} ms`);
      });

      await t.step("a replica started later catches up: it serves the store's revision at once", async () => {
        flaky.broken = false;
        c = await startReplica(env("c", { IMBI_NPM_REGISTRY: flaky.url, IMBI_REGISTRY_RETRIES: "0" }), adminToken);
        replicas.push(c);
        assert.equal((await c.call("GET", "/readyz")).body.registry.revision, revision);
        assert.equal((await c.call("GET", tab)).body.items[0].key, "VERSION_1_0_0");
      });

      await t.step("an upgrade through A while B and C are under load: 0 failed requests", async () => {
        const traffic = load([b, c], tab);
        await new Promise((r) => setTimeout(r, 500));
        const r = await a.call("PATCH", `/admin/plugins/${probe}`, { version: "1.1.0", accept_permissions: true });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        revision = r.body.revision;
        const [toB, toC] = await Promise.all([convergence(b, revision), convergence(c, revision)]);
        await new Promise((r) => setTimeout(r, 500));
        const seen = await traffic.stop();
        say(
          `upgrade through A: B noticed/served it after ${toB.noticed}/${toB.served} ms, C after ` +
            `${toC.noticed}/${toC.served} ms; ${seen.ok} tab requests on B and C meanwhile, ${seen.failures.length} failed`,
        );
        assert.deepEqual(seen.failures, []);
        assert.deepEqual(seen.keys, ["VERSION_1_0_0", "VERSION_1_1_0"]);
        assert.ok(toB.noticed < 5000 && toC.noticed < 5000, JSON.stringify({ toB, toC }));
        for (const replica of [a, b, c]) {
          assert.equal((await replica.call("GET", tab)).body.items[0].key, "VERSION_1_1_0");
        }
      });

      await t.step("a rollback through B while A and C are under load: 0 failed requests", async () => {
        const traffic = load([a, c], tab);
        await new Promise((r) => setTimeout(r, 500));
        const r = await b.call("POST", "/admin/plugins/rollback", { revision: 1 });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        revision = r.body.revision;
        const [toA, toC] = await Promise.all([converged(a, revision), converged(c, revision)]);
        const seen = await traffic.stop();
        say(
          `rollback through B: A serving it after ${toA} ms, C after ${toC} ms; ${seen.ok} tab requests on A and C ` +
            `meanwhile, ${seen.failures.length} failed`,
        );
        assert.deepEqual(seen.failures, []);
        for (const replica of [a, b, c]) {
          assert.equal((await replica.call("GET", tab)).body.items[0].key, "VERSION_1_0_0");
        }
      });

      await t.step("concurrent installs through different replicas: both kept, one revision each", async () => {
        const [x, y] = await Promise.all([
          a.call("POST", "/admin/plugins", { specifier: `npm:${left}@1.0.0`, accept_permissions: true }),
          c.call("POST", "/admin/plugins", { specifier: `npm:${right}@1.0.0`, accept_permissions: true }),
        ]);
        assert.equal(x.status, 201, JSON.stringify(x.body));
        assert.equal(y.status, 201, JSON.stringify(y.body));
        assert.deepEqual([x.body.revision, y.body.revision].sort(), [revision + 1, revision + 2]);
        revision += 2;
        // The same package through two replicas at once: one installs it, the other is told it is installed.
        const same = await Promise.all([
          b.call("POST", "/admin/plugins", { specifier: `npm:${late}@1.0.0`, accept_permissions: true }),
          c.call("POST", "/admin/plugins", { specifier: `npm:${late}@1.0.0`, accept_permissions: true }),
        ]);
        assert.deepEqual(same.map((r) => r.status).sort(), [201, 409], JSON.stringify(same.map((r) => r.body)));
        revision += 1;
        await Promise.all([a, b, c].map((replica) => converged(replica, revision)));
        for (const replica of [a, b, c]) {
          const loaded = (await replica.call("GET", "/admin/plugins")).body.items
            .filter((p: { status: string }) => p.status === "loaded").map((p: { name: string }) => p.name).sort();
          assert.deepEqual(loaded, [probe, left, right, late].sort());
        }
        const history = (await b.call("GET", "/admin/plugins/history")).body.items;
        assert.deepEqual(history.map((h: { revision: number }) => h.revision), [6, 5, 4, 3, 2, 1]);
      });

      await t.step("30 concurrent credential patches through three replicas: all 30 fields kept", async () => {
        const path = `/orgs/${ORG}/third-party-services/vendor/applications/default`;
        const results = await Promise.all(
          Array.from(
            { length: 30 },
            (_, i) => [a, b, c][i % 3]!.call("PATCH", path, { credentials: { [`field_${i}`]: `secret-${i}` } }),
          ),
        );
        assert.deepEqual(results.filter((r) => r.status !== 200), []);
        const app = await c.call("GET", path);
        const fields: string[] = app.body.credential_fields;
        for (let i = 0; i < 30; i++) assert.ok(fields.includes(`field_${i}`), `field_${i} lost`);
        assert.ok(fields.includes("token"));
      });

      await t.step("a replica that cannot fetch keeps its revision and says why; it catches up after", async () => {
        // A package C has never fetched, installed through A while C's registry is down.
        flaky.broken = true;
        const r = await a.call("POST", "/admin/plugins", {
          specifier: `npm:${unseen}@1.0.0`,
          accept_permissions: true,
        });
        assert.equal(r.status, 201, JSON.stringify(r.body));
        revision = r.body.revision;
        await converged(b, revision);
        let row: { revision: number; lag: number; error: string | null } | undefined;
        const deadline = Date.now() + 10_000;
        while (Date.now() < deadline) {
          const rows = (await b.call("GET", "/admin/replicas")).body.items;
          row = rows.find((x: { id: string }) => x.id === `c-${run}`);
          if (row?.error) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.ok(row?.error, "C reports its error");
        assert.match(
          row.error,
          new RegExp(`Cannot move to lock revision ${revision}; still serving revision ${revision - 1}`),
        );
        assert.equal(row.lag, 1);
        const ready = (await c.call("GET", "/readyz")).body;
        assert.equal(ready.registry.revision, revision - 1);
        assert.match(ready.replica.error, /still serving/);
        assert.equal((await c.call("GET", tab)).status, 200, "C still serves");
        flaky.broken = false;
        const ms = await converged(c, revision);
        say(`a replica whose registry came back: serving the new revision after ${ms} ms`);
        assert.equal((await c.call("GET", "/readyz")).body.replica.error, null);
      });

      await t.step("the audit log names the replica of each change, never a secret", async () => {
        const records = (await b.call("GET", `/admin/audit?limit=1000`)).body.items as {
          action: string;
          replica: string;
          target: string;
          from: unknown;
          to: unknown;
        }[];
        const of = (action: string, target: string) =>
          records.filter((r) => r.action === action && r.target === target);
        assert.equal(of("package.install", probe)[0]?.replica, `a-${run}`);
        assert.equal(of("package.upgrade", probe)[0]?.replica, `a-${run}`);
        assert.equal(records.find((r) => r.action === "lock.rollback")?.replica, `b-${run}`);
        assert.equal(of("package.install", right)[0]?.replica, `c-${run}`);
        const patches = records.filter((r) => r.action === "application.update" && r.target.startsWith(`${ORG}/`));
        assert.equal(patches.length, 30);
        assert.deepEqual(new Set(patches.map((r) => r.replica)), new Set([`a-${run}`, `b-${run}`, `c-${run}`]));
        const text = JSON.stringify(records);
        for (let i = 0; i < 30; i++) assert.ok(!text.includes(`secret-${i}`), "a credential value in the audit log");
        assert.ok(!text.includes("initial-secret"));
      });

      await t.step(
        "a git-driven deploy beside admin installs: export, edit, import; a stale file is refused",
        async () => {
          const file = `${data}/git/plugins.lock.json`;
          await Deno.mkdir(`${data}/git`, { recursive: true });
          const cli = (...args: string[]) =>
            runTask("plugins", args, {
              ...common,
              IMBI_DATA_DIR: `${data}/git`,
              IMBI_LOCKFILE: file,
              USER: "deployer",
            });
          const exported = await cli("export");
          assert.equal(exported.code, 0, exported.stderr);
          const base = JSON.parse(await Deno.readTextFile(file));
          assert.equal(base.revision, revision);
          // An admin change the file does not know about, then an edit of the file made from the older export.
          const removed = await b.call("DELETE", `/admin/plugins/${left}`);
          assert.equal(removed.status, 200, JSON.stringify(removed.body));
          revision = removed.body.revision;
          const edited = await cli("remove", right);
          assert.equal(edited.code, 0, edited.stderr);
          const stale = await cli("import");
          assert.equal(stale.code, 1, stale.stdout);
          assert.match(stale.stderr, /the store has changes the file lacks/);
          // A serves the admin change once its poll sees it, and nothing after it: the stale file was not imported.
          await converged(a, revision);
          assert.equal((await b.call("GET", "/admin/replicas")).body.revision, revision, "nothing imported");
          // Export again (the admin change comes with it), edit, import: every replica follows.
          assert.equal((await cli("export")).code, 0);
          assert.equal((await cli("remove", right)).code, 0);
          const imported = await cli("import");
          assert.equal(imported.code, 0, imported.stderr);
          revision += 1;
          const times = await Promise.all([a, b, c].map((replica) => converged(replica, revision)));
          say(`an import by the CLI: the replicas serving it after ${times.join(" ms, ")} ms`);
          for (const replica of [a, b, c]) {
            const names = (await replica.call("GET", "/admin/plugins")).body.items.map((p: { name: string }) => p.name);
            assert.ok(!names.includes(left) && !names.includes(right), JSON.stringify(names));
          }
          const [record] = (await a.call("GET", "/admin/audit?action=lock.import")).body.items;
          assert.equal(record.actor, "cli:deployer");
          assert.equal(record.detail.to_revision, revision);
        },
      );

      await t.step("a stopped replica leaves the list", async () => {
        await c.stop();
        replicas.splice(replicas.indexOf(c), 1);
        const ids = (await a.call("GET", "/admin/replicas")).body.items.map((r: { id: string }) => r.id);
        assert.deepEqual(ids, [`a-${run}`, `b-${run}`]);
      });
    } finally {
      await Promise.all(replicas.map((r) => r.stop()));
      await flaky.close();
      await Deno.remove(data, { recursive: true }).catch(() => {});
    }
  },
});
