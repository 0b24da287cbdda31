/**
 * The container's prefetch (`cli/prefetch.ts`, run by the Dockerfile at
 * build time and at container start), outside Docker: prefetch every locked
 * package (npm from the loopback Verdaccio, JSR from the in-process
 * registry, a local path) into a fresh data directory, then start the
 * service with every registry unreachable and find everything loaded; seed
 * a volume from the image's lockfile and cache the way the container's
 * start does, and start offline from the volume.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../core/config.ts";
import { isLocalSpecifier, readLockfile } from "../../core/packages/lockfile.ts";
import { addPackage } from "../../core/packages/changes/mod.ts";
import { packageStoreFor } from "../../core/packages/store.ts";
import { buildServices } from "../../core/wiring.ts";
import { TestJsrRegistry } from "../support/jsr_registry.ts";
import { publishFixture } from "../support/npm_publish.ts";
import { installLogScanner } from "../support/secret_scan.ts";
import { serviceUrl } from "../support/services.ts";
import { type CliOutput, CLOSED, runCli } from "../support/local.ts";

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const FIXTURES = `${ROOT}/tests/fixtures`;
const NPM = serviceUrl("IMBI_TEST_NPM_REGISTRY");

installLogScanner(); // the service start-ups below log; keep it out of the test output

function prefetch(args: string[], env: Record<string, string>): Promise<CliOutput> {
  return runCli(`${ROOT}/cli/prefetch.ts`, args, { env: { ...env, IMBI_LOG_LEVEL: "warn" }, cwd: ROOT });
}

async function startOffline(dataDir: string, lockfilePath: string) {
  const services = await buildServices(loadConfig({
    IMBI_DATA_DIR: dataDir,
    IMBI_LOCKFILE: lockfilePath,
    IMBI_ADMIN_TOKEN: `admin-${crypto.randomUUID()}`,
    NPM_CONFIG_REGISTRY: CLOSED,
    JSR_URL: CLOSED,
  }));
  try {
    return services.runtime.registry.packages.map((p) => [p.name, p.status, p.reason]);
  } finally {
    await services.close();
  }
}

Deno.test("deno task prefetch fills a fresh data directory so the service starts with every registry unreachable", async (t) => {
  const work = await Deno.makeTempDir({ prefix: "imbi-prefetch-" });
  const jsr = TestJsrRegistry.start();
  try {
    await jsr.publish("@imbi-test/jsr-good", "1.0.0", `${FIXTURES}/packages/jsr-good`, {
      createdAt: new Date(Date.now() - 3 * 86_400_000),
    });
    // The image's lockfile, written by the admin code into a scratch data directory.
    const image = `${work}/app`;
    await Deno.mkdir(image);
    const lockfilePath = `${image}/plugins.lock.json`;
    const env = {
      IMBI_LOCKFILE: lockfilePath,
      IMBI_MIN_PACKAGE_AGE: "0",
      JSR_URL: jsr.url,
      ...(NPM ? { NPM_CONFIG_REGISTRY: NPM } : {}),
    };
    const scratch = packageStoreFor(loadConfig({ ...env, IMBI_DATA_DIR: `${work}/scratch` }));
    const expected = ["@imbi-test/jsr-good", "@imbi-test/local-good"];
    await addPackage("jsr:@imbi-test/jsr-good@^1", { lockfilePath, store: scratch });
    await addPackage(`${FIXTURES}/packages/local-good`, { lockfilePath, store: scratch });
    if (NPM) {
      await publishFixture(NPM, `${FIXTURES}/admin/probe`, {
        name: "@imbi-test/prefetch-probe",
        unlessPublished: true,
      });
      await addPackage("npm:@imbi-test/prefetch-probe@1", { lockfilePath, store: scratch });
      expected.push("@imbi-test/prefetch-probe");
    }
    expected.sort();
    const locked = await readLockfile(lockfilePath);
    assert.deepEqual(Object.keys(locked.packages), expected);

    const seed = `${work}/seed`;
    await t.step("prefetches and verifies every locked package into a fresh data directory", async () => {
      const r = await prefetch([], { ...env, IMBI_DATA_DIR: seed });
      assert.equal(r.code, 0, r.stderr);
      for (const name of expected) assert.match(r.stdout, new RegExp(`^${name} \\S+ loaded$`, "m"));
      assert.match(r.stdout, new RegExp(`${expected.length} of ${expected.length} packages .* verified in`));
      assert.match(r.stderr, /download +fetching jsr:@imbi-test\/jsr-good@1\.0\.0/, "progress while fetching");
    });

    const served = jsr.requests;
    await jsr.stop();

    await t.step("the service then starts with the npm and JSR registries unreachable, everything loaded", async () => {
      const packages = await startOffline(seed, lockfilePath);
      assert.deepEqual(packages, expected.map((name) => [name, "loaded", null]));
      assert.equal(jsr.requests, served, "no request reached the JSR registry");
    });

    await t.step("a prefetch that cannot reach a registry for a cold package fails, naming it", async () => {
      const r = await prefetch([], { ...env, IMBI_DATA_DIR: `${work}/cold`, JSR_URL: CLOSED });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /error: Cannot load package "@imbi-test\/jsr-good": Cannot reach/);
    });

    await t.step(
      "container start: seeds the volume from the image's lockfile and cache, then starts offline",
      async () => {
        const volume = `${work}/volume`;
        // NPM_CONFIG_REGISTRY stays unset: Deno keys its own npm cache (the service's dependencies) by registry.
        const volumeEnv = {
          IMBI_LOCKFILE: `${volume}/plugins.lock.json`,
          IMBI_DATA_DIR: `${volume}/data`,
          JSR_URL: CLOSED,
        };
        const args = ["--seed-from", seed, "--seed-lockfile", lockfilePath, "--seed-only"];
        const r = await prefetch(args, volumeEnv);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /seeded .*volume\/plugins\.lock\.json from/);
        assert.match(r.stderr, new RegExp(`copied ${expected.length} cached packages`));
        const seeded = await readLockfile(volumeEnv.IMBI_LOCKFILE);
        assert.equal(seeded.revision, locked.revision);
        const local = seeded.packages["@imbi-test/local-good"]!;
        assert.equal(
          local.specifier,
          `${FIXTURES}/packages/local-good`,
          "local paths made absolute: the lockfile moved",
        );
        const original = locked.packages["@imbi-test/local-good"]!.specifier;
        assert.ok(isLocalSpecifier(original) && original.startsWith("../"), `relative in the image: ${original}`);
        assert.deepEqual(
          await startOffline(volumeEnv.IMBI_DATA_DIR, volumeEnv.IMBI_LOCKFILE),
          expected.map((name) => [name, "loaded", null]),
        );

        // A restart keeps what the volume holds: its lockfile (changed by admin installs) is never overwritten.
        const changed = (await Deno.readTextFile(volumeEnv.IMBI_LOCKFILE)).replace(
          `"revision": ${locked.revision}`,
          `"revision": ${locked.revision + 5}`,
        );
        await Deno.writeTextFile(volumeEnv.IMBI_LOCKFILE, changed);
        const again = await prefetch(args, volumeEnv);
        assert.equal(again.code, 0, again.stderr);
        assert.doesNotMatch(again.stderr, /seeded|copied/);
        assert.equal(await Deno.readTextFile(volumeEnv.IMBI_LOCKFILE), changed);
      },
    );
  } finally {
    await jsr.stop().catch(() => {});
    await Deno.remove(work, { recursive: true });
  }
});
