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
import type { RegistryClient } from "./registry_client.ts";
import type { TarLimits } from "./tar.ts";

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

async function get(client: RegistryClient, url: string, label: string, maxBytes?: number): Promise<Uint8Array> {
  const res = await client.get(url, {
    label,
    registry: `the JSR registry ${new URL(url).origin}`,
    ...(maxBytes !== undefined ? { maxBytes } : {}),
  });
  if (res.status < 200 || res.status > 299) {
    throw new PackageError(
      "registry",
      res.status === 404
        ? `The JSR registry has no ${label} (${url})`
        : `The JSR registry answered ${res.status} for ${url}`,
    );
  }
  return res.bytes;
}

/**
 * Lists a JSR package's versions with their creation times, yanked versions left out.
 *
 * @param client The registry client (credentials, deadline, retries).
 * @param jsrUrl Registry base URL.
 * @param name `@scope/name`.
 * @returns Every version that is not yanked.
 * @throws {PackageError} kind `registry` when unreachable or unknown.
 */
export async function jsrVersions(client: RegistryClient, jsrUrl: string, name: string): Promise<VersionChoice[]> {
  const bytes = await get(client, `${base(jsrUrl)}/${name}/meta.json`, `jsr:${name}`);
  let meta: { versions?: Record<string, { yanked?: boolean; createdAt?: string }> };
  try {
    meta = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new PackageError("registry", `The JSR registry sent meta for jsr:${name} that is not JSON`, { cause: error });
  }
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
 * @param at The registry client and base URL, and the package's `@scope/name`.
 * @param version The exact version.
 * @param options The size and file limits, `expectedIntegrity` (the lockfile's) for the version meta, `onFile` per
 *   downloaded file.
 * @returns The meta's bytes and parsed form, its integrity (sha256 SRI), and the files by path (without the leading `/`).
 * @throws {PackageError} kind `registry` on network or HTTP failures; kind `refused` on a checksum or integrity
 *   mismatch (naming both hashes), or a version over the size or file limits.
 */
export async function downloadJsrVersion(
  at: { client: RegistryClient; jsrUrl: string; name: string },
  version: string,
  options: {
    limits: TarLimits;
    expectedIntegrity?: string;
    onFile?: (path: string, done: number, total: number) => void;
  },
): Promise<{ metaBytes: Uint8Array; meta: JsrVersionMeta; integrity: string; files: Map<string, Uint8Array> }> {
  const { client, jsrUrl, name } = at;
  const label = `jsr:${name}@${version}`;
  const metaBytes = await get(client, `${base(jsrUrl)}/${name}/${version}_meta.json`, label);
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
  const paths = Object.keys(meta.manifest).sort();
  const size = Object.values(meta.manifest).reduce((sum, file) => sum + (Number(file.size) || 0), 0);
  if (paths.length > options.limits.maxFiles || size > options.limits.maxBytes) {
    const what = paths.length > options.limits.maxFiles
      ? `it holds more than ${options.limits.maxFiles} files`
      : `it unpacks to more than ${options.limits.maxBytes} bytes`;
    throw new PackageError("refused", `Refusing ${label}: ${what} (IMBI_PACKAGE_MAX_FILES, IMBI_PACKAGE_MAX_SIZE_MB)`, {
      extra: { package: name },
    });
  }
  const files = new Map<string, Uint8Array>();
  for (const [i, path] of paths.entries()) {
    const declared = Number(meta.manifest[path]!.size);
    const bytes = await get(
      client,
      `${base(jsrUrl)}/${name}/${version}${path}`,
      `${label} file ${path}`,
      Number.isSafeInteger(declared) && declared >= 0 ? declared : options.limits.maxBytes,
    );
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
