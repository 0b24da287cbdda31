/**
 * Reading npm package tarballs (gzip + ustar, with pax and GNU long names):
 * enough to unpack a package into the store, refusing any path that would
 * land outside the target directory, and any archive that unpacks to more
 * bytes or files than the limits allow.
 *
 * Written here rather than taken from `npm:tar-stream` or `npm:tar`: both
 * are built on Node streams (and `tar` on the file system), while this
 * needs one pass over bytes already in memory, three record types, and
 * limits checked from each header before its body is decompressed. The
 * archive is decompressed as a stream, so a gzip bomb stops at the limit
 * instead of filling memory.
 *
 * @module
 */

import { PackageError } from "../errors.ts";

/** One regular file from a tarball. */
export interface TarFile {
  /** Path inside the archive with the first component (npm's `package/`) removed. */
  path: string;
  /** The file's content. */
  bytes: Uint8Array;
}

/** The most a tarball may unpack to. */
export interface TarLimits {
  /** Total size of every entry's content (files and extended headers), bytes. */
  maxBytes: number;
  /** Number of entries (files, directories, links), extended headers not counted. */
  maxFiles: number;
}

/** A tarball is over a {@linkcode TarLimits} limit. */
export class TarLimitError extends RangeError {
  /** Always `"TarLimitError"`. */
  override name = "TarLimitError";
  /** Which limit. */
  readonly limit: "bytes" | "files";
  /**
   * Makes the error.
   *
   * @param limit Which limit.
   * @param message What was found.
   */
  constructor(limit: "bytes" | "files", message: string) {
    super(message);
    this.limit = limit;
  }
}

const decoder = new TextDecoder();
const BLOCK = 512;
/** Largest pax or GNU long-name record accepted: names are short, a bigger one is an attack. */
const MAX_META_BYTES = 1024 * 1024;

function field(block: Uint8Array, offset: number, length: number): string {
  const slice = block.subarray(offset, offset + length);
  const end = slice.indexOf(0);
  return decoder.decode(end < 0 ? slice : slice.subarray(0, end));
}

function octal(block: Uint8Array, offset: number, length: number): number {
  if ((block[offset] ?? 0) & 0x80) return Number.POSITIVE_INFINITY; // base-256: beyond any limit here
  const text = field(block, offset, length).trim();
  if (text !== "" && !/^[0-7]+$/.test(text)) throw new TypeError("malformed tarball: a header field is not octal");
  return text === "" ? 0 : parseInt(text, 8);
}

function checksumOk(header: Uint8Array): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
  return sum === octal(header, 148, 8);
}

/**
 * The records of a pax extended header. Each is `<length> <key>=<value>\n`,
 * where the length counts bytes (UTF-8), so records are cut out of the
 * bytes before any of them is decoded.
 *
 * @param bytes The header's body.
 * @returns The records by key.
 * @throws {TypeError} When a record's length does not fit the body.
 */
export function paxRecords(bytes: Uint8Array): Map<string, string> {
  const records = new Map<string, string>();
  let i = 0;
  while (i < bytes.length && bytes[i] !== 0) {
    const space = bytes.indexOf(0x20, i);
    const length = space < 0 ? NaN : Number(decoder.decode(bytes.subarray(i, space)));
    if (!Number.isInteger(length) || length <= space - i + 1 || i + length > bytes.length) {
      throw new TypeError("malformed tarball: a pax record's length does not fit");
    }
    const record = decoder.decode(bytes.subarray(space + 1, i + length - 1)); // without the trailing newline
    const eq = record.indexOf("=");
    if (eq > 0) records.set(record.slice(0, eq), record.slice(eq + 1));
    i += length;
  }
  return records;
}

/**
 * Safe relative path from an archive member name, with the first component stripped.
 *
 * @returns The path, or undefined for the top directory itself.
 * @throws {TypeError} When the name is absolute or climbs out with `..`.
 */
function stripAndCheck(name: string): string | undefined {
  const parts = name.replaceAll("\\", "/").split("/").filter((p) => p !== "" && p !== ".");
  if (name.startsWith("/") || parts.includes("..") || name.includes("\0")) {
    throw new TypeError(`unsafe path in tarball: ${JSON.stringify(name)}`);
  }
  parts.shift();
  return parts.length === 0 ? undefined : parts.join("/");
}

/** Reads exact byte counts from the decompressed stream, pulling chunks as needed. */
class ByteQueue {
  #source: AsyncIterator<Uint8Array>;
  #chunks: Uint8Array[] = [];
  #length = 0;
  #done = false;

  constructor(chunks: AsyncIterable<Uint8Array>) {
    this.#source = chunks[Symbol.asyncIterator]();
  }

  /** The next `n` bytes, or fewer at the end of the stream. */
  async read(n: number): Promise<Uint8Array> {
    while (this.#length < n && !this.#done) {
      const next = await this.#source.next();
      if (next.done) this.#done = true;
      else {
        this.#chunks.push(next.value);
        this.#length += next.value.length;
      }
    }
    const out = new Uint8Array(Math.min(n, this.#length));
    let offset = 0;
    while (offset < out.length) {
      const chunk = this.#chunks[0]!;
      const take = Math.min(chunk.length, out.length - offset);
      out.set(chunk.subarray(0, take), offset);
      offset += take;
      if (take === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(take);
    }
    this.#length -= out.length;
    return out;
  }

  /** Stops decompressing. */
  async close(): Promise<void> {
    await this.#source.return?.();
  }
}

function gunzipStream(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream("gzip"));
}

/**
 * Lists the regular files of a gzip-compressed tarball, within limits.
 *
 * @param tgz The tarball bytes.
 * @param limits The most it may unpack to.
 * @returns Every regular file; directories, links and devices are skipped.
 * @throws {TarLimitError} As soon as a header announces more bytes or files than the limits allow.
 * @throws {TypeError} When the archive is malformed or holds an unsafe path.
 */
export async function readTarball(tgz: Uint8Array, limits: TarLimits): Promise<TarFile[]> {
  const queue = new ByteQueue(gunzipStream(tgz));
  const files: TarFile[] = [];
  let unpacked = 0;
  let members = 0;
  let pending = 0; // extended headers read for the next member
  let pax = new Map<string, string>();
  let longName: string | undefined;
  try {
    for (;;) {
      const header = await queue.read(BLOCK);
      if (header.length < BLOCK) throw new TypeError("truncated tarball");
      if (header.every((b) => b === 0)) break;
      if (!checksumOk(header)) throw new TypeError("malformed tarball: a header checksum does not match");
      const type = String.fromCharCode(header[156] ?? 0);
      const size = pax.has("size") ? Number(pax.get("size")) : octal(header, 124, 12);
      if (!(size >= 0)) throw new TypeError("malformed tarball: a size is not a number");
      const extended = type === "x" || type === "L";
      if (extended && (size > MAX_META_BYTES || ++pending > 2)) {
        throw new TypeError("malformed tarball: too many or too large extended headers");
      }
      // Every entry's body counts, and every entry but an extended header is a member.
      if (unpacked + size > limits.maxBytes) {
        throw new TarLimitError("bytes", `it unpacks to more than ${limits.maxBytes} bytes`);
      }
      if (!extended && ++members > limits.maxFiles) {
        throw new TarLimitError("files", `it holds more than ${limits.maxFiles} files`);
      }
      unpacked += size;
      const body = await queue.read(size);
      if (body.length !== size) throw new TypeError("truncated tarball");
      await queue.read((BLOCK - (size % BLOCK)) % BLOCK);
      if (type === "x") {
        pax = paxRecords(body);
        continue;
      }
      if (type === "L") {
        longName = field(body, 0, body.length);
        continue;
      }
      const prefix = field(header, 345, 155);
      const name = pax.get("path") ?? longName ??
        (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
      pax = new Map();
      longName = undefined;
      pending = 0;
      if (type !== "0" && type !== "\0" && type !== "7") continue; // directories, links, devices, global headers
      const path = stripAndCheck(name);
      if (path !== undefined) files.push({ path, bytes: body });
    }
  } finally {
    await queue.close();
  }
  return files;
}

/**
 * {@linkcode readTarball} for the package store: a tarball it cannot use is
 * a refused package, naming the package and the limit's variable.
 *
 * @param tgz The verified tarball.
 * @param options The limits and the package's label.
 * @returns Every regular file.
 * @throws {PackageError} kind `refused`, e.g. `Refusing npm:x@1.0.0: it holds more than 10000 files (IMBI_PACKAGE_MAX_FILES)`.
 */
export async function unpackTarball(tgz: Uint8Array, options: TarLimits & { label: string }): Promise<TarFile[]> {
  try {
    return await readTarball(tgz, options);
  } catch (error) {
    const which = error instanceof TarLimitError
      ? ` (${error.limit === "bytes" ? "IMBI_PACKAGE_MAX_SIZE_MB" : "IMBI_PACKAGE_MAX_FILES"})`
      : "";
    throw new PackageError("refused", `Refusing ${options.label}: ${(error as Error).message}${which}`, {
      cause: error,
    });
  }
}
