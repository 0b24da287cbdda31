import assert from "node:assert/strict";

import {
  emptyLockfile,
  type Lockfile,
  type LockfileIo,
  parseLockfile,
  readLockfile,
  serializeLockfile,
  updateLockfile,
  validateLockfile,
} from "../../core/packages/lockfile.ts";

function throwsSyntax(fn: () => unknown): SyntaxError {
  let thrown: unknown;
  assert.throws(fn, (error) => (thrown = error) instanceof SyntaxError, "expected a SyntaxError");
  return thrown as SyntaxError;
}

const SHA512 = "sha512-" + btoa(String.fromCharCode(...new Uint8Array(64).fill(7)));

function sample(): Lockfile {
  return {
    lockfile_version: 1,
    revision: 3,
    packages: {
      "@imbi/plugin-aws": {
        specifier: "npm:@imbi/plugin-aws@1.2.3",
        version: "1.2.3",
        integrity: SHA512,
        entry_points: ["aws-ssm", "aws-cloudwatch-logs"],
        source: { kind: "catalog", name: "aws" },
        added_at: "2026-01-02T03:04:05.000Z",
        added_by: "ops",
      },
    },
  };
}

Deno.test("parseLockfile() round-trips what serializeLockfile() prints", () => {
  const text = serializeLockfile(sample());
  assert.deepEqual(parseLockfile(text, "plugins.lock.json"), sample());
  assert.deepEqual(serializeLockfile(parseLockfile(text, "x")), text);
});

Deno.test("serializeLockfile() sorts packages by name", () => {
  const lf = sample();
  lf.packages["@a/b"] = { ...lf.packages["@imbi/plugin-aws"]!, specifier: "npm:@a/b@1.2.3" };
  const names = Object.keys(JSON.parse(serializeLockfile(lf)).packages);
  assert.deepEqual(names, ["@a/b", "@imbi/plugin-aws"]);
});

Deno.test("parseLockfile() names the file and the JSON pointer of a bad field", () => {
  const lf = sample() as unknown as { packages: Record<string, Record<string, unknown>> };
  lf.packages["@imbi/plugin-aws"]!.integrity = "md5-abc";
  const error = throwsSyntax(() => parseLockfile(JSON.stringify(lf), "/srv/plugins.lock.json"));
  assert.deepEqual(
    error.message,
    'Invalid lockfile /srv/plugins.lock.json at "/packages/@imbi~1plugin-aws/integrity": ' +
      'integrity must be an SRI hash "sha256-<base64>" or "sha512-<base64>"',
  );
});

Deno.test("parseLockfile() refuses a specifier that disagrees with the name or version", () => {
  const lf = sample();
  lf.packages["@imbi/plugin-aws"]!.specifier = "npm:@imbi/plugin-aws@1.2.4";
  const error = throwsSyntax(() => parseLockfile(JSON.stringify(lf), "f"));
  assert.deepEqual(error.message.includes('"/packages/@imbi~1plugin-aws/specifier"'), true);
});

Deno.test("parseLockfile() checks every field", () => {
  type Doc = Record<string, unknown> & { packages: Record<string, Record<string, unknown>> };
  const aws = (lf: Doc) => lf.packages["@imbi/plugin-aws"]!;
  const at = "/packages/@imbi~1plugin-aws";
  const cases: [(lf: Doc) => void, string][] = [
    [(lf) => lf.lockfile_version = 2, "/lockfile_version"],
    [(lf) => lf.revision = -1, "/revision"],
    [(lf) => lf.extra = 1, "/extra"],
    [(lf) => lf.packages = [] as unknown as Doc["packages"], "/packages"],
    [(lf) => aws(lf).version = "^1.2.3", `${at}/version`],
    [(lf) => aws(lf).entry_points = ["Bad Slug"], `${at}/entry_points/0`],
    [(lf) => aws(lf).entry_points = ["a-b", "a-b"], `${at}/entry_points/1`],
    [(lf) => aws(lf).source = { kind: "other" }, `${at}/source/kind`],
    [(lf) => aws(lf).source = { kind: "catalog" }, `${at}/source/name`],
    [(lf) => aws(lf).added_at = "yesterday", `${at}/added_at`],
    [(lf) => aws(lf).added_by = 5, `${at}/added_by`],
    [(lf) => aws(lf).colour = "red", `${at}/colour`],
    [(lf) => aws(lf).specifier = "plugins/aws", `${at}/specifier`],
  ];
  for (const [change, ptr] of cases) {
    const lf = structuredClone(sample()) as unknown as Doc;
    change(lf);
    const error = throwsSyntax(() => validateLockfile(lf, "f"));
    assert.ok(error.message.startsWith(`Invalid lockfile f at "${ptr}"`), error.message);
  }
});

Deno.test("parseLockfile() accepts local paths and jsr specifiers", () => {
  const lf = sample();
  lf.packages["@imbi/plugin-local"] = { ...lf.packages["@imbi/plugin-aws"]!, specifier: "./plugins/local" };
  lf.packages["@imbi/jsr-thing"] = { ...lf.packages["@imbi/plugin-aws"]!, specifier: "jsr:@imbi/jsr-thing@1.2.3" };
  assert.deepEqual(Object.keys(parseLockfile(JSON.stringify(lf), "f").packages).length, 3);
});

Deno.test("parseLockfile() reports broken JSON at the root pointer", () => {
  const error = throwsSyntax(() => parseLockfile("{", "plugins.lock.json"));
  assert.deepEqual(error.message.startsWith('Invalid lockfile plugins.lock.json at "": not JSON'), true);
});

Deno.test("emptyLockfile() is revision 0 with no packages", () => {
  assert.deepEqual(emptyLockfile(), { lockfile_version: 1, revision: 0, packages: {} });
});

Deno.test("updateLockfile() goes through the LockfileIo it is given", async () => {
  const files = new Map<string, string>();
  const calls: string[] = [];
  const io: LockfileIo = {
    read: (path) => Promise.resolve(files.get(path)),
    writeAtomic: (path, text) => {
      calls.push(`write ${path}`);
      files.set(path, text);
      return Promise.resolve();
    },
    lock: (path) => {
      calls.push(`lock ${path}`);
      return Promise.resolve(() => {
        calls.push(`unlock ${path}`);
        return Promise.resolve();
      });
    },
  };
  const written = await updateLockfile("mem.lock.json", (draft) => {
    draft.packages["@imbi/plugin-aws"] = sample().packages["@imbi/plugin-aws"]!;
  }, { io });
  assert.equal(written.revision, 1);
  assert.deepEqual(calls, ["lock mem.lock.json", "write mem.lock.json", "unlock mem.lock.json"]);
  assert.deepEqual(await readLockfile("mem.lock.json", { io }), written);
  await assert.rejects(updateLockfile("mem.lock.json", () => {
    throw new RangeError("no");
  }, { io }));
  assert.equal(calls.at(-1), "unlock mem.lock.json", "the lock is released when mutate throws");
  assert.equal((await readLockfile("mem.lock.json", { io })).revision, 1);
});
