/**
 * Reading npm package tarballs (gzip + ustar, with pax and GNU long names):
 * enough to unpack a package into the store, refusing any path that would
 * land outside the target directory.
 *
 * @module
 */

/** One regular file from a tarball. */
export interface TarFile {
  /** Path inside the archive with the first component (npm's `package/`) removed. */
  path: string;
  /** The file's content. */
  bytes: Uint8Array;
}

const decoder = new TextDecoder();

function field(block: Uint8Array, offset: number, length: number): string {
  const slice = block.subarray(offset, offset + length);
  const end = slice.indexOf(0);
  return decoder.decode(end < 0 ? slice : slice.subarray(0, end));
}

function octal(block: Uint8Array, offset: number, length: number): number {
  const text = field(block, offset, length).trim();
  return text === "" ? 0 : parseInt(text, 8);
}

function paxPath(bytes: Uint8Array): string | undefined {
  const text = decoder.decode(bytes);
  let i = 0;
  while (i < text.length) {
    const space = text.indexOf(" ", i);
    if (space < 0) break;
    const length = Number(text.slice(i, space));
    if (!Number.isFinite(length) || length <= 0) break;
    const record = text.slice(space + 1, i + length - 1);
    const eq = record.indexOf("=");
    if (record.slice(0, eq) === "path") return record.slice(eq + 1);
    i += length;
  }
  return undefined;
}

/**
 * Decompresses gzip bytes.
 *
 * @param bytes A `.tgz`.
 * @returns The tar bytes.
 */
export async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Safe relative path from an archive member name, with the first component stripped.
 *
 * @returns The path, or undefined for the top directory itself.
 * @throws {TypeError} When the name is absolute or climbs out with `..`.
 */
function stripAndCheck(name: string): string | undefined {
  const parts = name.replaceAll("\\", "/").split("/").filter((p) => p !== "" && p !== ".");
  if (name.startsWith("/") || parts.includes("..")) throw new TypeError(`unsafe path in tarball: ${name}`);
  parts.shift();
  return parts.length === 0 ? undefined : parts.join("/");
}

/**
 * Lists the regular files of a gzip-compressed tarball.
 *
 * @param tgz The tarball bytes.
 * @returns Every regular file; directories, links and devices are skipped.
 * @throws {TypeError} When the archive is malformed or holds an unsafe path.
 */
export async function readTarball(tgz: Uint8Array): Promise<TarFile[]> {
  const tar = await gunzip(tgz);
  const files: TarFile[] = [];
  let offset = 0;
  let longName: string | undefined;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const size = octal(header, 124, 12);
    const type = String.fromCharCode(header[156] ?? 0);
    const bodyStart = offset + 512;
    const body = tar.subarray(bodyStart, bodyStart + size);
    if (body.length !== size) throw new TypeError("truncated tarball");
    offset = bodyStart + Math.ceil(size / 512) * 512;
    if (type === "x") {
      longName = paxPath(body) ?? longName;
      continue;
    }
    if (type === "L") {
      longName = field(body, 0, body.length);
      continue;
    }
    if (type === "g") continue;
    const prefix = field(header, 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    longName = undefined;
    if (type !== "0" && type !== "\0" && type !== "7") continue;
    const path = stripAndCheck(name);
    if (path !== undefined) files.push({ path, bytes: body.slice() });
  }
  return files;
}
