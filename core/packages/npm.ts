/**
 * The read side of the npm registry protocol: packuments, version choice
 * under a minimum-age policy, and verified tarball downloads.
 *
 * @module
 */

import semver from "semver";
import { toHex } from "../encoding.ts";
import { PackageError } from "../errors.ts";
import { checkSri, sriHash } from "./integrity.ts";
import type { DownloadProgress, RegistryClient } from "./registry_client.ts";

/** The parts of a packument this code reads. */
export interface Packument {
  /** The package name. */
  name: string;
  /** Every published version with where its tarball is and its hashes. */
  versions: Record<string, { dist?: { tarball?: string; integrity?: string; shasum?: string } }>;
  /** When each version was published (ISO 8601), by version. */
  time?: Record<string, string>;
}

/**
 * The registry URL of a package's packument.
 *
 * @param registry Base URL, with or without a trailing slash.
 * @param name Package name, scoped or not.
 */
export function packumentUrl(registry: string, name: string): string {
  const base = registry.endsWith("/") ? registry : `${registry}/`;
  return `${base}${name.startsWith("@") ? `@${encodeURIComponent(name.slice(1))}` : encodeURIComponent(name)}`;
}

/**
 * Fetches a package's full packument (with publish times).
 *
 * @param client The registry client (credentials, deadline, retries).
 * @param registry The registry's base URL.
 * @param name The package name.
 * @returns The packument.
 * @throws {PackageError} kind `registry` when the registry is unreachable, answers an error, or has no such package.
 */
export async function fetchPackument(client: RegistryClient, registry: string, name: string): Promise<Packument> {
  const url = packumentUrl(registry, name);
  const res = await client.get(url, {
    label: `npm:${name}`,
    registry: `the npm registry ${registry}`,
    accept: "application/json",
  });
  if (res.status === 404) throw new PackageError("registry", `The npm registry ${registry} has no package "${name}"`);
  if (res.status < 200 || res.status > 299) {
    throw new PackageError("registry", `The npm registry ${registry} answered ${res.status} for "${name}"`);
  }
  let body: Packument;
  try {
    body = JSON.parse(new TextDecoder().decode(res.bytes));
  } catch (error) {
    throw new PackageError("registry", `The npm registry ${registry} sent a packument for "${name}" that is not JSON`, {
      cause: error,
    });
  }
  if (typeof body !== "object" || body === null || typeof body.versions !== "object" || body.versions === null) {
    throw new PackageError("registry", `The npm registry ${registry} sent a packument for "${name}" without versions`);
  }
  return body;
}

/** A version that satisfies a range, with when it was published. */
export interface VersionChoice {
  /** The exact version. */
  version: string;
  /** When the registry published it; null when it does not say. */
  publishedAt: Date | null;
}

/**
 * Picks the highest version satisfying `range` among those at least
 * `minAgeMs` old.
 *
 * @param versions Every version with its publish time (null when unknown: treated as old enough).
 * @param range A semver range or exact version.
 * @param minAgeMs Minimum age; 0 turns the policy off.
 * @param now The current time.
 * @param label The package, for messages, e.g. `npm:@scope/name`.
 * @returns The chosen version.
 * @throws {PackageError} kind `registry` when no version satisfies the range;
 *   kind `too_young` when some do but none is old enough, saying when the
 *   first becomes installable.
 */
export function chooseVersion(
  versions: VersionChoice[],
  range: string,
  options: { minAgeMs: number; now: Date; label: string },
): VersionChoice {
  const { minAgeMs, now, label } = options;
  if (semver.validRange(range) === null) {
    throw new PackageError("registry", `"${range}" is not a version or semver range for ${label}`);
  }
  const matching = versions.filter((v) => semver.valid(v.version) && semver.satisfies(v.version, range))
    .sort((a, b) => semver.rcompare(a.version, b.version));
  if (matching.length === 0) {
    throw new PackageError("registry", `${label} has no version matching "${range}"`, {
      extra: { range },
    });
  }
  const oldEnough = (v: VersionChoice) =>
    minAgeMs <= 0 || v.publishedAt === null || now.getTime() - v.publishedAt.getTime() >= minAgeMs;
  const chosen = matching.find(oldEnough);
  if (chosen) return chosen;
  const soonest = matching.reduce((a, b) => (a.publishedAt!.getTime() <= b.publishedAt!.getTime() ? a : b));
  const installableAt = new Date(soonest.publishedAt!.getTime() + minAgeMs);
  throw new PackageError(
    "too_young",
    `${label}@${soonest.version} was published at ${soonest.publishedAt!.toISOString()}, less than the minimum ` +
      `package age of ${formatDuration(minAgeMs)} ago; it becomes installable at ${installableAt.toISOString()}`,
    {
      extra: {
        version: soonest.version,
        published_at: soonest.publishedAt!.toISOString(),
        installable_at: installableAt.toISOString(),
      },
    },
  );
}

/**
 * Formats milliseconds the way `IMBI_MIN_PACKAGE_AGE` is written (`24h`, `90m`).
 *
 * @param ms Milliseconds.
 */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/**
 * Every version of a packument with its publish time.
 *
 * @param packument The packument.
 */
export function packumentVersions(packument: Packument): VersionChoice[] {
  return Object.keys(packument.versions).map((version) => {
    const time = packument.time?.[version];
    const parsed = time ? new Date(time) : null;
    return { version, publishedAt: parsed && !Number.isNaN(parsed.getTime()) ? parsed : null };
  });
}

/**
 * Downloads a version's tarball and checks it against the registry's own
 * integrity claim (`dist.integrity`, or the legacy sha1 `dist.shasum`).
 *
 * @param packument The package's packument.
 * @param version The exact version.
 * @param options The registry client and base URL, the most bytes the tarball may have, and `expectedIntegrity` (the
 *   lockfile's), which must then equal both the registry's claim and the bytes.
 * @returns The tarball and its lock integrity (the registry's sha512 SRI, or one computed when it only had sha1).
 * @throws {PackageError} kind `registry` on a network or HTTP failure or a mismatch; kind `refused` when the bytes
 *   or the registry's claim differ from `expectedIntegrity` (the message names both hashes).
 */
export async function downloadTarball(
  packument: Packument,
  version: string,
  options: {
    client: RegistryClient;
    registry: string;
    maxBytes: number;
    expectedIntegrity?: string;
    onProgress?: DownloadProgress;
  },
): Promise<{ tarball: Uint8Array; integrity: string }> {
  const label = `npm:${packument.name}@${version}`;
  const dist = packument.versions[version]?.dist;
  if (!dist?.tarball) throw new PackageError("registry", `The npm registry has no tarball for ${label}`);
  const claimed = dist.integrity?.split(/\s+/).find((h) => h.startsWith("sha512-")) ?? dist.integrity?.split(/\s+/)[0];
  const expected = options.expectedIntegrity;
  if (expected && claimed && claimed !== expected && claimed.split("-")[0] === expected.split("-")[0]) {
    throw new PackageError(
      "refused",
      `Refusing ${label}: the registry now reports integrity ${claimed} but plugins.lock.json pins ${expected}`,
      { extra: { package: packument.name, expected, actual: claimed } },
    );
  }
  const res = await options.client.get(dist.tarball, {
    label,
    registry: `the npm registry ${options.registry}`,
    maxBytes: options.maxBytes,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  if (res.status < 200 || res.status > 299) {
    throw new PackageError("registry", `Downloading ${label} from ${dist.tarball} answered ${res.status}`);
  }
  const tarball = res.bytes;
  if (claimed) {
    const check = await checkSri(tarball, claimed);
    if (!check.ok) {
      throw new PackageError(
        "refused",
        `Refusing ${label}: the tarball from ${options.registry} does not match the registry's own integrity ` +
          `(expected ${claimed}, actual ${check.actual})`,
        { extra: { package: packument.name, expected: claimed, actual: check.actual } },
      );
    }
  } else if (dist.shasum) {
    const sha1 = await crypto.subtle.digest("SHA-1", tarball as Uint8Array<ArrayBuffer>);
    const actual = toHex(new Uint8Array(sha1));
    if (actual !== dist.shasum) {
      throw new PackageError(
        "refused",
        `Refusing ${label}: the tarball does not match the registry's shasum (expected ${dist.shasum}, actual ${actual})`,
        { extra: { package: packument.name, expected: dist.shasum, actual } },
      );
    }
  } else {
    throw new PackageError("registry", `The npm registry gives no integrity for ${label}`);
  }
  const integrity = claimed?.startsWith("sha512-") ? claimed : await sriHash(tarball, "sha512");
  if (expected) {
    const check = await checkSri(tarball, expected);
    if (!check.ok) {
      throw new PackageError(
        "refused",
        `Refusing ${label}: the downloaded content does not match plugins.lock.json ` +
          `(expected ${expected}, actual ${check.actual})`,
        { extra: { package: packument.name, expected, actual: check.actual } },
      );
    }
  }
  return { tarball, integrity };
}
