/**
 * Content hashes in Subresource Integrity form (`sha512-<base64>`), computed
 * with Web Crypto, and a deterministic hash of a local directory tree.
 *
 * @module
 */

import { fromBase64, toBase64, toHex } from "../encoding.ts";

/** Digest algorithms the lockfile accepts. */
export type IntegrityAlgorithm = "sha256" | "sha512";

const WEB_CRYPTO: Record<IntegrityAlgorithm, string> = { sha256: "SHA-256", sha512: "SHA-512" };
const SRI_PATTERN = /^(sha256|sha512)-([A-Za-z0-9+/]+={0,2})$/;
const DIGEST_BYTES: Record<IntegrityAlgorithm, number> = { sha256: 32, sha512: 64 };

/** Directory names the tree hash skips wherever they appear. */
export const TREE_HASH_IGNORED: readonly string[] = [".git", "node_modules", "dist"];

/**
 * Digests bytes with Web Crypto.
 *
 * @param bytes The content.
 * @param algorithm `sha256` or `sha512`.
 * @returns The raw digest.
 */
export async function digest(bytes: Uint8Array, algorithm: IntegrityAlgorithm): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest(WEB_CRYPTO[algorithm], bytes as Uint8Array<ArrayBuffer>));
}

/**
 * Hashes bytes into an SRI string.
 *
 * @param bytes The content.
 * @param algorithm `sha256` or `sha512` (default `sha512`).
 * @returns e.g. `"sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg=="`.
 * @example
 * ```ts
 * const sri = await sriHash(new TextEncoder().encode("hi"), "sha256");
 * ```
 */
export async function sriHash(bytes: Uint8Array, algorithm: IntegrityAlgorithm = "sha512"): Promise<string> {
  return `${algorithm}-${toBase64(await digest(bytes, algorithm))}`;
}

/**
 * Hashes bytes into lowercase hex, the form JSR uses in `sha256-<hex>` checksums.
 *
 * @param bytes The content.
 * @param algorithm `sha256` or `sha512` (default `sha256`).
 * @returns The hex digest.
 */
export async function hexHash(bytes: Uint8Array, algorithm: IntegrityAlgorithm = "sha256"): Promise<string> {
  return toHex(await digest(bytes, algorithm));
}

/**
 * Splits an SRI string into algorithm and digest.
 *
 * @param sri e.g. `sha256-…`.
 * @returns The parts, or undefined when the string is not one `sha256`/`sha512` SRI hash of the right length.
 */
export function parseSri(sri: string): { algorithm: IntegrityAlgorithm; digest: Uint8Array } | undefined {
  const match = SRI_PATTERN.exec(sri);
  if (!match) return undefined;
  const algorithm = match[1] as IntegrityAlgorithm;
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(match[2]!);
  } catch {
    return undefined;
  }
  if (bytes.length !== DIGEST_BYTES[algorithm]) return undefined;
  return { algorithm, digest: bytes };
}

/**
 * Hashes bytes with the algorithm of an expected SRI hash.
 *
 * @param bytes The content to check.
 * @param expected The SRI hash it should have.
 * @returns `{ok, actual}`: `actual` is the content's SRI hash in `expected`'s algorithm.
 * @throws {TypeError} When `expected` is not an SRI hash.
 */
export async function checkSri(bytes: Uint8Array, expected: string): Promise<{ ok: boolean; actual: string }> {
  const parsed = parseSri(expected);
  if (!parsed) throw new TypeError(`"${expected}" is not a sha256 or sha512 SRI hash`);
  const actual = await sriHash(bytes, parsed.algorithm);
  return { ok: actual === expected, actual };
}

/**
 * A short, path-safe prefix of an SRI hash's digest, used in store directory names.
 *
 * @param sri An SRI hash.
 * @param length Hex characters to keep (default 16).
 * @returns Lowercase hex.
 * @throws {TypeError} When `sri` is not an SRI hash.
 */
export function integrityPrefix(sri: string, length = 16): string {
  const parsed = parseSri(sri);
  if (!parsed) throw new TypeError(`"${sri}" is not a sha256 or sha512 SRI hash`);
  return toHex(parsed.digest).slice(0, length);
}

/**
 * Lists a directory's regular files as sorted `/`-separated relative paths,
 * skipping {@linkcode TREE_HASH_IGNORED} directories. Symbolic links are
 * refused: a tree that points outside itself cannot be hashed honestly.
 *
 * @param dir The directory.
 * @returns Relative paths, sorted by code unit.
 * @throws {TypeError} When the tree holds a symbolic link.
 */
export async function listTree(dir: string): Promise<string[]> {
  const files: string[] = [];
  async function walk(rel: string): Promise<void> {
    const abs = rel === "" ? dir : `${dir}/${rel}`;
    for await (const entry of Deno.readDir(abs)) {
      const path = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (entry.isSymlink) throw new TypeError(`Cannot hash ${dir}: ${path} is a symbolic link`);
      if (entry.isDirectory) {
        if (!TREE_HASH_IGNORED.includes(entry.name)) await walk(path);
      } else if (entry.isFile) {
        files.push(path);
      }
    }
  }
  await walk("");
  return files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Deterministic hash of a directory tree: the sha256 of the text made of one
 * line `<relative path>\0<sha256 hex of the file>\n` per file, in sorted path
 * order. File modes, times and the ignored directories play no part.
 *
 * @param dir The directory.
 * @returns An SRI string `sha256-…`.
 * @throws {TypeError} When the tree holds a symbolic link.
 * @throws {Deno.errors.NotFound} When `dir` does not exist.
 */
export async function hashTree(dir: string): Promise<string> {
  const lines: string[] = [];
  for (const path of await listTree(dir)) {
    lines.push(`${path}\0${await hexHash(await Deno.readFile(`${dir}/${path}`))}\n`);
  }
  return await sriHash(new TextEncoder().encode(lines.join("")), "sha256");
}
