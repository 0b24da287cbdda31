/**
 * The read side of the JSR registry protocol: package meta (versions with
 * creation times), version meta (per-file sha256 checksums and exports), and
 * file downloads verified against those checksums.
 *
 * @module
 */

import { PackageError } from "../errors.ts";
import { checkSri, hexHash, sriHash } from "./integrity.ts";
import type { VersionChoice } from "./npm.ts";

/** `<JSR_URL>/@scope/name/<version>_meta.json`, the parts this code reads. */
export interface JsrVersionMeta {
  /** Every file of the version by path (`/mod.ts`), with its size and `sha256-<hex>` checksum. */
  manifest: Record<string, { size: number; checksum: string }>;
  /** The version's `exports`, as its deno.json declared them. */
  exports?: Record<string, string>;
}

function base(jsrUrl: string): string {
  return jsrUrl.endsWith("/") ? jsrUrl.slice(0, -1) : jsrUrl;
}

async function get(url: string, label: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (error) {
    throw new PackageError("registry", `Cannot reach the JSR registry for ${label} (${url}): ${error}`, {
      cause: error,
    });
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new PackageError(
      "registry",
      res.status === 404
        ? `The JSR registry has no ${label} (${url})`
        : `The JSR registry answered ${res.status} for ${url}`,
    );
  }
  return res;
}

/**
 * Lists a JSR package's versions with their creation times, yanked versions left out.
 *
 * @param jsrUrl Registry base URL.
 * @param name `@scope/name`.
 * @throws {PackageError} kind `registry` when unreachable or unknown.
 */
export async function jsrVersions(jsrUrl: string, name: string): Promise<VersionChoice[]> {
  const res = await get(`${base(jsrUrl)}/${name}/meta.json`, `jsr:${name}`);
  const meta = await res.json() as { versions?: Record<string, { yanked?: boolean; createdAt?: string }> };
  if (typeof meta?.versions !== "object" || meta.versions === null) {
    throw new PackageError("registry", `The JSR registry sent meta for jsr:${name} without versions`);
  }
  return Object.entries(meta.versions).filter(([, v]) => !v?.yanked).map(([version, v]) => {
    const at = v?.createdAt ? new Date(v.createdAt) : null;
    return { version, publishedAt: at && !Number.isNaN(at.getTime()) ? at : null };
  });
}

/**
 * Downloads a version's meta, checks it against the pinned integrity, then
 * downloads every file it lists and checks each against its sha256.
 *
 * @param jsrUrl Registry base URL.
 * @param name `@scope/name`.
 * @param version The exact version.
 * @param options `expectedIntegrity` (the lockfile's) for the version meta; `onFile` per downloaded file.
 * @returns The meta's bytes and parsed form, its integrity (sha256 SRI), and the files by path (without the leading `/`).
 * @throws {PackageError} kind `registry` on network or HTTP failures; kind `refused` on a checksum or integrity
 *   mismatch, naming both hashes.
 */
export async function downloadJsrVersion(
  jsrUrl: string,
  name: string,
  version: string,
  options: { expectedIntegrity?: string; onFile?: (path: string, done: number, total: number) => void } = {},
): Promise<{ metaBytes: Uint8Array; meta: JsrVersionMeta; integrity: string; files: Map<string, Uint8Array> }> {
  const label = `jsr:${name}@${version}`;
  const res = await get(`${base(jsrUrl)}/${name}/${version}_meta.json`, label);
  const metaBytes = new Uint8Array(await res.arrayBuffer());
  const integrity = await sriHash(metaBytes, "sha256");
  if (options.expectedIntegrity && options.expectedIntegrity !== integrity) {
    const check = await checkSri(metaBytes, options.expectedIntegrity);
    if (!check.ok) {
      throw new PackageError(
        "refused",
        `Refusing ${label}: the registry's version meta does not match plugins.lock.json ` +
          `(expected ${options.expectedIntegrity}, actual ${check.actual})`,
        { extra: { package: name, expected: options.expectedIntegrity, actual: check.actual } },
      );
    }
  }
  const meta = parseVersionMeta(metaBytes, label);
  const files = new Map<string, Uint8Array>();
  const paths = Object.keys(meta.manifest).sort();
  for (const [i, path] of paths.entries()) {
    const fileRes = await get(`${base(jsrUrl)}/${name}/${version}${path}`, `${label} file ${path}`);
    const bytes = new Uint8Array(await fileRes.arrayBuffer());
    await verifyJsrFile(label, path, bytes, meta.manifest[path]!.checksum);
    files.set(path.slice(1), bytes);
    options.onFile?.(path, i + 1, paths.length);
  }
  return { metaBytes, meta, integrity, files };
}

/**
 * Parses and sanity-checks version meta bytes.
 *
 * @throws {PackageError} kind `registry` when malformed or a path is unsafe.
 */
export function parseVersionMeta(bytes: Uint8Array, label: string): JsrVersionMeta {
  let meta: JsrVersionMeta;
  try {
    meta = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new PackageError("registry", `The version meta of ${label} is not JSON`, { cause: error });
  }
  if (typeof meta?.manifest !== "object" || meta.manifest === null) {
    throw new PackageError("registry", `The version meta of ${label} has no manifest`);
  }
  for (const [path, file] of Object.entries(meta.manifest)) {
    if (!path.startsWith("/") || path.split("/").some((p) => p === "..") || path.includes("\\")) {
      throw new PackageError("registry", `The version meta of ${label} lists an unsafe path ${path}`);
    }
    if (typeof file?.checksum !== "string" || !/^sha256-[0-9a-f]{64}$/.test(file.checksum)) {
      throw new PackageError("registry", `The version meta of ${label} has no sha256 checksum for ${path}`);
    }
  }
  return meta;
}

/**
 * Checks one file against its `sha256-<hex>` checksum from the version meta.
 *
 * @throws {PackageError} kind `refused`, naming the package, the file and both hashes.
 */
export async function verifyJsrFile(label: string, path: string, bytes: Uint8Array, checksum: string): Promise<void> {
  const actual = `sha256-${await hexHash(bytes, "sha256")}`;
  if (actual !== checksum) {
    throw new PackageError(
      "refused",
      `Refusing ${label}: file ${path} does not match its checksum (expected ${checksum}, actual ${actual})`,
      { extra: { package: label, file: path, expected: checksum, actual } },
    );
  }
}
