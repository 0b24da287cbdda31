/**
 * The package store: resolves plugin package specifiers to exact versions,
 * fetches and verifies their content, turns each into one self-contained ESM
 * bundle, and keeps the result under `<dataDir>/packages` so a restart with a
 * warm cache needs no network.
 *
 * Layout of one stored package, `<store>/<sanitized name>@<version>-<hash prefix>/`:
 * - `package.tgz` and `source/` (npm), `meta.json` and `source/` (JSR), nothing
 *   of the source for a local path (it is re-hashed in place at every load);
 * - `bundle.js`, the only file a plugin process may read;
 * - `store.json`, the record of what was verified (integrity, source tree and bundle hashes);
 * - `inspection.json`, once the bundle was inspected (`core/sandbox/inspect.ts`).
 *
 * The registries' protocols live in `npm.ts` and `jsr.ts`, local directories
 * in `local.ts`, staging directories in `staging.ts`, and the bundler in `bundle.ts`.
 *
 * @module
 */

import { dirname, resolve as resolvePath } from "node:path";
import type { Config } from "../config.ts";
import { PackageError } from "../errors.ts";
import { log } from "../logger.ts";
import { bundlePackage } from "./bundle.ts";
import { exportsEntry, packageJsonEntry } from "./entry_module.ts";
import { pathExists, readJsonObject } from "./files.ts";
import { checkSri, hashTree, integrityPrefix, sriHash } from "./integrity.ts";
import { downloadJsrVersion, jsrVersions, parseVersionMeta, verifyJsrFile } from "./jsr.ts";
import { localSpecifier, readLocalPackage } from "./local.ts";
import { isLocalSpecifier, type LockEntry } from "./lockfile.ts";
import { localPackageRoots } from "./module_graph.ts";
import type { RegistryAuth } from "./npmrc.ts";
import { chooseVersion, downloadTarball, fetchPackument, packumentVersions } from "./npm.ts";
import { RegistryClient, type RegistryClientOptions } from "./registry_client.ts";
import { makeStaging, moveIntoStore } from "./staging.ts";
import { type TarLimits, unpackTarball } from "./tar.ts";

/** Where a package comes from. */
export type PackageKind = "npm" | "jsr" | "local";

/** A specifier resolved to one exact version. */
export interface ResolvedPackage {
  /** The registry it comes from, or `local` for a path. */
  kind: PackageKind;
  /** Package name: `@scope/name` or `name` (a local package's deno.json/package.json name). */
  name: string;
  /** Exact version. */
  version: string;
  /** What the lockfile records: `npm:name@1.2.3`, `jsr:@scope/name@1.2.3`, or `./path` relative to the project root. */
  specifier: string;
  /** When the registry published it; null for local paths and registries that do not say. */
  publishedAt: Date | null;
}

/** A package in the store, verified. */
export interface StoredPackage {
  /** Package name. */
  name: string;
  /** Exact version. */
  version: string;
  /** The specifier the lockfile records. */
  specifier: string;
  /** The lock integrity of its content. */
  integrity: string;
  /** The store directory of this version. */
  dir: string;
  /** Absolute path of its `bundle.js`. */
  bundlePath: string;
}

/** One progress report while resolving, downloading, verifying or bundling. */
export interface ProgressEvent {
  /** The package being worked on. */
  package: string;
  /** The step it is in. */
  phase: "resolve" | "download" | "verify" | "bundle" | "ready";
  /** A line an operator can read. */
  message: string;
}

/** Receives progress reports. */
export type ProgressCallback = (event: ProgressEvent) => void;

/** Options of {@linkcode PackageStore}. */
export interface PackageStoreOptions {
  /** npm registry of plugin packages; default `https://registry.npmjs.org`. */
  npmRegistry?: string;
  /** JSR registry of plugin packages; default `https://jsr.io`. */
  jsrUrl?: string;
  /** Credentials, deadline and retries of every registry request; defaults as {@linkcode RegistryClient}'s. */
  registry?: RegistryClientOptions;
  /** The most a package may unpack to. Default 100 MiB in 10 000 files. */
  limits?: TarLimits;
  /** Minimum age of a registry version (and of bundled dependencies) before install; 0 is off. Default 24 h. */
  minPackageAgeMs?: number;
  /** Directory local specifiers are relative to (the lockfile's directory). Default: the working directory. */
  projectRoot?: string;
  /** The clock. */
  now?: () => Date;
  /** The Deno binary that runs `deno bundle`. Default: this process's. */
  denoPath?: string;
  /** Longest a `deno bundle` may run. Default 300 000 ms. */
  bundleTimeoutMs?: number;
  /** Where packages are unpacked and bundled, never inside the data directory (`staging.ts`). Default: `TMPDIR`. */
  stagingDir?: string;
}

/** Options of {@linkcode PackageStore.fetch} and {@linkcode PackageStore.ensure}. */
export interface FetchOptions {
  /** Receives progress reports. */
  onProgress?: ProgressCallback;
  /** The integrity the content must have (the lockfile's); mismatches are refused naming both hashes. */
  expectedIntegrity?: string;
}

interface StoreRecord {
  name: string;
  version: string;
  specifier: string;
  integrity: string;
  /** Tree hash of `source/` (npm and JSR). */
  source_tree: string | null;
  bundle_integrity: string;
  stored_at: string;
}

/** A package's content laid out in a staging directory, verified, ready to bundle. */
interface Staged {
  integrity: string;
  /** The directory `deno bundle` runs in. */
  bundleCwd: string;
  /** The directories its modules may be in. */
  roots: string[];
  entry: string;
  /** A config that keeps the project's own out of the bundle's resolution. */
  configPath?: string;
  sourceTree: string | null;
}

type Progress = (phase: ProgressEvent["phase"], message: string) => void;

/** Where and how one fetch stages a package. */
interface StageOptions {
  /** The fetch's own staging directory. */
  staging: string;
  /** Names the package in messages. */
  label: string;
  progress: Progress;
  /** The lock integrity the content must have, when there is one. */
  expectedIntegrity: string | undefined;
}

const RECORD = "store.json";

function sanitize(name: string): string {
  return name.replace(/^@/, "").replaceAll("/", "__").replace(/[^A-Za-z0-9._-]/g, "_");
}

function kindOf(specifier: string): PackageKind {
  return specifier.startsWith("npm:") ? "npm" : specifier.startsWith("jsr:") ? "jsr" : "local";
}

async function writeFiles(root: string, files: Iterable<[string, Uint8Array]>): Promise<void> {
  for (const [path, bytes] of files) {
    const target = `${root}/${path}`;
    await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
    await Deno.writeFile(target, bytes);
  }
}

function refused(label: string, what: string, expected: string, actual: string, name: string): PackageError {
  return new PackageError("refused", `Refusing ${label}: ${what} (expected ${expected}, actual ${actual})`, {
    extra: { package: name, expected, actual },
  });
}

/**
 * Splits `npm:@scope/name@^1.2` or `jsr:@scope/name@1` into kind, name and range.
 *
 * @param spec A registry specifier.
 * @returns The parts, or undefined when `spec` is not an `npm:` or `jsr:` specifier.
 * @throws {PackageError} kind `registry` when the name is malformed.
 */
export function parseRegistrySpecifier(spec: string): { kind: "npm" | "jsr"; name: string; range: string } | undefined {
  const kind = spec.startsWith("npm:") ? "npm" : spec.startsWith("jsr:") ? "jsr" : undefined;
  if (!kind) return undefined;
  const rest = spec.slice(4);
  const at = rest.indexOf("@", 1);
  const name = at < 0 ? rest : rest.slice(0, at);
  const range = at < 0 ? "*" : rest.slice(at + 1) || "*";
  const pattern = kind === "npm"
    ? /^(@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/
    : /^@[a-z0-9][a-z0-9-]*\/[a-z0-9][a-z0-9-]*$/;
  if (!pattern.test(name)) throw new PackageError("registry", `"${spec}" does not name a valid ${kind} package`);
  return { kind, name, range };
}

/** The configuration {@linkcode packageStoreFor} reads: the service's `Config` (see `core/config.ts`) has it. */
export type PackageStoreConfig =
  & Pick<
    Config,
    | "dataDir"
    | "lockfilePath"
    | "minPackageAgeMs"
    | "registryAuth"
    | "registryTimeoutMs"
    | "registryRetries"
    | "packageMaxBytes"
    | "packageMaxFiles"
  >
  & { npmRegistry?: string | undefined; jsrUrl?: string | undefined };

/**
 * The package store the configuration describes: `<IMBI_DATA_DIR>/packages`,
 * local paths relative to the lockfile's directory, the age policy and the
 * registries. The service, the CLI and the prefetch use this one function so
 * they share one cache.
 *
 * @param config The configuration.
 * @returns The store.
 */
export function packageStoreFor(config: PackageStoreConfig): PackageStore {
  return new PackageStore(config.dataDir, {
    minPackageAgeMs: config.minPackageAgeMs,
    projectRoot: dirname(resolvePath(config.lockfilePath)),
    ...(config.npmRegistry ? { npmRegistry: config.npmRegistry } : {}),
    ...(config.jsrUrl ? { jsrUrl: config.jsrUrl } : {}),
    registry: { auth: config.registryAuth, timeoutMs: config.registryTimeoutMs, retries: config.registryRetries },
    limits: { maxBytes: config.packageMaxBytes, maxFiles: config.packageMaxFiles },
  });
}

/**
 * Resolves, fetches, verifies, bundles and caches plugin packages.
 *
 * @example
 * ```ts
 * const store = new PackageStore("./data", { minPackageAgeMs: 86_400_000 });
 * const resolved = await store.resolve("npm:@imbi/plugin-aws@^1");
 * const stored = await store.fetch(resolved, { onProgress: (e) => log.info(e.message) });
 * ```
 */
export class PackageStore {
  /** `<dataDir>/packages`, absolute. */
  readonly root: string;
  /** The npm registry in use. */
  readonly npmRegistry: string;
  /** The JSR registry in use. */
  readonly jsrUrl: string;
  /** The minimum-age policy in milliseconds (0 = off). */
  readonly minPackageAgeMs: number;
  /** Directory local specifiers are relative to. */
  readonly projectRoot: string;
  #now: () => Date;
  #deno: string;
  #bundleTimeoutMs: number;
  #client: RegistryClient;
  #auth: RegistryAuth | undefined;
  #limits: TarLimits;
  #dataDir: string;
  #staging: string | undefined;

  /**
   * Opens the store lazily: nothing is read or created until used.
   *
   * @param dataDir The service's data directory; the store lives in its `packages` folder.
   * @param options Registries and their client settings, limits, age policy, project root and clock.
   */
  constructor(dataDir: string, options: PackageStoreOptions = {}) {
    this.root = resolvePath(dataDir, "packages");
    this.#dataDir = resolvePath(dataDir);
    this.#staging = options.stagingDir;
    this.npmRegistry = options.npmRegistry ?? "https://registry.npmjs.org";
    this.jsrUrl = options.jsrUrl ?? "https://jsr.io";
    this.#client = new RegistryClient(options.registry);
    this.#auth = options.registry?.auth;
    this.#limits = options.limits ?? { maxBytes: 100 * 1024 * 1024, maxFiles: 10_000 };
    this.minPackageAgeMs = options.minPackageAgeMs ?? 86_400_000;
    this.projectRoot = resolvePath(options.projectRoot ?? ".");
    this.#now = options.now ?? (() => new Date());
    this.#deno = options.denoPath ?? Deno.execPath();
    this.#bundleTimeoutMs = options.bundleTimeoutMs ?? 300_000;
  }

  /**
   * Resolves a specifier with a range, or a local path, to one exact version.
   *
   * @param specOrPath `npm:name@range`, `jsr:@scope/name@range`, or a path (absolute, or relative to the project root).
   * @returns The exact version and the specifier the lockfile records.
   * @throws {PackageError} kind `too_young` when every matching version is younger than the minimum age (the message
   *   says when one becomes installable); kind `registry` when the registry is unreachable or has no matching version
   *   or the local path holds no package.
   */
  async resolve(specOrPath: string): Promise<ResolvedPackage> {
    const parsed = parseRegistrySpecifier(specOrPath);
    if (!parsed) {
      const dir = resolvePath(this.projectRoot, specOrPath);
      const meta = await readLocalPackage(dir, specOrPath);
      const specifier = localSpecifier(this.projectRoot, dir);
      return { kind: "local", name: meta.name, version: meta.version, specifier, publishedAt: null };
    }
    const { kind, name, range } = parsed;
    const versions = kind === "npm"
      ? packumentVersions(await fetchPackument(this.#client, this.npmRegistry, name))
      : await jsrVersions(this.#client, this.jsrUrl, name);
    const chosen = chooseVersion(versions, range, {
      minAgeMs: this.minPackageAgeMs,
      now: this.#now(),
      label: `${kind}:${name}`,
    });
    return {
      kind,
      name,
      version: chosen.version,
      specifier: `${kind}:${name}@${chosen.version}`,
      publishedAt: chosen.publishedAt,
    };
  }

  /**
   * Downloads (or, for a local path, hashes) a resolved package, verifies it,
   * bundles it, and moves the result into the store in one rename. A failure
   * leaves nothing behind.
   *
   * @param resolved From {@linkcode resolve}, or built from a lock entry.
   * @param options Progress callback and the integrity the content must have.
   * @returns The stored package with its lock integrity.
   * @throws {PackageError} kind `refused` when content fails verification (naming both hashes) or cannot be bundled;
   *   kind `registry` when a download fails.
   */
  async fetch(resolved: ResolvedPackage, options: FetchOptions = {}): Promise<StoredPackage> {
    const label = resolved.kind === "local" ? `${resolved.name} (${resolved.specifier})` : resolved.specifier;
    const progress: Progress = (phase, message) => options.onProgress?.({ package: resolved.name, phase, message });
    const staging = await makeStaging(sanitize(resolved.name), { dataDir: this.#dataDir, stagingDir: this.#staging });
    try {
      const at: StageOptions = { staging, label, progress, expectedIntegrity: options.expectedIntegrity };
      const { integrity, bundleCwd, roots, entry, configPath, sourceTree } = resolved.kind === "npm"
        ? await this.#stageNpm(resolved, at)
        : resolved.kind === "jsr"
        ? await this.#stageJsr(resolved, at)
        : await this.#stageLocal(resolved, at);
      progress("bundle", `bundling ${label}`);
      await bundlePackage(entry, {
        cwd: bundleCwd,
        roots,
        out: `${staging}/bundle.js`,
        label,
        ...(configPath ? { configPath } : {}),
        globalCache: resolved.kind !== "local",
        denoPath: this.#deno,
        timeoutMs: this.#bundleTimeoutMs,
        minPackageAgeMs: this.minPackageAgeMs,
        npmRegistry: this.npmRegistry,
        jsrUrl: this.jsrUrl,
        ...(this.#auth ? { auth: this.#auth } : {}),
      });
      if (resolved.kind === "local") {
        const after = await hashTree(bundleCwd);
        if (after !== integrity) {
          throw refused(label, `${bundleCwd} changed while it was being bundled`, integrity, after, resolved.name);
        }
      }
      const record: StoreRecord = {
        name: resolved.name,
        version: resolved.version,
        specifier: resolved.specifier,
        integrity,
        source_tree: sourceTree,
        bundle_integrity: await sriHash(await Deno.readFile(`${staging}/bundle.js`), "sha256"),
        stored_at: this.#now().toISOString(),
      };
      await Deno.writeTextFile(`${staging}/${RECORD}`, JSON.stringify(record, null, 2) + "\n");
      if (configPath) await Deno.remove(configPath);
      const dir = `${this.root}/${this.dirName(resolved.name, resolved.version, integrity)}`;
      try {
        await moveIntoStore(staging, dir);
      } catch (error) {
        // Another fetch of the same content got there first: keep theirs if it verifies.
        if (!await pathExists(dir)) throw error;
        await this.#verifyStored(dir, { ...resolved, integrity });
      }
      progress("ready", `${label} stored as ${dir}`);
      log.info("package stored", { package: resolved.name, version: resolved.version, integrity, dir });
      return this.#stored(resolved, integrity, dir);
    } finally {
      await Deno.remove(staging, { recursive: true }).catch(() => {});
    }
  }

  async #stageNpm(resolved: ResolvedPackage, at: StageOptions): Promise<Staged> {
    const { staging, label, progress } = at;
    progress("download", `fetching ${label} from ${this.npmRegistry}`);
    const packument = await fetchPackument(this.#client, this.npmRegistry, resolved.name);
    let lastReport = 0;
    const got = await downloadTarball(packument, resolved.version, {
      client: this.#client,
      registry: this.npmRegistry,
      maxBytes: this.#limits.maxBytes,
      ...(at.expectedIntegrity ? { expectedIntegrity: at.expectedIntegrity } : {}),
      onProgress: (received, total) => {
        if (received - lastReport < 256 * 1024 && received !== total) return;
        lastReport = received;
        progress("download", `${label}: ${received} of ${total ?? "?"} bytes`);
      },
    });
    progress("verify", `${label}: tarball matches ${got.integrity.slice(0, 20)}…`);
    await Deno.writeFile(`${staging}/package.tgz`, got.tarball);
    await writeFiles(
      `${staging}/source`,
      (await unpackTarball(got.tarball, { ...this.#limits, label })).map((f) => [f.path, f.bytes]),
    );
    const pkg = await readJsonObject(`${staging}/source/package.json`);
    if (!pkg) throw new PackageError("refused", `${label} has no package.json`);
    const bundleCwd = `${staging}/source`;
    return {
      integrity: got.integrity,
      bundleCwd,
      roots: [bundleCwd],
      entry: packageJsonEntry(pkg, `package.json of ${label}`),
      sourceTree: await hashTree(bundleCwd),
    };
  }

  async #stageJsr(resolved: ResolvedPackage, at: StageOptions): Promise<Staged> {
    const { staging, label, progress } = at;
    progress("download", `fetching ${label} from ${this.jsrUrl}`);
    const got = await downloadJsrVersion(
      { client: this.#client, jsrUrl: this.jsrUrl, name: resolved.name },
      resolved.version,
      {
        limits: this.#limits,
        ...(at.expectedIntegrity ? { expectedIntegrity: at.expectedIntegrity } : {}),
        onFile: (path, done, total) => progress("download", `${label}: ${path} (${done}/${total})`),
      },
    );
    progress("verify", `${label}: ${got.files.size} files match the version meta ${got.integrity.slice(0, 20)}…`);
    await Deno.writeFile(`${staging}/meta.json`, got.metaBytes);
    await writeFiles(`${staging}/source`, got.files);
    const bundleCwd = `${staging}/source`;
    const entry = exportsEntry(got.meta.exports, `the exports of ${label}`);
    const sourceTree = await hashTree(bundleCwd);
    // Published JSR files carry full specifiers; keep the project's own config out of their resolution.
    const configPath = `${staging}/bundle.config.json`;
    await Deno.writeTextFile(configPath, "{}\n");
    return { integrity: got.integrity, bundleCwd, roots: [bundleCwd], entry, configPath, sourceTree };
  }

  async #stageLocal(resolved: ResolvedPackage, at: StageOptions): Promise<Staged> {
    const dir = this.localDir(resolved.specifier);
    const meta = await readLocalPackage(dir, resolved.specifier);
    at.progress("verify", `hashing ${dir}`);
    const integrity = await hashTree(dir);
    if (at.expectedIntegrity && at.expectedIntegrity !== integrity) {
      const what = `the directory ${dir} changed since it was locked`;
      throw refused(at.label, what, at.expectedIntegrity, integrity, resolved.name);
    }
    return { integrity, bundleCwd: dir, roots: await localPackageRoots(dir), entry: meta.entry, sourceTree: null };
  }

  /**
   * Makes a locked package ready to load. A warm cache is verified against
   * the lock integrity without any network; a cold one fetches the pinned
   * version and verifies it. A local path is always re-hashed from its directory.
   *
   * @param name The package name (the lockfile key).
   * @param entry Its lock entry.
   * @param options Progress callback.
   * @returns Where its bundle is.
   * @throws {PackageError} kind `refused` when the cached or downloaded bytes differ from the lock integrity (the
   *   message names the package and both hashes); kind `registry` when a cold fetch cannot reach the registry.
   */
  async ensure(
    name: string,
    entry: LockEntry,
    options: Omit<FetchOptions, "expectedIntegrity"> = {},
  ): Promise<StoredPackage> {
    const kind = kindOf(entry.specifier);
    const resolved: ResolvedPackage = {
      kind,
      name,
      version: entry.version,
      specifier: entry.specifier,
      publishedAt: null,
    };
    if (kind === "local") {
      const dir = this.localDir(entry.specifier);
      const actual = await hashTree(dir).catch((error) => {
        throw new PackageError("refused", `Cannot load ${name} (${entry.specifier}): ${error.message}`, {
          cause: error,
        });
      });
      if (actual !== entry.integrity) {
        const label = `${name} (${entry.specifier})`;
        throw refused(label, `${dir} no longer matches plugins.lock.json`, entry.integrity, actual, name);
      }
    }
    const dir = `${this.root}/${this.dirName(name, entry.version, entry.integrity)}`;
    if (await pathExists(dir)) {
      await this.#verifyStored(dir, { ...resolved, integrity: entry.integrity });
      options.onProgress?.({ package: name, phase: "ready", message: `${entry.specifier}: cached copy verified` });
      return this.#stored(resolved, entry.integrity, dir);
    }
    return await this.fetch(resolved, { ...options, expectedIntegrity: entry.integrity });
  }

  /**
   * The bundle the store keeps for a lock entry, checked against the store's
   * record of it but without looking at the package's source: for reading
   * the manifests of a local package whose directory has moved on.
   *
   * @param name The package name.
   * @param entry Its lock entry.
   * @returns The path of its `bundle.js`, or undefined when there is none or it does not verify.
   */
  async cachedBundle(name: string, entry: LockEntry): Promise<string | undefined> {
    const dir = `${this.root}/${this.dirName(name, entry.version, entry.integrity)}`;
    try {
      const record = JSON.parse(await Deno.readTextFile(`${dir}/${RECORD}`));
      if (record.integrity !== entry.integrity || typeof record.bundle_integrity !== "string") return undefined;
      const check = await checkSri(await Deno.readFile(`${dir}/bundle.js`), record.bundle_integrity);
      return check.ok ? `${dir}/bundle.js` : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * The absolute directory of a local specifier.
   *
   * @param specifier `./path`, `../path` or `/path`.
   * @returns The directory, resolved against the project root.
   * @throws {TypeError} When `specifier` is not a local path.
   */
  localDir(specifier: string): string {
    if (!isLocalSpecifier(specifier)) throw new TypeError(`"${specifier}" is not a local path`);
    return resolvePath(this.projectRoot, specifier);
  }

  /**
   * The store directory name of one package version with one content hash.
   *
   * @param name Package name.
   * @param version Exact version.
   * @param integrity Lock integrity.
   * @returns `<sanitized name>@<version>-<hash prefix>`.
   */
  dirName(name: string, version: string, integrity: string): string {
    return `${sanitize(name)}@${version}-${integrityPrefix(integrity)}`;
  }

  #stored(resolved: ResolvedPackage, integrity: string, dir: string): StoredPackage {
    return {
      name: resolved.name,
      version: resolved.version,
      specifier: resolved.specifier,
      integrity,
      dir,
      bundlePath: `${dir}/bundle.js`,
    };
  }

  async #verifyStored(dir: string, pkg: ResolvedPackage & { integrity: string }): Promise<void> {
    const label = `${pkg.specifier} (cached in ${dir})`;
    const refuse = (what: string, expected: string, actual: string) => refused(label, what, expected, actual, pkg.name);
    let record: StoreRecord;
    try {
      record = JSON.parse(await Deno.readTextFile(`${dir}/${RECORD}`));
    } catch (error) {
      throw new PackageError("refused", `Refusing ${label}: its ${RECORD} is missing or unreadable`, { cause: error });
    }
    if (record.integrity !== pkg.integrity || record.name !== pkg.name || record.version !== pkg.version) {
      throw refuse(`the store record is for ${record.name}@${record.version}`, pkg.integrity, String(record.integrity));
    }
    if (pkg.kind === "npm") {
      const check = await checkSri(await Deno.readFile(`${dir}/package.tgz`), pkg.integrity);
      if (!check.ok) throw refuse("the cached tarball does not match plugins.lock.json", pkg.integrity, check.actual);
    } else if (pkg.kind === "jsr") {
      const metaBytes = await Deno.readFile(`${dir}/meta.json`);
      const check = await checkSri(metaBytes, pkg.integrity);
      if (!check.ok) {
        throw refuse("the cached version meta does not match plugins.lock.json", pkg.integrity, check.actual);
      }
      const meta = parseVersionMeta(metaBytes, pkg.specifier);
      for (const [path, file] of Object.entries(meta.manifest)) {
        await verifyJsrFile(label, path, await Deno.readFile(`${dir}/source${path}`), file.checksum);
      }
    }
    if (record.source_tree !== null) {
      const tree = await hashTree(`${dir}/source`);
      if (tree !== record.source_tree) {
        throw refuse("the cached source tree changed since it was verified", record.source_tree, tree);
      }
    }
    const bundle = await checkSri(await Deno.readFile(`${dir}/bundle.js`), record.bundle_integrity);
    if (!bundle.ok) {
      throw refuse("the cached bundle.js changed since it was built", record.bundle_integrity, bundle.actual);
    }
  }
}
