import assert from "node:assert/strict";
import { optionContext } from "../../core/credentials.ts";
import { makeSecret } from "../support/secret_scan.ts";
import { seedWalkthrough } from "../support/seed.ts";
import { DEMO_PACKAGES, type LocalPackage, ROOT, startTestApp, type TestApp } from "../support/test_app.ts";

/** A fixture configuration plugin whose `token` credential is required; it echoes a digest of it. */
const ECHO: LocalPackage = {
  name: "@imbi-test/echo-credentials",
  dir: `${ROOT}tests/fixtures/packages/echo-credentials`,
  entryPoints: ["echo-credentials"],
};

const STRONG_ETAG = /^"[A-Za-z0-9_-]{22}"$/;

/** A graph resource of the walk-through: its path, and the body of a write that makes state `i`. */
interface Resource {
  path: string;
  method: "PATCH" | "PUT";
  body(i: number): unknown;
}

async function walkthroughResources(app: TestApp): Promise<Resource[]> {
  const seeded = await seedWalkthrough(app);
  const org = `/orgs/${seeded.org}`;
  const svc = `${org}/third-party-services/demo`;
  const bindings = `${org}/project-types/http-api/plugins`;
  const current = (await app.ok("GET", bindings)).bindings as { search_template: string }[];
  return [
    { path: org, method: "PATCH", body: (i) => ({ name: `Acme ${i}` }) },
    { path: `${org}/project-types/http-api`, method: "PATCH", body: (i) => ({ name: `HTTP API ${i}` }) },
    { path: `${org}/projects/web`, method: "PATCH", body: (i) => ({ name: `Web ${i}` }) },
    { path: svc, method: "PATCH", body: (i) => ({ region: `region-${i}` }) },
    { path: `${svc}/applications/default`, method: "PATCH", body: (i) => ({ credentials: { extra: `x-${i}` } }) },
    { path: `${svc}/plugins/config`, method: "PATCH", body: (i) => ({ label: `Config ${i}` }) },
    {
      path: bindings,
      method: "PUT",
      body: (i) => ({ bindings: current.map((b) => ({ ...b, search_template: `tpl-${i}` })) }),
    },
  ];
}

function assertProblem(r: { status: number; headers: Headers; body: { type: string } }, status: number): void {
  assert.equal(r.status, status);
  assert.equal(r.headers.get("content-type"), "application/problem+json");
  if (status === 412) assert.equal(r.body.type, "https://imbi.dev/problems/precondition-failed");
}

Deno.test("ETag and If-Match on every graph resource", async (t) => {
  await using app = await startTestApp();
  const resources = await walkthroughResources(app);
  const etag = async (path: string) => (await app.request("GET", path)).headers.get("etag")!;

  await t.step("reads and writes answer a strong ETag; a write's is the one the next read answers", async () => {
    for (const r of resources) {
      assert.match(await etag(r.path), STRONG_ETAG, r.path);
      const written = await app.request(r.method, r.path, { body: r.body(1) });
      assert.equal(written.status, 200, written.text);
      assert.match(written.headers.get("etag") ?? "", STRONG_ETAG, r.path);
      assert.equal(written.headers.get("etag"), await etag(r.path), r.path);
    }
    const created = await app.request("POST", "/orgs", { body: { slug: "fresh", name: "Fresh" } });
    assert.equal(created.headers.get("etag"), await etag("/orgs/fresh"));
  });

  await t.step("a stale If-Match is 412 problem+json and changes nothing", async () => {
    for (const r of resources) {
      const stale = await etag(r.path);
      await app.ok(r.method, r.path, { body: r.body(2) });
      const current = await etag(r.path);
      const refused = await app.request(r.method, r.path, { body: r.body(3), headers: { "if-match": stale } });
      assertProblem(refused, 412);
      assert.match(refused.body.detail, /has changed since it was read/);
      assert.equal(await etag(r.path), current, `${r.path} is unchanged`);
    }
  });

  await t.step("the current ETag (in a list, or *) lets the write through", async () => {
    for (const r of resources) {
      const current = await etag(r.path);
      const written = await app.request(r.method, r.path, {
        body: r.body(4),
        headers: { "if-match": `"stale-one", ${current}` },
      });
      assert.equal(written.status, 200, `${r.path}: ${written.text}`);
      const anyState = await app.request(r.method, r.path, { body: r.body(5), headers: { "if-match": "*" } });
      assert.equal(anyState.status, 200, `${r.path}: ${anyState.text}`);
    }
  });

  await t.step("a weak tag never matches: If-Match compares strongly", async () => {
    const r = resources[0]!;
    const weak = await app.request(r.method, r.path, {
      body: r.body(6),
      headers: { "if-match": `W/${await etag(r.path)}` },
    });
    assertProblem(weak, 412);
  });

  await t.step("DELETE with a stale If-Match is 412 and keeps it; with the current one it deletes", async () => {
    const stale = await etag("/orgs/fresh");
    await app.ok("PATCH", "/orgs/fresh", { body: { name: "Fresher" } });
    assertProblem(await app.request("DELETE", "/orgs/fresh", { headers: { "if-match": stale } }), 412);
    assert.equal((await app.request("GET", "/orgs/fresh")).status, 200);
    const gone = await app.request("DELETE", "/orgs/fresh", { headers: { "if-match": await etag("/orgs/fresh") } });
    assert.equal(gone.status, 204);
  });

  await t.step("a malformed If-Match is 400 naming the header", async () => {
    const r = resources[0]!;
    for (const value of ["abc", '"a" "b"', "W/abc", '"a", *']) {
      const bad = await app.request(r.method, r.path, { body: r.body(7), headers: { "if-match": value } });
      assertProblem(bad, 400);
      assert.equal(bad.body.errors[0].pointer, "/headers/if-match", value);
    }
  });

  await t.step("If-Match on a missing resource is 404", async () => {
    const r = await app.request("PATCH", "/orgs/ghost", { body: { name: "G" }, headers: { "if-match": '"x"' } });
    assertProblem(r, 404);
  });
});

Deno.test("PATCH /orgs/{org}/third-party-services/{svc}/applications/{app}", async (t) => {
  await using app = await startTestApp({ packages: [...DEMO_PACKAGES, ECHO] });
  const { org } = await seedWalkthrough(app);
  const svc = `/orgs/${org}/third-party-services/demo`;
  const application = `${svc}/applications/default`;

  await t.step(
    "30 concurrent PATCHes, each setting a different credential field: all 200, every field kept",
    async () => {
      const fields = Array.from({ length: 30 }, (_, i) => `field_${String(i).padStart(2, "0")}`);
      const answers = await Promise.all(
        fields.map((field) =>
          app.request("PATCH", application, { body: { credentials: { [field]: `value-${field}` } } })
        ),
      );
      assert.deepEqual(answers.map((r) => r.status), fields.map(() => 200));
      const stored = await app.ok("GET", application);
      assert.deepEqual(stored.credential_fields, [...fields, "token"]);
    },
  );

  await t.step("a change that leaves a Plugin node without a required field is 422 and writes nothing", async () => {
    await app.ok("POST", `${svc}/plugins`, { body: { slug: "echo", plugin: "echo-credentials", label: "Echo" } });
    const before = await app.request("GET", application);
    const r = await app.request("PATCH", application, { body: { credentials: { token: null, field_00: null } } });
    assertProblem(r, 422);
    assert.equal(r.body.errors[0].pointer, "/credentials");
    assert.match(r.body.errors[0].message, /Plugin "echo" \(echo-credentials\) needs "token"/);
    assert.equal((await app.request("GET", application)).headers.get("etag"), before.headers.get("etag"));
  });
});

Deno.test("PATCH /orgs/{org}/third-party-services/{svc}/plugins/{plugin}", async (t) => {
  await using app = await startTestApp({ packages: [...DEMO_PACKAGES, ECHO] });
  const { org } = await seedWalkthrough(app);
  const svc = `/orgs/${org}/third-party-services/demo`;

  await t.step("concurrent PATCHes of label, options and enabled all survive", async () => {
    const node = `${svc}/plugins/config`;
    const answers = await Promise.all([
      app.request("PATCH", node, { body: { label: "Relabelled" } }),
      app.request("PATCH", node, { body: { options: { seed: { A: "1" } } } }),
      app.request("PATCH", node, { body: { enabled: false } }),
    ]);
    assert.deepEqual(answers.map((r) => r.status), [200, 200, 200]);
    const stored = await app.ok("GET", node);
    assert.deepEqual([stored.label, stored.options.seed, stored.enabled], ["Relabelled", { A: "1" }, false]);
  });

  await t.step("moving a node to an application that lacks its required fields is 422", async () => {
    await app.ok("POST", `${svc}/applications`, { body: { slug: "empty", name: "Empty", credentials: {} } });
    await app.ok("POST", `${svc}/plugins`, {
      body: { slug: "echo", plugin: "echo-credentials", label: "Echo", application: "default" },
    });
    const r = await app.request("PATCH", `${svc}/plugins/echo`, { body: { application: "empty" } });
    assertProblem(r, 422);
    assert.equal(r.body.errors[0].pointer, "/application");
    assert.equal((await app.ok("GET", `${svc}/plugins/echo`)).application, "default");
  });
});

Deno.test("PATCH .../plugins/{plugin} of a node with a secret option", async (t) => {
  const features: LocalPackage = {
    name: "@imbi-test/tab-features",
    dir: `${ROOT}tests/fixtures/tab-features`,
    entryPoints: ["secret-options", "plain-logs", "claims-histogram"],
  };
  await using app = await startTestApp({ packages: [features] });
  await app.ok("POST", "/orgs", { body: { slug: "acme", name: "Acme" } });
  await app.ok("POST", "/orgs/acme/third-party-services", { body: { slug: "vendor", name: "Vendor" } });
  const node = `/orgs/acme/third-party-services/vendor/plugins/secret`;
  const created = await app.ok("POST", "/orgs/acme/third-party-services/vendor/plugins", {
    body: { slug: "secret", plugin: "secret-options", label: "S", options: { token: makeSecret("first-token") } },
  });
  const keyring = app.services.directory.keyring;
  const storedToken = async () =>
    await keyring.decrypt(
      (await app.services.store.getPlugin("acme", "vendor", created.id)).options.token as string,
      optionContext("acme", "vendor", created.id, "token"),
    );

  await t.step("a secret written while another PATCH leaves it out is never reverted", async () => {
    for (let round = 0; round < 5; round++) {
      const token = makeSecret(`token-${round}`);
      const answers = await Promise.all([
        app.request("PATCH", node, { body: { options: { token } } }),
        app.request("PATCH", node, { body: { options: { region: `region-${round}` } } }),
      ]);
      assert.deepEqual(answers.map((r) => r.status), [200, 200]);
      assert.equal(await storedToken(), token, `round ${round}`);
    }
  });
});
