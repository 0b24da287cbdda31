/**
 * Install-time sandboxing: hostile packages that would inline files from
 * outside themselves (`/proc/self/environ`, `/etc/passwd`, a path out of the
 * package, a symlink out of it, a remote or `data:` module) are refused by
 * the module-graph check, naming the import; an npm dependency's own import
 * (outside that graph) is refused by the bundler's read permission; the
 * bundler and `deno info` run with a cleared environment and the bundler's
 * permissions name only the package, Deno's caches and an output file outside
 * the data directory.
 */
import assert from "node:assert/strict";
import { bundlerEnv } from "../../core/packages/bundle.ts";
import { checkModuleGraph, localPackageRoots } from "../../core/packages/module_graph.ts";
import { PackageStore } from "../../core/packages/store.ts";
import { CLOSED, runCli } from "../support/local.ts";
import { type HostileAttack, writeHostilePackage } from "../support/hostile_package.ts";
import { makeSecret } from "../support/secret_scan.ts";
import { serviceUrl } from "../support/services.ts";
import { lockLocalPackages } from "../support/test_app.ts";
import { FIXTURES, publishGoodWithHelper, rejectsWith, ROOT, storeDirs, tempDir } from "./_helpers.ts";

const NPM = serviceUrl("IMBI_TEST_NPM_REGISTRY");

/** A store with a data directory and a staging directory outside it, both removed afterwards. */
async function withStore(fn: (store: PackageStore, staging: string) => Promise<void>, options = {}): Promise<void> {
  await using data = await tempDir();
  await using staging = await tempDir("imbi-staging-test-");
  const store = new PackageStore(data.path, {
    minPackageAgeMs: 0,
    projectRoot: ROOT,
    npmRegistry: CLOSED,
    jsrUrl: CLOSED,
    stagingDir: staging.path,
    ...options,
  });
  await fn(store, staging.path);
  assert.deepEqual([...Deno.readDirSync(staging.path)], [], "nothing is left in the staging directory");
}

Deno.test("PackageStore.fetch() refuses a package whose module graph reaches outside it, naming the import", async (t) => {
  const cases: [HostileAttack, RegExp][] = [
    ["environ", /outside the package \(\/proc\/\d+\/environ\)/],
    ["passwd", /outside the package \(\/etc\/passwd\)/],
    ["escape", new RegExp(`outside the package \\(${ROOT}/deno\\.json\\)`)],
    ["remote", /a remote module/],
    ["data", /a data: URL/],
  ];
  for (const [attack, rule] of cases) {
    await t.step(attack, async () => {
      await using packages = await tempDir("imbi-hostile-");
      const hostile = await writeHostilePackage(packages.path, attack);
      const { specifier } = hostile.import;
      await withStore(async (store) => {
        const resolved = await store.resolve(hostile.dir);
        const error = await rejectsWith(store.fetch(resolved), "refused");
        assert.ok(
          error.message.startsWith(`Refusing @imbi-test/hostile-${attack} (`) &&
            error.message.includes(`mod.ts imports "${specifier}", `),
          error.message,
        );
        assert.match(error.message, rule);
        assert.equal(error.extra.specifier, specifier);
        assert.deepEqual(storeDirs(store), [], "a refused package leaves nothing in the store");
      });
    });
  }
});

Deno.test("checkModuleGraph() resolves a symlink before deciding it is inside the package", async () => {
  // The store never gets this far (tree hashing and the tar reader refuse links); the check stands on its own.
  await using tmp = await tempDir("imbi-hostile-link-");
  const { dir } = await writeHostilePackage(tmp.path, { specifier: "./env.txt", type: "text" });
  await Deno.symlink("/proc/self/environ", `${dir}/env.txt`);
  await using home = await tempDir("imbi-bundler-home-test-");
  const env = bundlerEnv(home.path, { npmRegistry: CLOSED, jsrUrl: CLOSED });
  const options = { env, denoPath: Deno.execPath(), jsrUrl: CLOSED, flags: ["--no-config"], timeoutMs: 60_000 };
  const check = checkModuleGraph("mod.ts", { ...options, cwd: dir, roots: [dir], label: "link" });
  const error = await rejectsWith(check, "refused");
  assert.match(error.message, /mod\.ts imports "\.\/env\.txt", which is outside the package \(\/proc\/\d+\/environ\)/);
});

Deno.test("PackageStore.fetch() refuses staging inside the data directory", async () => {
  await using data = await tempDir();
  const store = new PackageStore(data.path, { projectRoot: ROOT, stagingDir: data.path });
  const error = await rejectsWith(store.fetch(await store.resolve("./tests/fixtures/packages/local-good")), "refused");
  assert.match(error.message, /it is inside the data directory .*; set TMPDIR to a directory outside it/);
  assert.deepEqual([...Deno.readDirSync(data.path)], [], "nothing was staged");
});

Deno.test("the bundler and deno info run with a cleared environment and only the package's permissions", async () => {
  await using bin = await tempDir("imbi-deno-wrapper-");
  // A Deno that records each invocation's environment and arguments, then runs the real one.
  const wrapper = `${bin.path}/deno`;
  await Deno.writeTextFile(
    wrapper,
    `#!/bin/sh\n{ env -0; printf '\\n--ARGS--\\n'; printf '%s\\n' "$@"; } > "${bin.path}/call-$$"\nexec "${Deno.execPath()}" "$@"\n`,
    { mode: 0o755 },
  );
  const secret = makeSecret("admin-token");
  Deno.env.set("IMBI_ADMIN_TOKEN", secret);
  try {
    await withStore(async (store, staging) => {
      const stored = await store.fetch(await store.resolve("./tests/fixtures/packages/local-good"));
      assert.ok(stored.bundlePath.startsWith(store.root));
      const calls = await Promise.all(
        [...Deno.readDirSync(bin.path)].filter((e) => e.name.startsWith("call-")).map((e) =>
          Deno.readTextFile(`${bin.path}/${e.name}`)
        ),
      );
      assert.equal(calls.length, 2, "deno info, then the bundler");
      for (const call of calls) {
        const [envText, argText] = call.split("\n--ARGS--\n") as [string, string];
        const names = envText.split("\0").filter(Boolean).map((kv) => kv.slice(0, kv.indexOf("=")))
          .filter((n) => n !== "PWD").sort(); // the wrapper's shell sets PWD itself
        assert.deepEqual(names, [
          "DENO_DIR",
          "DENO_NO_UPDATE_CHECK",
          "HOME",
          "JSR_URL",
          "NO_COLOR",
          "NPM_CONFIG_REGISTRY",
        ]);
        assert.ok(!call.includes(secret), "the admin token is not in the bundler's environment or arguments");
        const args = argText.trim().split("\n");
        if (args[0] === "info") continue;
        assert.equal(args[0], "run");
        assert.ok(!args.some((a) => /^--allow-(env|net|run|sys|ffi|all)|^-A$/.test(a)), args.join(" "));
        const read = args.find((a) => a.startsWith("--allow-read="))!.slice("--allow-read=".length).split(",");
        const denoDir = envText.split("\0").find((kv) => kv.startsWith("DENO_DIR="))!.slice("DENO_DIR=".length);
        assert.deepEqual(read, [`${FIXTURES}/packages/local-good`, `${denoDir}/npm`, `${denoDir}/remote`]);
        const write = args.find((a) => a.startsWith("--allow-write="))!.slice("--allow-write=".length);
        assert.ok(write.startsWith(`${staging}/`) && write.endsWith("/bundle.js"), write);
        assert.ok(!write.startsWith(store.root), "the bundler writes outside the data directory");
      }
    }, { denoPath: wrapper });
  } finally {
    Deno.env.delete("IMBI_ADMIN_TOKEN");
  }
});

Deno.test({
  name: "PackageStore.fetch() refuses an npm dependency that reads a file outside it, by the bundler's permission",
  ignore: !NPM,
  async fn() {
    const { name } = await publishGoodWithHelper(NPM!, "hostile", {
      helperFiles: {
        "index.js": 'import text from "/etc/passwd" with { type: "text" };\nexport function greet() { return text; }\n',
      },
    });
    await withStore(async (store) => {
      const error = await rejectsWith(store.fetch(await store.resolve(`npm:${name}@1.0.0`)), "refused");
      assert.match(error.message, /^Cannot bundle npm:@imbi-test\/hostile-good-\w+@1\.0\.0 .*"\/etc\/passwd"/);
      assert.match(error.message, /Requires read access to "\/etc\/passwd"/);
    }, { npmRegistry: NPM });
  },
});

Deno.test("localPackageRoots() adds the other workspace members only for a workspace member", async () => {
  const aws = await localPackageRoots(`${ROOT}/plugins/aws`);
  assert.equal(aws[0], `${ROOT}/plugins/aws`);
  assert.ok(aws.includes(`${ROOT}/plugins/sdk`), aws.join(","));
  assert.ok(!aws.includes(ROOT), "never the workspace root, where the data directory may be");
  assert.deepEqual(await localPackageRoots(`${FIXTURES}/packages/local-good`), [`${FIXTURES}/packages/local-good`]);
});

Deno.test("plugins add and prefetch, with their tasks' flags, refuse a hostile package naming the import", async () => {
  await using work = await tempDir("imbi-hostile-cli-");
  const secret = makeSecret("cli-admin-token");
  const env = {
    IMBI_LOCKFILE: `${work.path}/plugins.lock.json`,
    IMBI_DATA_DIR: `${work.path}/data`,
    IMBI_ADMIN_TOKEN: secret,
    IMBI_LOG_LEVEL: "warn",
  };
  const environ = await writeHostilePackage(work.path, "environ");
  const add = await runCli(`${ROOT}/cli/plugins.ts`, ["add", environ.dir, "--yes"], { env, cwd: ROOT });
  assert.equal(add.code, 1, add.stderr);
  assert.match(add.stderr, /error: Refusing @imbi-test\/hostile-environ .*mod\.ts imports "\/proc\/self\/environ"/);
  assert.ok(!`${add.stdout}${add.stderr}`.includes(secret));
  assert.equal(await Deno.stat(env.IMBI_LOCKFILE).catch(() => null), null, "nothing locked");

  const passwd = await writeHostilePackage(work.path, "passwd");
  await lockLocalPackages(env.IMBI_LOCKFILE, [{ name: passwd.name, dir: passwd.dir, entryPoints: [passwd.slug] }]);
  const prefetch = await runCli(`${ROOT}/cli/prefetch.ts`, [], { env, cwd: ROOT });
  assert.equal(prefetch.code, 1, prefetch.stderr);
  assert.match(prefetch.stderr, /mod\.ts imports "\/etc\/passwd", which is outside the package/);
  assert.ok(!`${prefetch.stdout}${prefetch.stderr}`.includes(secret));
});

const OTHER_FS = (() => {
  try {
    return Deno.statSync("/dev/shm").isDirectory ? "/dev/shm" : undefined;
  } catch {
    return undefined;
  }
})();

Deno.test({
  name: "PackageStore.fetch() moves a package staged on another file system into the store whole",
  ignore: !OTHER_FS,
  async fn() {
    // The data directory on the other file system (tmpfs), staging in the system's temporary directory.
    const data = await Deno.makeTempDir({ dir: OTHER_FS, prefix: "imbi-data-test-" });
    try {
      await using staging = await tempDir("imbi-staging-test-");
      const store = new PackageStore(data, { projectRoot: ROOT, stagingDir: staging.path });
      const stored = await store.fetch(await store.resolve("./tests/fixtures/packages/local-good"));
      assert.ok(stored.bundlePath.startsWith(`${store.root}/`));
      assert.match(await Deno.readTextFile(stored.bundlePath), /local-good-config/);
      assert.deepEqual([...Deno.readDirSync(staging.path)], [], "the staging directory is gone");
      assert.deepEqual([...Deno.readDirSync(`${store.root}/.staging`)], [], "the copy was renamed into place");
    } finally {
      await Deno.remove(data, { recursive: true });
    }
  },
});
