/**
 * Installing and upgrading through the admin API of `deno task serve` (its
 * real flags), from the in-process JSR registry: the permission preview and
 * `accept_permissions`, and the install-time sandbox refusing a hostile
 * package with the offending import named.
 */
import assert from "node:assert/strict";
import { writeHostilePackage } from "../support/hostile_package.ts";
import { TestJsrRegistry } from "../support/jsr_registry.ts";
import { copyAtVersion } from "../support/package_copy.ts";
import { serveLocked } from "../support/serve_process.ts";
import { ROOT } from "../support/test_app.ts";

const FIXTURES = `${ROOT}tests/fixtures/packages`;
const PKG = "@imbi-test/permissions";

Deno.test("POST and PATCH /admin/plugins need accept_permissions, and show what the package gets", async (t) => {
  await using jsr = TestJsrRegistry.start();
  await using served = await serveLocked([], { prefix: "imbi-permissions-", env: { JSR_URL: jsr.url } });
  const { service, admin, app, work } = served;
  await jsr.publish(PKG, "1.0.0", `${FIXTURES}/permissions`);
  await jsr.publish(PKG, "1.1.0", await copyAtVersion(`${FIXTURES}/permissions`, "1.1.0", `${work}/permissions-1.1.0`));
  const hostile = await writeHostilePackage(work, "environ");
  await jsr.publish(hostile.name, "1.0.0", hostile.dir);
  /** What the service has locked: the installed version of the package and the lock revision. */
  const locked = async () => {
    const registry = await app.ok("GET", "/admin/plugins");
    const pkg = registry.items.find((p: { name: string }) => p.name === PKG);
    return { version: pkg?.version ?? null, revision: registry.revision };
  };
  await t.step("without accept_permissions: 422 with the preview, and the lock state unchanged", async () => {
    const before = await locked();
    const r = await app.request("POST", "/admin/plugins", { body: { specifier: `jsr:${PKG}@1.0.0` } });
    assert.equal(r.status, 422, r.text);
    assert.equal(r.headers.get("content-type"), "application/problem+json");
    assert.equal(r.body.type, "https://imbi.dev/problems/package-permissions-not-accepted");
    assert.equal(r.body.errors[0].pointer, "/accept_permissions");
    assert.deepEqual(r.body.permissions, {
      package: PKG,
      version: "1.0.0",
      entries: [{
        slug: "permissions",
        plugin_type: "logs",
        api_version: "^1.0.0",
        network_hosts: [
          { declared: "api.example.com", resolved: "api.example.com:443", egress: "allowed" },
          { declared: "{endpoint}", resolved: null, egress: "checked when a Plugin node is written" },
        ],
        credentials: [{ name: "token", secret: true, required: true }],
      }],
    });
    assert.deepEqual(await locked(), before);
    assert.equal(before.version, null);
  });

  await t.step("with accept_permissions: true, 201 with the permissions accepted", async () => {
    const r = await app.request("POST", "/admin/plugins", {
      body: { specifier: `jsr:${PKG}@1.0.0`, accept_permissions: true },
    });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.package.status, "loaded");
    assert.equal(r.body.permissions.entries[0].credentials[0].name, "token");
  });

  await t.step("an upgrade lists what is new, denied hosts marked, and needs acceptance too", async () => {
    const r = await app.request("PATCH", `/admin/plugins/${PKG}`, { body: { version: "1.1.0" } });
    assert.equal(r.status, 422, r.text);
    assert.deepEqual(r.body.permissions.added, {
      network_hosts: ["permissions: 169.254.169.254:80"],
      credentials: ["permissions: account"],
    });
    const metadata = r.body.permissions.entries[0].network_hosts[2];
    assert.equal(metadata.resolved, "169.254.169.254:80");
    assert.match(metadata.egress, /^denied: is denied by default: "169\.254\.169\.254"/);
    assert.equal((await locked()).version, "1.0.0", "nothing changed");
    const accepted = await app.request("PATCH", `/admin/plugins/${PKG}`, {
      body: { version: "1.1.0", accept_permissions: true },
    });
    assert.equal(accepted.status, 200, accepted.text);
    assert.equal(accepted.body.to, "1.1.0");
    assert.equal((await locked()).version, "1.1.0");
  });

  await t.step("a package importing /proc/self/environ is refused before bundling, naming the import", async () => {
    const r = await app.request("POST", "/admin/plugins", {
      body: { specifier: "jsr:@imbi-test/hostile-environ@1", accept_permissions: true },
    });
    assert.equal(r.status, 422, r.text);
    assert.equal(r.body.type, "https://imbi.dev/problems/package-refused");
    assert.match(
      r.body.detail,
      /^Refusing jsr:@imbi-test\/hostile-environ@1\.0\.0: mod\.ts imports "\/proc\/self\/environ", which is outside the package/,
    );
    assert.ok(!r.text.includes(admin), "the admin token is not in the answer");
    assert.ok(!service.lines.some((l) => l.includes(admin)), "nor in the log");
    assert.deepEqual(
      [...Deno.readDirSync(`${work}/data/packages`)].map((e) => e.name).filter((n) => n.includes("hostile")),
      [],
    );
  });
});
