/**
 * The service as operators run it: `./bin/deno task serve`, with the task's
 * own permission flags, as a child process. Its npm dependencies must not
 * come from NPM_CONFIG_REGISTRY (here a closed port, as a registry holding
 * only plugin packages would be for them); plugin packages come from
 * IMBI_NPM_REGISTRY, a registry that demands a token read from IMBI_NPMRC;
 * secret options and the registry token never reach a response, the log or
 * the database file.
 */
import assert from "node:assert/strict";
import { publishFixture } from "./support/npm_publish.ts";
import { serveLocked } from "./support/serve_process.ts";
import { makeSecret, scanForSecrets } from "./support/secret_scan.ts";
import { serviceUrl } from "./support/services.ts";
import { startTokenRegistry } from "./support/token_registry.ts";
import { CLOSED } from "./support/local.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const NPM = serviceUrl("IMBI_TEST_NPM_REGISTRY");

Deno.test({
  name: "deno task serve starts whatever NPM_CONFIG_REGISTRY says, and installs plugins from IMBI_NPM_REGISTRY",
  ignore: !NPM,
  async fn(t) {
    const work = await Deno.makeTempDir({ prefix: "imbi-serve-" });
    const name = `@imbi-test/private-serve-${crypto.randomUUID().slice(0, 8)}`;
    await publishFixture(NPM!, `${ROOT}tests/fixtures/packages/npm-good`, { name, version: "1.0.0" });
    const registryToken = makeSecret("serve-registry-token");
    await using registry = startTokenRegistry(NPM!, { token: registryToken });
    await Deno.writeTextFile(
      `${work}/.npmrc`,
      `${registry.url.replace("http:", "")}:_authToken=\${PLUGIN_NPM_TOKEN}\n`,
    );
    const tabFeatures = { name: "@imbi-test/tab-features", dir: `${ROOT}tests/fixtures/tab-features` };
    const read = `read-${crypto.randomUUID()}`;
    await using served = await serveLocked(
      [{ ...tabFeatures, entryPoints: ["secret-options", "plain-logs", "claims-histogram"] }],
      {
        work,
        env: {
          NPM_CONFIG_REGISTRY: CLOSED,
          IMBI_NPM_REGISTRY: registry.url,
          IMBI_NPMRC: `${work}/.npmrc`,
          PLUGIN_NPM_TOKEN: registryToken,
          IMBI_READ_TOKENS: read,
          IMBI_LOG_LEVEL: "debug",
        },
      },
    );
    const { service, admin, app } = served;
    const call = (method: string, path: string, body?: unknown, token = admin) =>
      app.request(method, path, { body, token });
    const optionSecret = makeSecret("serve-option");
    try {
      await t.step("it started from its own cached dependencies with NPM_CONFIG_REGISTRY closed", async () => {
        assert.equal((await call("GET", "/healthz")).status, 200);
        assert.ok(!service.lines.some((l) => l.includes("127.0.0.1:9")), service.lines.join("\n"));
      });

      await t.step("it installs a package from IMBI_NPM_REGISTRY with the token IMBI_NPMRC names", async () => {
        const r = await call("POST", "/admin/plugins", { specifier: `npm:${name}@^1`, accept_permissions: true });
        assert.equal(r.status, 201, r.text);
        const own = registry.requests.filter((q) => decodeURIComponent(q.path).includes(name.slice(1)));
        assert.ok(own.length >= 2 && own.every((q) => q.authorized), JSON.stringify(own));
        const plugins = await call("GET", "/admin/plugins");
        const installed = plugins.body.items.find((p: { name: string }) => p.name === name);
        assert.equal(installed?.status, "loaded", plugins.text);
      });

      await t.step(
        "a secret option is never shown, is given to the plugin, and its values are masked for reads",
        async () => {
          assert.equal((await call("POST", "/orgs", { slug: "acme", name: "Acme" })).status, 201);
          assert.equal((await call("POST", "/orgs/acme/projects", { slug: "web", name: "Web" })).status, 201);
          const services = "/orgs/acme/third-party-services";
          assert.equal((await call("POST", services, { slug: "vendor", name: "Vendor" })).status, 201);
          const node = await call("POST", `${services}/vendor/plugins`, {
            slug: "secrets",
            plugin: "secret-options",
            label: "Secrets",
            options: { token: optionSecret },
          });
          assert.equal(node.status, 201, node.text);
          assert.deepEqual(node.body.options.token, { set: true });
          const bound = await call("PUT", "/orgs/acme/projects/web/plugins", {
            bindings: [{ plugin_id: node.body.id, tab: "configuration", default: true }],
          });
          assert.equal(bound.status, 200, bound.text);
          assert.equal((await call("GET", "/orgs/acme/projects/web/configuration")).status, 200);
          const values = await call("POST", "/orgs/acme/projects/web/configuration/values", {});
          const byKey = Object.fromEntries(
            values.body.items.map((i: { key: string; value: string }) => [i.key, i.value]),
          );
          assert.equal(byKey.TOKEN_REVERSED, [...optionSecret].reverse().join(""));
          assert.equal(byKey.TOKEN, "[redacted]");
          assert.equal(byKey.DB_PASSWORD, "db-password-value");
          const masked = await call("POST", "/orgs/acme/projects/web/configuration/values", {}, read);
          const readByKey = Object.fromEntries(
            masked.body.items.map((i: { key: string; value: string }) => [i.key, i.value]),
          );
          assert.equal(readByKey.DB_PASSWORD, "********");
        },
      );
    } finally {
      const status = await service.stop();
      assert.equal(status.code, 0, service.lines.slice(-20).join("\n"));
    }

    await t.step(
      "the log holds neither the registry token nor the secret option, and the plugin's stderr was scrubbed",
      () => {
        for (const line of service.lines) scanForSecrets(line, "a line of the service log");
        assert.ok(
          service.lines.some((l) => l.includes("listing keys with token [redacted]")),
          "the stderr line was logged",
        );
      },
    );

    await t.step("the database file holds the secret option only encrypted", async () => {
      const bytes = new TextDecoder("latin1").decode(await Deno.readFile(`${work}/data/graph.sqlite`));
      assert.ok(!bytes.includes(optionSecret));
      assert.match(bytes, /"token":"v1\.[A-Za-z0-9_-]+\./);
    });
  },
});

Deno.test({
  name:
    "deno task serve takes an operator's NPM_CONFIG_REGISTRY as the plugin registry, never for its own dependencies",
  ignore: !NPM,
  async fn() {
    const work = await Deno.makeTempDir({ prefix: "imbi-serve-default-" });
    const name = `@imbi-test/private-default-${crypto.randomUUID().slice(0, 8)}`;
    await publishFixture(NPM!, `${ROOT}tests/fixtures/packages/npm-good`, { name, version: "1.0.0" });
    const token = makeSecret("serve-default-token");
    await using registry = startTokenRegistry(NPM!, { token });
    await Deno.writeTextFile(`${work}/.npmrc`, `${registry.url.replace("http:", "")}:_authToken=${token}\n`);
    await using served = await serveLocked([], {
      work,
      env: { NPM_CONFIG_REGISTRY: registry.url, IMBI_NPMRC: `${work}/.npmrc` },
      unset: ["IMBI_NPM_REGISTRY"],
    });
    const { service, app } = served;
    try {
      const r = await app.request("POST", "/admin/plugins", {
        body: { specifier: `npm:${name}@^1`, accept_permissions: true },
      });
      assert.equal(r.status, 201, r.text);
      const paths = registry.requests.map((r) => decodeURIComponent(r.path));
      assert.ok(paths.some((p) => p.includes(name.slice(1))), "the package came from NPM_CONFIG_REGISTRY");
      assert.ok(!paths.some((p) => /^\/(hono|ajv|semver|neo4j-driver)\b/.test(p)), paths.join("\n"));
    } finally {
      await service.stop();
    }
    for (const line of service.lines) scanForSecrets(line, "a line of the service log");
  },
});
