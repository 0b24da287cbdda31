import assert from "node:assert/strict";
import { ConfigError, loadConfig, parseDuration } from "../core/config.ts";
import { CONFINE_DEFAULTS } from "../core/sandbox/confine.ts";

Deno.test("loadConfig() applies defaults on an empty environment", () => {
  const config = loadConfig({});
  assert.equal(config.port, 8000);
  assert.equal(config.dataDir, "./data");
  assert.equal(config.lockfilePath, "./plugins.lock.json");
  assert.deepEqual(config.graph, { kind: "sqlite", path: "./data/graph.sqlite" });
  assert.equal(config.minPackageAgeMs, 86_400_000);
  assert.equal(config.pluginTimeoutMs, 10_000);
  assert.equal(config.pluginProcessesMin, 0);
  assert.equal(config.pluginProcessesMax, navigator.hardwareConcurrency);
  assert.equal(config.pluginQueueMax, 256);
  assert.equal(config.pluginMaxAnswerBytes, 16 * 1024 * 1024);
  assert.equal(config.shutdownGraceMs, 10_000);
  assert.deepEqual(config.confine, CONFINE_DEFAULTS);
  assert.equal(config.tabCacheTtlMs, 30_000);
  assert.equal(config.tabCacheMaxBytes, 64 * 1024 * 1024);
});

Deno.test("loadConfig() names the variable with a bad value", async (t) => {
  const cases: [Record<string, string>, string][] = [
    [{ IMBI_PORT: "eighty" }, "IMBI_PORT"],
    [{ IMBI_PORT: "70000" }, "IMBI_PORT"],
    [{ IMBI_GRAPH_URL: "http://neo4j:7474" }, "IMBI_GRAPH_URL"],
    [{ IMBI_ADMIN_TOKEN: "short" }, "IMBI_ADMIN_TOKEN"],
    [{ IMBI_MIN_PACKAGE_AGE: "soon" }, "IMBI_MIN_PACKAGE_AGE"],
    [{ IMBI_PLUGIN_TIMEOUT: "10" }, "IMBI_PLUGIN_TIMEOUT"],
    [{ IMBI_LOG_LEVEL: "loud" }, "IMBI_LOG_LEVEL"],
    [{ IMBI_REPLICA_ID: "web 1" }, "IMBI_REPLICA_ID"],
    [{ IMBI_NPM_REGISTRY: "ftp://mirror" }, "IMBI_NPM_REGISTRY"],
    [{ IMBI_JSR_URL: "not a url" }, "IMBI_JSR_URL"],
    [{ IMBI_REGISTRY_TIMEOUT: "0" }, "IMBI_REGISTRY_TIMEOUT"],
    [{ IMBI_REGISTRY_RETRIES: "11" }, "IMBI_REGISTRY_RETRIES"],
    [{ IMBI_PACKAGE_MAX_SIZE_MB: "0" }, "IMBI_PACKAGE_MAX_SIZE_MB"],
    [{ IMBI_PACKAGE_MAX_FILES: "many" }, "IMBI_PACKAGE_MAX_FILES"],
    [{ IMBI_NPMRC: "/no/such/.npmrc" }, "IMBI_NPMRC"],
    [{ IMBI_PLUGIN_PROCESSES_MAX: "0" }, "IMBI_PLUGIN_PROCESSES_MAX"],
    [{ IMBI_PLUGIN_PROCESSES_MIN: "3", IMBI_PLUGIN_PROCESSES_MAX: "2" }, "IMBI_PLUGIN_PROCESSES_MIN"],
    [{ IMBI_PLUGIN_QUEUE_MAX: "0" }, "IMBI_PLUGIN_QUEUE_MAX"],
    [{ IMBI_PLUGIN_MAX_ANSWER_MB: "big" }, "IMBI_PLUGIN_MAX_ANSWER_MB"],
    [{ IMBI_SHUTDOWN_GRACE_MS: "10s" }, "IMBI_SHUTDOWN_GRACE_MS"],
    [{ IMBI_SANDBOX_LIMITS: "maybe" }, "IMBI_SANDBOX_LIMITS"],
    [{ IMBI_JAIL_PATH: "relative/imbi-jail" }, "IMBI_JAIL_PATH"],
    [{ IMBI_CGROUP_ROOT: "sys/fs/cgroup" }, "IMBI_CGROUP_ROOT"],
    [{ IMBI_PLUGIN_PIDS_MAX: "8" }, "IMBI_PLUGIN_PIDS_MAX"],
    [{ IMBI_PLUGIN_CPU_PERCENT: "-1" }, "IMBI_PLUGIN_CPU_PERCENT"],
    [{ IMBI_PLUGIN_IDLE_CPU_MS: "lots" }, "IMBI_PLUGIN_IDLE_CPU_MS"],
    [{ IMBI_TAB_CACHE_TTL_MS: "30s" }, "IMBI_TAB_CACHE_TTL_MS"],
    [{ IMBI_TAB_CACHE_TTL_MS: "-1" }, "IMBI_TAB_CACHE_TTL_MS"],
    [{ IMBI_TAB_CACHE_MAX_MB: "70000" }, "IMBI_TAB_CACHE_MAX_MB"],
  ];
  for (const [env, variable] of cases) {
    await t.step(variable, () => {
      assert.throws(() => loadConfig(env), (e: unknown) => e instanceof ConfigError && e.variable === variable);
    });
  }
});

Deno.test("loadConfig() takes plugin registries from IMBI_* first, then the standard variables", () => {
  assert.equal(loadConfig({}).npmRegistry, undefined);
  assert.equal(loadConfig({ NPM_CONFIG_REGISTRY: "http://a.test/" }).npmRegistry, "http://a.test/");
  assert.equal(
    loadConfig({ NPM_CONFIG_REGISTRY: "http://a.test/", IMBI_NPM_REGISTRY: "http://b.test/" }).npmRegistry,
    "http://b.test/",
  );
  assert.equal(loadConfig({ JSR_URL: "http://j.test" }).jsrUrl, "http://j.test");
  assert.equal(loadConfig({ JSR_URL: "http://j.test", IMBI_JSR_URL: "http://k.test" }).jsrUrl, "http://k.test");
});

Deno.test("loadConfig() reads IMBI_NPMRC, naming the line of a bad entry but never its value", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/.npmrc`, "//r.test/:_authToken=${TOKEN}\n");
    const config = loadConfig({ IMBI_NPMRC: `${dir}/.npmrc`, TOKEN: "tok-123" });
    assert.equal(config.registryAuth.headerFor("https://r.test/pkg"), "Bearer tok-123");
    assert.doesNotMatch(JSON.stringify(config), /tok-123/);
    await Deno.writeTextFile(`${dir}/.npmrc`, "\n_authToken=tok-456\n");
    assert.throws(() => loadConfig({ IMBI_NPMRC: `${dir}/.npmrc` }), (e: unknown) => {
      assert.ok(e instanceof ConfigError && e.variable === "IMBI_NPMRC");
      assert.match(e.message, /line 2: "_authToken" must be scoped/);
      assert.doesNotMatch(e.message, /tok-456/);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadConfig() selects Neo4j for a bolt URL", () => {
  const config = loadConfig({ IMBI_GRAPH_URL: "bolt://127.0.0.1:7687", IMBI_GRAPH_PASSWORD: "pw" });
  assert.deepEqual(config.graph, { kind: "neo4j", url: "bolt://127.0.0.1:7687", user: "neo4j", password: "pw" });
});

Deno.test("parseDuration() reads every unit and refuses garbage", () => {
  assert.equal(parseDuration("0"), 0);
  assert.equal(parseDuration("500ms"), 500);
  assert.equal(parseDuration("30s"), 30_000);
  assert.equal(parseDuration("90m"), 5_400_000);
  assert.equal(parseDuration("24h"), 86_400_000);
  assert.equal(parseDuration("2d"), 172_800_000);
  assert.throws(() => parseDuration("12"), RangeError);
  assert.throws(() => parseDuration("-1h"), RangeError);
});

Deno.test("loadConfig() reads IMBI_ADMIN_TOKEN_FILE, IMBI_ENCRYPTION_KEYS_FILE and IMBI_GRAPH_PASSWORD_FILE", async () => {
  const dir = await Deno.makeTempDir({ prefix: "imbi-config-files-" });
  try {
    await Deno.writeTextFile(`${dir}/token`, "  a-token-from-a-mounted-secret\n");
    await Deno.writeTextFile(`${dir}/keys`, "k1:AAAA\n");
    await Deno.writeTextFile(`${dir}/password`, "graph-password\n");
    const config = loadConfig({
      IMBI_ADMIN_TOKEN_FILE: `${dir}/token`,
      IMBI_ENCRYPTION_KEYS_FILE: `${dir}/keys`,
      IMBI_GRAPH_URL: "bolt://db:7687",
      IMBI_GRAPH_PASSWORD_FILE: `${dir}/password`,
    });
    assert.equal(config.adminToken, "a-token-from-a-mounted-secret");
    assert.equal(config.encryptionKeys, "k1:AAAA");
    assert.deepEqual(config.graph, { kind: "neo4j", url: "bolt://db:7687", user: "neo4j", password: "graph-password" });
    await Deno.writeTextFile(`${dir}/empty`, "\n");
    assert.throws(
      () => loadConfig({ IMBI_GRAPH_PASSWORD_FILE: `${dir}/empty` }),
      /IMBI_GRAPH_PASSWORD_FILE: .* is empty/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadConfig() validates IMBI_METRICS_PORT", () => {
  assert.equal(loadConfig({ IMBI_METRICS_PORT: "26090" }).metricsPort, 26090);
  assert.equal(loadConfig({}).metricsPort, undefined);
  assert.throws(
    () => loadConfig({ IMBI_METRICS_PORT: "metrics" }),
    /IMBI_METRICS_PORT: "metrics" is not a whole number/,
  );
  assert.throws(() => loadConfig({ IMBI_METRICS_PORT: "8000" }), /IMBI_METRICS_PORT: 8000 is IMBI_PORT too/);
});
