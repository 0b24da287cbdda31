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
      const line = JSON.parse(lines[0]!);
      assert.equal(line.level, "error");
      assert.equal(line.msg, "invalid configuration");
      assert.equal(line.variable, variable);
      assert.match(line.error, new RegExp(`^${variable}: `));
    });
  }
});

Deno.test("main.ts reads secrets from *_FILE variables and names a bad one without its content", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "imbi-secret-files-" });
  try {
    await t.step("a missing file", async () => {
      const { code, stderr } = await start({ IMBI_ADMIN_TOKEN_FILE: `${dir}/missing` });
      assert.equal(code, 2);
      const line = JSON.parse(stderr.trim());
      assert.equal(line.variable, "IMBI_ADMIN_TOKEN_FILE");
      assert.match(line.error, /cannot read .*missing: NotFound/);
    });
    await t.step("a variable and its file both set", async () => {
      await Deno.writeTextFile(`${dir}/keys`, "k1:not-even-base64-secret\n");
      const { code, stderr } = await start({
        IMBI_ENCRYPTION_KEYS: "k0:whatever-inline-secret",
        IMBI_ENCRYPTION_KEYS_FILE: `${dir}/keys`,
      });
      assert.equal(code, 2);
      assert.match(JSON.parse(stderr.trim()).error, /set either IMBI_ENCRYPTION_KEYS or IMBI_ENCRYPTION_KEYS_FILE/);
      assert.doesNotMatch(stderr, /secret/);
    });
    await t.step("a token from a file is validated like the variable (16+ characters)", async () => {
      await Deno.writeTextFile(`${dir}/token`, "short\n");
      const { code, stderr } = await start({ IMBI_ADMIN_TOKEN_FILE: `${dir}/token` });
      assert.equal(code, 2);
      assert.equal(JSON.parse(stderr.trim()).variable, "IMBI_ADMIN_TOKEN");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main.ts refuses Neo4j without an encryption key, saying which variable to set", async () => {
  const { code, stderr } = await start({
    IMBI_GRAPH_URL: "bolt://127.0.0.1:9",
    IMBI_ADMIN_TOKEN: "a-long-enough-admin-token",
  });
  assert.equal(code, 1);
  assert.match(stderr, /"msg":"cannot start","error":"IMBI_ENCRYPTION_KEYS must be set/);
});

Deno.test("main.ts refuses to start when TMPDIR is too long for a plugin channel's socket path", async () => {
  const dir = await Deno.makeTempDir({ prefix: "imbi-long-tmpdir-" });
  try {
    const long = `${dir}/${"d".repeat(60)}`;
    await Deno.mkdir(long);
    const { code, stderr } = await start({ TMPDIR: long });
    assert.equal(code, 1, stderr);
    const line = stderr.trim().split("\n").map((l) => JSON.parse(l)).find((l) => l.msg === "cannot start");
    assert.ok(line, stderr);
    assert.match(line.error, /^TMPDIR is too long for a plugin channel's socket path .* 50 characters or fewer$/);
    // Nothing left behind in it.
    assert.deepEqual(
      [...Deno.readDirSync(long)].map((e) => e.name).filter((n) => n.startsWith("imbi-channels-")),
      [],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
