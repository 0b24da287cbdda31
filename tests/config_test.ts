import assert from "node:assert/strict";
import { ConfigError, loadConfig, parseDuration } from "../core/config.ts";

Deno.test("loadConfig() applies defaults on an empty environment", () => {
  const config = loadConfig({});
  assert.equal(config.port, 8000);
  assert.equal(config.dataDir, "./data");
  assert.equal(config.lockfilePath, "./plugins.lock.json");
  assert.deepEqual(config.graph, { kind: "sqlite", path: "./data/graph.sqlite" });
  assert.equal(config.minPackageAgeMs, 86_400_000);
  assert.equal(config.pluginTimeoutMs, 10_000);
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
  ];
  for (const [env, variable] of cases) {
    await t.step(variable, () => {
      assert.throws(() => loadConfig(env), (e: unknown) => e instanceof ConfigError && e.variable === variable);
    });
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
