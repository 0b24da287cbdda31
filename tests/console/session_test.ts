/**
 * The console's session cookie and form checks, in process with a fake
 * clock: expiry, tampering, a cross-site post, and a read session's write
 * refused by the API and shown in place. Also the schema form's read-back.
 */
import assert from "node:assert/strict";
import { readSchemaForm } from "../../routes/ui/_schema_form.tsx";
import { seedWalkthrough } from "../support/seed.ts";
import { startTestApp } from "../support/test_app.ts";

const ORIGIN = "http://localhost";

async function signIn(app: Awaited<ReturnType<typeof startTestApp>>, token: string): Promise<string> {
  const response = await app.hono.request(`${ORIGIN}/ui/sign-in`, {
    method: "POST",
    headers: { origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token }),
  });
  assert.equal(response.status, 303);
  const cookie = response.headers.get("set-cookie")!;
  assert.match(cookie, /^imbi_session=v1\.[^;]+; Max-Age=28800; Path=\/ui; HttpOnly; SameSite=Strict$/);
  return cookie.split(";")[0]!;
}

Deno.test("console session: expiry by the clock, tampering, CSRF, a read session's write", async (t) => {
  let now = new Date("2026-01-01T00:00:00Z");
  await using app = await startTestApp({ clock: () => now });
  const get = (path: string, cookie: string) => app.hono.request(`${ORIGIN}${path}`, { headers: { cookie } });

  await t.step("a session opens pages until it expires", async () => {
    const cookie = await signIn(app, app.adminToken);
    assert.equal((await get("/ui/plugins", cookie)).status, 200);
    now = new Date(now.getTime() + 8 * 3600_000 - 1000);
    assert.equal((await get("/ui/plugins", cookie)).status, 200);
    now = new Date(now.getTime() + 2000);
    const expired = await get("/ui/plugins", cookie);
    assert.equal(expired.status, 303);
    assert.equal(expired.headers.get("location"), "/ui/");
  });

  await t.step("a tampered or foreign cookie is no session", async () => {
    const cookie = await signIn(app, app.adminToken);
    const tampered = cookie.slice(0, -4) + (cookie.endsWith("AAAA") ? "BBBB" : "AAAA");
    assert.equal((await get("/ui/plugins", tampered)).status, 303);
    assert.equal((await get("/ui/plugins", "imbi_session=v1.k1.x.y")).status, 303);
  });

  await t.step("a post needs this origin and the session's CSRF token", async () => {
    const cookie = await signIn(app, app.adminToken);
    const page = await (await get("/ui/plugins", cookie)).text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)![1]!;
    const post = (origin: string, body: Record<string, string>) =>
      app.hono.request(`${ORIGIN}/ui/orgs`, {
        method: "POST",
        headers: { cookie, origin, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(body),
      });
    assert.equal((await post("https://evil.example", { _csrf: csrf, "/slug": "x1", "/name": "X" })).status, 403);
    assert.equal((await post(ORIGIN, { _csrf: "guess", "/slug": "x1", "/name": "X" })).status, 403);
    assert.equal((await post(ORIGIN, { _csrf: csrf, "/slug": "x1", "/name": "X" })).status, 303);
    assert.equal((await app.request("GET", "/orgs/x1")).status, 200);
  });

  await t.step("a read session gets every page, with no write form but sign-out", async () => {
    const seed = await seedWalkthrough(app, { org: "walk" });
    const cookie = await signIn(app, app.readToken);
    for (
      const path of [
        "/ui/plugins",
        "/ui/services",
        `/ui/orgs/walk/services/${seed.service}`,
        `/ui/orgs/walk/services/${seed.service}/plugins/config`,
        "/ui/projects",
        `/ui/orgs/walk/project-types/${seed.projectType}`,
        `/ui/orgs/walk/projects/${seed.projectSlug}/bindings`,
        `/ui/orgs/walk/projects/${seed.projectSlug}`,
        `/ui/orgs/walk/projects/${seed.projectSlug}?tab=logs`,
        "/ui/audit",
      ]
    ) {
      const response = await get(path, cookie);
      const html = await response.text();
      assert.equal(response.status, 200, `${path}: ${html.slice(0, 300)}`);
      const posts = [...html.matchAll(/<form method="post" action="([^"]+)"/g)].map((m) => m[1]);
      assert.deepEqual(posts, ["/ui/sign-out"], `${path} has write forms`);
      assert.ok(!html.includes(seed.secret), `${path} shows a credential`);
    }
  });

  await t.step("a read session's write is refused by the API and shown in place", async () => {
    const cookie = await signIn(app, app.readToken);
    const page = await (await get("/ui/projects", cookie)).text();
    assert.ok(!page.includes("Add organization"), "no write control");
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)![1]!;
    const response = await app.hono.request(`${ORIGIN}/ui/orgs`, {
      method: "POST",
      headers: { cookie, origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ _csrf: csrf, "/slug": "x2", "/name": "X" }),
    });
    assert.equal(response.status, 403);
    assert.match(await response.text(), /role="alert".*This token may only read/s);
  });
});

Deno.test("readSchemaForm() reads every kind of field back into JSON", () => {
  const form = new FormData();
  form.set("/options/name", "svc");
  form.set("/options/mode", '"fast"');
  form.set("/options/count", "3");
  form.set("/options/flag", "true");
  form.set("/options/tags", "a\n b \n\n");
  form.set("/options/map", "A=1\nB=two=2");
  form.set("/options/nested/inner", "x");
  form.set("/options/extra", "{bad json");
  form.append("/options/kinds", "x");
  form.append("/options/kinds", "z");
  const { value, errors } = readSchemaForm(
    {
      type: "object",
      properties: {
        name: { type: "string" },
        mode: { type: "string", enum: ["fast", "safe"] },
        count: { type: "integer" },
        flag: { type: "boolean" },
        off: { type: "boolean" },
        tags: { type: "array", items: { type: "string" } },
        map: { type: "object", additionalProperties: { type: "string" } },
        nested: { type: "object", properties: { inner: { type: "string" } } },
        kinds: { type: "array", items: { enum: ["x", "y", "z"] } },
        secret: { type: "string", writeOnly: true },
        extra: {},
      },
    },
    form,
    "/options",
  );
  assert.deepEqual(value, {
    name: "svc",
    mode: "fast",
    count: 3,
    flag: true,
    off: false,
    tags: ["a", "b"],
    map: { A: "1", B: "two=2" },
    nested: { inner: "x" },
    kinds: ["x", "z"],
  });
  assert.deepEqual(errors, [{ pointer: "/options/extra", message: "must be valid JSON" }]);
});
