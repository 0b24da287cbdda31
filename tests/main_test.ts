import assert from "node:assert/strict";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

async function start(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  const dataDir = await Deno.makeTempDir({ prefix: "imbi-main-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN],
      env: { IMBI_DATA_DIR: dataDir, ...env },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
}

Deno.test("main.ts stops on a bad variable with one line naming it", async (t) => {
  const cases: [string, string][] = [
    ["IMBI_PORT", "eighty"],
    ["IMBI_GRAPH_URL", "http://neo4j:7474"],
    ["IMBI_MIN_PACKAGE_AGE", "soon"],
    ["IMBI_DEPLOYMENT", "prod east"],
    ["IMBI_LOCK_POLL_MS", "50"],
    ["IMBI_GRAPH_WAIT_MS", "soon"],
  ];
  for (const [variable, value] of cases) {
    await t.step(variable, async () => {
      const { code, stderr } = await start({ [variable]: value });
      assert.equal(code, 2);
      const lines = stderr.trim().split("\n");
      assert.equal(lines.length, 1, stderr);
      assert.match(lines[0]!, new RegExp(`^imbi: invalid configuration: ${variable}: `));
    });
  }
});

Deno.test("main.ts refuses Neo4j without an encryption key, saying which variable to set", async () => {
  const { code, stderr } = await start({
    IMBI_GRAPH_URL: "bolt://127.0.0.1:9",
    IMBI_ADMIN_TOKEN: "a-long-enough-admin-token",
  });
  assert.equal(code, 1);
  assert.match(stderr, /cannot start: IMBI_ENCRYPTION_KEYS must be set/);
});
