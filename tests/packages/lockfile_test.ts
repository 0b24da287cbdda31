/**
 * Lockfile IO against the real file system and real processes: atomic
 * replace, serialised writers in one process and across processes, a writer
 * killed mid-write, and a stale lock left by a dead process.
 */
import assert from "node:assert/strict";
import { type LockEntry, readLockfile, updateLockfile } from "../../core/packages/lockfile.ts";
import { lockEntry, tempDir } from "./_helpers.ts";

const LOCKFILE_MODULE = new URL("../../core/packages/lockfile.ts", import.meta.url).href;
const INTEGRITY = "sha256-" + btoa(String.fromCharCode(...new Uint8Array(32).fill(1)));

function entry(name: string): LockEntry {
  return lockEntry({ specifier: `npm:${name}@1.0.0`, version: "1.0.0", integrity: INTEGRITY });
}

function writerScript(path: string, names: string[]): string {
  return `import { updateLockfile } from ${JSON.stringify(LOCKFILE_MODULE)};
const entry = (name) => ({ specifier: "npm:" + name + "@1.0.0", version: "1.0.0", integrity: ${
    JSON.stringify(INTEGRITY)
  }, entry_points: [], source: { kind: "manual" }, added_at: "2026-01-01T00:00:00.000Z", added_by: "child" });
await Promise.all(${JSON.stringify(names)}.map((name) =>
  updateLockfile(${JSON.stringify(path)}, (draft) => { draft.packages[name] = entry(name); })));
`;
}

function spawnWriter(path: string, names: string[], env: Record<string, string> = {}): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=js", writerScript(path, names)],
    cwd: new URL("../..", import.meta.url).pathname,
    env,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
}

Deno.test("readLockfile() reads a missing file as revision 0", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  assert.deepEqual(await readLockfile(`${dir}/plugins.lock.json`), {
    lockfile_version: 1,
    revision: 0,
    packages: {},
  });
});

Deno.test("updateLockfile() serialises 20 concurrent callers and loses none", async () => {
  await using tmp = await tempDir();
  const path = `${tmp.path}/plugins.lock.json`;
  const names = Array.from({ length: 20 }, (_, i) => `pkg-${i}`);
  const results = await Promise.all(names.map((name) =>
    updateLockfile(path, async (draft) => {
      await new Promise((r) => setTimeout(r, 1)); // yield mid-change: a lost update would show
      draft.packages[name] = entry(name);
    })
  ));
  const final = await readLockfile(path);
  assert.equal(final.revision, 20);
  assert.deepEqual(Object.keys(final.packages).sort(), [...names].sort());
  assert.deepEqual(results.map((r) => r.revision).sort((a, b) => a - b), names.map((_, i) => i + 1));
  assert.deepEqual([...Deno.readDirSync(tmp.path)].map((e) => e.name), ["plugins.lock.json"]);
});

Deno.test("updateLockfile() serialises writers in separate processes", async () => {
  await using tmp = await tempDir();
  const path = `${tmp.path}/plugins.lock.json`;
  const groups = [0, 1, 2].map((p) => Array.from({ length: 5 }, (_, i) => `proc${p}-${i}`));
  const children = groups.map((names) => spawnWriter(path, names));
  const local = Array.from({ length: 5 }, (_, i) => `local-${i}`);
  await Promise.all(local.map((name) => updateLockfile(path, (d) => void (d.packages[name] = entry(name)))));
  for (const child of children) {
    const out = await child.output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  }
  const final = await readLockfile(path);
  assert.equal(final.revision, 20);
  assert.deepEqual(Object.keys(final.packages).sort(), [...groups.flat(), ...local].sort());
});

Deno.test("updateLockfile() leaves the file untouched when mutate throws or breaks the format", async () => {
  await using tmp = await tempDir();
  const path = `${tmp.path}/plugins.lock.json`;
  await updateLockfile(path, (d) => void (d.packages.a = entry("a")));
  const before = await Deno.readTextFile(path);
  await assert.rejects(
    updateLockfile(path, () => {
      throw new RangeError("refused");
    }),
    RangeError,
  );
  await assert.rejects(
    updateLockfile(path, (d) => void (d.packages.a!.integrity = "nope")),
    (error: Error) => error instanceof SyntaxError && error.message.includes('"/packages/a/integrity"'),
  );
  assert.equal(await Deno.readTextFile(path), before);
  assert.equal((await updateLockfile(path, () => {})).revision, 2);
});

Deno.test("updateLockfile() survives a writer killed mid-write: no torn file, stale lock broken", async () => {
  await using tmp = await tempDir();
  const path = `${tmp.path}/plugins.lock.json`;
  await updateLockfile(path, (d) => void (d.packages.first = entry("first")));
  const before = await Deno.readTextFile(path);
  const child = spawnWriter(path, ["doomed"], { IMBI_LOCKFILE_FAULT: "pause-mid-write" });
  // Wait for the writer's own word that it stopped half-way through its temp file.
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("paused mid-write")) {
    const { value, done } = await reader.read();
    assert.ok(!done, `writer exited before the fault hook: ${seen}`);
    seen += value;
  }
  const temps = [...Deno.readDirSync(tmp.path)].map((e) => e.name).filter((n) => n.endsWith(".tmp"));
  assert.equal(temps.length, 1, "the writer has a half-written temp file");
  assert.ok(Deno.statSync(`${path}.lock`).isFile, "the writer holds the lock");
  child.kill("SIGKILL");
  await child.status;
  await reader.cancel();

  assert.equal(await Deno.readTextFile(path), before);
  const read = await readLockfile(path);
  assert.deepEqual(Object.keys(read.packages), ["first"]);
  // The dead writer's lock is detected as stale (its process is gone), not waited out.
  const started = Date.now();
  const next = await updateLockfile(path, (d) => void (d.packages.second = entry("second")), { lockTimeoutMs: 5000 });
  assert.ok(Date.now() - started < 5000);
  assert.equal(next.revision, 2);
  assert.deepEqual(Object.keys((await readLockfile(path)).packages).sort(), ["first", "second"]);
  assert.deepEqual(
    [...Deno.readDirSync(tmp.path)].map((e) => e.name),
    ["plugins.lock.json"],
    "the dead writer's temp is gone",
  );
});
