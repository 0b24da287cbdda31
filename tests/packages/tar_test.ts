/**
 * readTarball() over archives made by GNU tar (pax and GNU long names), and
 * over hand-made headers for what tar would never write.
 */
import assert from "node:assert/strict";
import { paxRecords, readTarball, TarLimitError, unpackTarball } from "../../core/packages/tar.ts";
import { PackageError } from "../../core/errors.ts";

const ROOMY = { maxBytes: 1024 * 1024, maxFiles: 100 };

/** Packs `files` (paths under `package/`) with GNU tar in the given format, gzipped. */
async function gnuTar(files: Record<string, string>, format: "pax" | "gnu"): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "imbi-tar-" });
  try {
    for (const [path, content] of Object.entries(files)) {
      await Deno.mkdir(`${dir}/package/${path}`.replace(/\/[^/]*$/, ""), { recursive: true });
      await Deno.writeTextFile(`${dir}/package/${path}`, content);
    }
    const out = await new Deno.Command("tar", {
      args: [`--format=${format}`, "-czf", `${dir}/p.tgz`, "-C", dir, "package"],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    return await Deno.readFile(`${dir}/p.tgz`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** One ustar header with a valid checksum. */
function header(name: string, size: number | "base256", type = "0"): Uint8Array {
  const h = new Uint8Array(512);
  const put = (offset: number, text: string) => h.set(new TextEncoder().encode(text), offset);
  put(0, name);
  put(100, "0000644\0");
  put(108, "0000000\0");
  put(116, "0000000\0");
  if (size === "base256") {
    h[124] = 0x80;
    h[135] = 0xff;
  } else put(124, size.toString(8).padStart(11, "0") + "\0");
  put(136, "00000000000\0");
  put(156, type);
  put(257, "ustar\0");
  put(263, "00");
  h.fill(0x20, 148, 156);
  const sum = h.reduce((a, b) => a + b, 0);
  put(148, sum.toString(8).padStart(6, "0") + "\0 ");
  return h;
}

async function gzip(...parts: Uint8Array[]): Promise<Uint8Array> {
  const stream = new Blob(parts as Uint8Array<ArrayBuffer>[]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

Deno.test("readTarball() reads a pax path by bytes: a non-ASCII file name comes back whole", async () => {
  const tgz = await gnuTar({ "package.json": "{}", "fïlé.js": "export const x = 1;\n", "lib/ünï/cödé.js": "1" }, "pax");
  const files = await readTarball(tgz, ROOMY);
  assert.deepEqual(files.map((f) => f.path).sort(), ["fïlé.js", "lib/ünï/cödé.js", "package.json"]);
  const file = files.find((f) => f.path === "fïlé.js")!;
  assert.equal(new TextDecoder().decode(file.bytes), "export const x = 1;\n");
});

Deno.test("readTarball() reads GNU long names", async () => {
  const long = `${"deep/".repeat(30)}file.js`;
  const files = await readTarball(await gnuTar({ [long]: "x" }, "gnu"), ROOMY);
  assert.deepEqual(files.map((f) => f.path), [long]);
});

Deno.test("paxRecords() cuts records by their byte length", () => {
  const bytes = new TextEncoder().encode("26 path=package/fïlé.js\n17 uname=someone\n");
  assert.deepEqual([...paxRecords(bytes)], [["path", "package/fïlé.js"], ["uname", "someone"]]);
  assert.throws(() => paxRecords(new TextEncoder().encode("99 path=short\n")), TypeError);
});

Deno.test("readTarball() refuses more files or bytes than the limits, before reading the content", async () => {
  const tgz = await gnuTar({ "a.js": "a", "b.js": "b", "c.js": "c" }, "pax");
  await assert.rejects(readTarball(tgz, { maxBytes: 1000, maxFiles: 2 }), (e: unknown) => {
    assert.ok(e instanceof TarLimitError && e.limit === "files", String(e));
    return true;
  });
  const big = await gnuTar({ "big.js": "x".repeat(5000) }, "pax");
  await assert.rejects(readTarball(big, { maxBytes: 4000, maxFiles: 10 }), { name: "TarLimitError", limit: "bytes" });
  // A header announcing 8 GiB (or a base-256 size) is refused from the header: the body is never decompressed.
  for (const size of [8 * 1024 ** 3, "base256"] as const) {
    const bomb = await gzip(header("package/bomb.bin", size));
    await assert.rejects(readTarball(bomb, ROOMY), { name: "TarLimitError", limit: "bytes" });
  }
});

Deno.test("readTarball() refuses unsafe paths, bad checksums and truncated archives", async () => {
  await assert.rejects(readTarball(await gzip(header("package/../../etc/passwd", 0)), ROOMY), /unsafe path/);
  await assert.rejects(readTarball(await gzip(header("/etc/passwd", 0)), ROOMY), /unsafe path/);
  const corrupt = header("package/a.js", 0);
  corrupt[0] = "b".charCodeAt(0);
  await assert.rejects(readTarball(await gzip(corrupt), ROOMY), /checksum/);
  await assert.rejects(readTarball(await gzip(header("package/a.js", 100)), ROOMY), /truncated/);
});

Deno.test("unpackTarball() refuses a package over a limit, naming it and the variable", async () => {
  const tgz = await gnuTar({ "a.js": "a", "b.js": "b" }, "pax");
  await assert.rejects(unpackTarball(tgz, { maxBytes: 1000, maxFiles: 1, label: "npm:x@1.0.0" }), (e: unknown) => {
    assert.ok(e instanceof PackageError && e.kind === "refused");
    assert.equal(e.message, "Refusing npm:x@1.0.0: it holds more than 1 files (IMBI_PACKAGE_MAX_FILES)");
    return true;
  });
});
