/**
 * RegistryClient against loopback servers that fail, stall and demand
 * tokens; and the package store against a private registry (the test
 * Verdaccio behind a front that demands a token).
 */
import assert from "node:assert/strict";
import { PackageError } from "../../core/errors.ts";
import { parseNpmrc } from "../../core/packages/npmrc.ts";
import { RegistryClient } from "../../core/packages/registry_client.ts";
import { PackageStore } from "../../core/packages/store.ts";
import { installLogScanner, makeSecret } from "../support/secret_scan.ts";
import { serviceUrl } from "../support/services.ts";
import { startTokenRegistry } from "../support/token_registry.ts";
import { TestJsrRegistry } from "../support/jsr_registry.ts";
import { FIXTURES, publishGoodWithHelper, tempDir } from "./_helpers.ts";

installLogScanner(); // retries are logged: every line is scanned for the tokens below

/** A loopback server answering each request with the next of `answers` (the last one repeats). */
function serve(answers: ((request: Request) => Response | Promise<Response>)[]) {
  const seen: { authorization: string | null }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    seen.push({ authorization: request.headers.get("authorization") });
    return answers[Math.min(seen.length, answers.length) - 1]!(request);
  });
  const url = `http://127.0.0.1:${server.addr.port}/`;
  return { url, seen, [Symbol.asyncDispose]: () => server.shutdown() };
}

const GET = { label: "npm:probe", registry: "the test registry" };

function recordingClient(options: ConstructorParameters<typeof RegistryClient>[0] = {}) {
  const sleeps: number[] = [];
  const client = new RegistryClient({ ...options, sleep: (ms) => (sleeps.push(ms), Promise.resolve()) });
  return { client, sleeps };
}

Deno.test("RegistryClient.get() retries 5xx and 429 with back-off, honouring Retry-After, then answers", async () => {
  await using server = serve([
    () => new Response("down", { status: 503 }),
    () => new Response("slow down", { status: 429, headers: { "retry-after": "2" } }),
    () => Response.json({ ok: true }),
  ]);
  const { client, sleeps } = recordingClient({ retries: 2, backoffMs: 100 });
  const res = await client.get(server.url, GET);
  assert.equal(res.status, 200);
  assert.deepEqual(JSON.parse(new TextDecoder().decode(res.bytes)), { ok: true });
  assert.equal(server.seen.length, 3);
  assert.ok(sleeps[0]! >= 50 && sleeps[0]! <= 100, `first back-off ${sleeps[0]}`);
  assert.equal(sleeps[1], 2000);
});

Deno.test("RegistryClient.get() gives up after the bounded retries, saying how often it tried", async () => {
  await using server = serve([() => new Response("down", { status: 502 })]);
  const { client, sleeps } = recordingClient({ retries: 2 });
  await assert.rejects(client.get(server.url, GET), (e: unknown) => {
    assert.ok(e instanceof PackageError && e.kind === "registry");
    assert.match(
      e.message,
      /^Cannot reach the test registry for npm:probe \(http:.*\): the registry answered 502 \(3 attempts\)$/,
    );
    return true;
  });
  assert.equal(server.seen.length, 3);
  assert.equal(sleeps.length, 2);
});

Deno.test("RegistryClient.get() does not retry a 404: the caller words it", async () => {
  await using server = serve([() => new Response("no such package", { status: 404 })]);
  const { client, sleeps } = recordingClient();
  assert.equal((await client.get(server.url, GET)).status, 404);
  assert.equal(server.seen.length, 1);
  assert.deepEqual(sleeps, []);
});

Deno.test("RegistryClient.get() has a deadline per attempt that covers a stalled body", async () => {
  const never = Promise.withResolvers<void>();
  await using server = serve([() =>
    new Response(
      new ReadableStream({
        async start(controller) {
          controller.enqueue(new TextEncoder().encode('{"partial":'));
          await never.promise;
          controller.close();
        },
      }),
    )]);
  const { client } = recordingClient({ retries: 1, timeoutMs: 200 });
  try {
    await assert.rejects(client.get(server.url, GET), /no answer within 200 ms \(2 attempts\)/);
  } finally {
    never.resolve();
  }
});

Deno.test("RegistryClient.get() sends a registry's credential to that registry only, and never shows it", async () => {
  const token = makeSecret("registry-token");
  await using registry = serve([() => new Response("{}")]);
  await using cdn = serve([() => new Response("{}")]);
  const auth = parseNpmrc(`${registry.url.replace("http:", "")}:_authToken=\${TOKEN}`, { TOKEN: token });
  const { client } = recordingClient({ auth });
  await client.get(`${registry.url}pkg`, GET);
  await client.get(`${cdn.url}pkg/-/pkg-1.0.0.tgz`, GET);
  assert.equal(registry.seen[0]!.authorization, `Bearer ${token}`);
  assert.equal(cdn.seen[0]!.authorization, null);
});

Deno.test("RegistryClient.get() says which credential a 401 or 403 needs, without retrying", async () => {
  await using server = serve([() => new Response("unauthorized", { status: 401 })]);
  const { client } = recordingClient();
  const key = server.url.replace("http:", "");
  await assert.rejects(client.get(`${server.url}pkg`, GET), (e: Error) => {
    assert.match(e.message, new RegExp(`add ${key}:_authToken=\\.\\.\\. to the \\.npmrc IMBI_NPMRC names`));
    return true;
  });
  const token = makeSecret("rejected-token");
  const withToken = recordingClient({ auth: parseNpmrc(`${key}:_authToken=${token}`, {}) }).client;
  await assert.rejects(withToken.get(`${server.url}pkg`, GET), (e: Error) => {
    assert.match(e.message, new RegExp(`the credential for ${key} in IMBI_NPMRC was not accepted`));
    assert.doesNotMatch(e.message, new RegExp(token));
    return true;
  });
  assert.equal(server.seen.length, 2);
});

Deno.test("RegistryClient.get() refuses a body larger than the limit", async () => {
  await using server = serve([() => new Response("x".repeat(5000))]);
  const { client } = recordingClient();
  await assert.rejects(client.get(server.url, { ...GET, maxBytes: 1000 }), {
    name: "PackageError",
    kind: "refused",
    message: "Refusing npm:probe: the download is larger than 1000 bytes",
  });
});

const NPM = serviceUrl("IMBI_TEST_NPM_REGISTRY");

Deno.test({
  name: "PackageStore installs from a registry that demands a token, with the token from IMBI_NPMRC",
  ignore: !NPM,
  async fn() {
    // Its dependency is private too: `deno bundle` must fetch it with the token.
    const { name, helper } = await publishGoodWithHelper(NPM!, "private");
    const token = makeSecret("private-registry");
    await using registry = startTokenRegistry(NPM!, { token });
    await using data = await tempDir("imbi-private-");

    const anonymous = new PackageStore(data.path, { npmRegistry: registry.url, minPackageAgeMs: 0 });
    await assert.rejects(anonymous.resolve(`npm:${name}@^1`), (e: unknown) => {
      assert.ok(e instanceof PackageError && e.kind === "registry");
      assert.match(
        e.message,
        /refused npm:.*\(401 for .*\): it needs a credential: add \/\/127\.0\.0\.1:\d+\/:_authToken/,
      );
      return true;
    });

    const npmrc = `${registry.url.replace("http:", "")}:_authToken=\${PRIVATE_NPM_TOKEN}`;
    const auth = parseNpmrc(npmrc, { PRIVATE_NPM_TOKEN: token });
    const store = new PackageStore(data.path, { npmRegistry: registry.url, minPackageAgeMs: 0, registry: { auth } });
    const stored = await store.fetch(await store.resolve(`npm:${name}@^1`));
    assert.equal(stored.version, "1.0.0");
    const own = registry.requests.filter((r) => decodeURIComponent(r.path).includes(name.slice(1)));
    assert.ok(own.some((r) => r.path.endsWith(".tgz") && r.authorized), "the tarball was fetched with the token");
    assert.ok(own.filter((r) => !r.authorized).length === 1, "only the anonymous attempt went without it");
    const bundled = registry.requests.filter((r) => decodeURIComponent(r.path).includes(helper.slice(1)));
    assert.ok(bundled.length > 0 && bundled.every((r) => r.authorized), "the bundler fetched the dependency with it");
    assert.match(await Deno.readTextFile(stored.bundlePath), /hello from helper/);

    await using small = await tempDir("imbi-private-small-");
    const limited = new PackageStore(small.path, {
      npmRegistry: registry.url,
      minPackageAgeMs: 0,
      registry: { auth },
      limits: { maxBytes: 1024 * 1024, maxFiles: 1 },
    });
    await assert.rejects(limited.fetch(await limited.resolve(`npm:${name}@1.0.0`)), {
      name: "PackageError",
      kind: "refused",
      message: `Refusing npm:${name}@1.0.0: it holds more than 1 files (IMBI_PACKAGE_MAX_FILES)`,
    });
  },
});

Deno.test("PackageStore refuses a JSR version over the size or file limits before downloading its files", async () => {
  await using jsr = TestJsrRegistry.start();
  await jsr.publish("@imbi-test/jsr-good", "1.0.0", `${FIXTURES}/packages/jsr-good`);
  await using data = await tempDir("imbi-jsr-limits-");
  for (
    const [limits, message] of [
      [{ maxBytes: 1024 * 1024, maxFiles: 1 }, /it holds more than 1 files \(IMBI_PACKAGE_MAX_FILES/],
      [{ maxBytes: 10, maxFiles: 100 }, /it unpacks to more than 10 bytes/],
    ] as const
  ) {
    const store = new PackageStore(data.path, { jsrUrl: jsr.url, minPackageAgeMs: 0, limits });
    await assert.rejects(store.fetch(await store.resolve("jsr:@imbi-test/jsr-good@1")), (e: unknown) => {
      assert.ok(e instanceof PackageError && e.kind === "refused", String(e));
      assert.match(e.message, message);
      return true;
    });
  }
});
