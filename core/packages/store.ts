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
 * - `store.json`, the record of what was verified (integrity, source tree and bundle hashes).
 *
 * @module
 */

import { relative, resolve as resolvePath } from "node:path";
import { PackageError } from "../errors.ts";
import { checkSri, hashTree, integrityPrefix, sriHash } from "./integrity.ts";
import { isLocalSpecifier, type LockEntry } from "./lockfile.ts";
import { log } from "../logger.ts";
import { chooseVersion, downloadTarball, fetchPackument, formatDuration, packumentVersions } from "./npm.ts";
import { downloadJsrVersion, jsrVersions, parseVersionMeta, verifyJsrFile } from "./jsr.ts";
import { readTarball } from "./tar.ts";

/** Where a package comes from. */
export type PackageKind = "npm" | "jsr" | "local";

/** A specifier resolved to one exact version. */
export interface ResolvedPackage {
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
  name: string;
  version: string;
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
  phase: "resolve" | "download" | "verify" | "bundle" | "ready";
  /** A line an operator can read. */
  message: string;
}

/** Receives progress reports. */
export type ProgressCallback = (event: ProgressEvent) => void;

/** Options of {@linkcode PackageStore}. */
export interface PackageStoreOptions {
  /** npm registry; default `NPM_CONFIG_REGISTRY`, else `https://registry.npmjs.org`. */
  npmRegistry?: string;
  /** JSR registry; default `JSR_URL`, else `https://jsr.io`. */
  jsrUrl?: string;
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

const RECORD = "store.json";

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}

function sanitize(name: string): string {
  return name.replace(/^@/, "").replaceAll("/", "__").replace(/[^A-Za-z0-9._-]/g, "_");
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
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

function entryFromPackageJson(pkg: Record<string, unknown>): string | undefined {
  const pick = (value: unknown): string | undefined => {
    if (typeof value === "string") return value;
    if (value && typeof value === "object" && !Array.isArray(value)) {
      const v = value as Record<string, unknown>;
      for (const key of ["deno", "import", "module", "default", "node"]) {
        const found = pick(v[key]);
        if (found) return found;
      }
    }
    return undefined;
  };
  const exp = pkg.exports;
  if (typeof exp === "string") return exp;
  if (exp && typeof exp === "object" && !Array.isArray(exp)) {
    const e = exp as Record<string, unknown>;
    const found = "." in e ? pick(e["."]) : pick(e);
    if (found) return found;
  }
  if (typeof pkg.module === "string") return pkg.module;
  if (typeof pkg.main === "string") return pkg.main;
  return "index.js";
}

function entryFromExports(exports: unknown): string | undefined {
  if (typeof exports === "string") return exports;
  if (exports && typeof exports === "object" && !Array.isArray(exports)) {
    const main = (exports as Record<string, unknown>)["."];
    if (typeof main === "string") return main;
  }
  return undefined;
}

function safeEntry(entry: string, label: string): string {
  const clean = entry.replace(/^\.\//, "");
  if (clean.startsWith("/") || clean.split("/").includes("..") || clean === "") {
    throw new PackageError("refused", `${label} names an entry module outside the package: ${entry}`);
  }
  return `./${clean}`;
}

async function readJson(path: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  const value = JSON.parse(text);
  return value && typeof value === "object" && !Array.isArray(value) ? value : undefined;
}

function refused(label: string, what: string, expected: string, actual: string, name: string): PackageError {
  return new PackageError("refused", `Refusing ${label}: ${what} (expected ${expected}, actual ${actual})`, {
    extra: { package: name, expected, actual },
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

  /**
   * @param dataDir The service's data directory; the store lives in its `packages` folder.
   * @param options Registries, age policy, project root and clock.
   */
  constructor(dataDir: string, options: PackageStoreOptions = {}) {
    this.root = resolvePath(dataDir, "packages");
    this.npmRegistry = options.npmRegistry ?? env("NPM_CONFIG_REGISTRY") ?? "https://registry.npmjs.org";
    this.jsrUrl = options.jsrUrl ?? env("JSR_URL") ?? "https://jsr.io";
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
    if (!parsed) return await this.#resolveLocal(specOrPath);
    const { kind, name, range } = parsed;
    const versions = kind === "npm"
      ? packumentVersions(await fetchPackument(this.npmRegistry, name))
      : await jsrVersions(this.jsrUrl, name);
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

  async #resolveLocal(path: string): Promise<ResolvedPackage> {
    const dir = resolvePath(this.projectRoot, path);
    const meta = await this.#localMeta(dir, path);
    const rel = relative(this.projectRoot, dir);
    const specifier = rel === ".." || rel.startsWith("../") ? (rel === ".." ? "../" : rel) : `./${rel}`;
    return { kind: "local", name: meta.name, version: meta.version, specifier, publishedAt: null };
  }

  async #localMeta(dir: string, shown: string): Promise<{ name: string; version: string; entry: string }> {
    let stat: Deno.FileInfo;
    try {
      stat = await Deno.stat(dir);
    } catch {
      throw new PackageError("registry", `"${shown}" is not an npm:/jsr: specifier and no directory ${dir} exists`);
    }
    if (!stat.isDirectory) throw new PackageError("registry", `${dir} is not a directory`);
    const deno = await readJson(`${dir}/deno.json`);
    const pkg = await readJson(`${dir}/package.json`);
    const source = deno && typeof deno.name === "string" ? deno : pkg;
    const file = source === deno ? "deno.json" : "package.json";
    if (!source || typeof source.name !== "string" || source.name === "") {
      throw new PackageError("registry", `The local package at ${dir} has no deno.json or package.json with a name`);
    }
    if (typeof source.version !== "string" || !/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(source.version)) {
      throw new PackageError("registry", `The local package at ${dir} has no exact "version" in its ${file}`);
    }
    const entry = source === deno ? entryFromExports(deno.exports) ?? "./mod.ts" : entryFromPackageJson(pkg!)!;
    return { name: source.name, version: source.version, entry: safeEntry(entry, `${file} of ${dir}`) };
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
    const progress = (phase: ProgressEvent["phase"], message: string) =>
      options.onProgress?.({ package: resolved.name, phase, message });
    await Deno.mkdir(`${this.root}/.staging`, { recursive: true });
    await this.#sweepStaging();
    const staging = await Deno.makeTempDir({ dir: `${this.root}/.staging`, prefix: `${sanitize(resolved.name)}-` });
    try {
      let integrity: string;
      let bundleCwd: string;
      let entry: string;
      let configPath: string | undefined;
      let sourceTree: string | null = null;
      if (resolved.kind === "npm") {
        progress("download", `fetching ${label} from ${this.npmRegistry}`);
        const packument = await fetchPackument(this.npmRegistry, resolved.name);
        let lastReport = 0;
        const got = await downloadTarball(packument, resolved.version, {
          registry: this.npmRegistry,
          ...(options.expectedIntegrity ? { expectedIntegrity: options.expectedIntegrity } : {}),
          onProgress: (received, total) => {
            if (received - lastReport < 256 * 1024 && received !== total) return;
            lastReport = received;
            progress("download", `${label}: ${received} of ${total ?? "?"} bytes`);
          },
        });
        integrity = got.integrity;
        progress("verify", `${label}: tarball matches ${integrity.slice(0, 20)}…`);
        await Deno.writeFile(`${staging}/package.tgz`, got.tarball);
        for (const file of await readTarball(got.tarball)) {
          const target = `${staging}/source/${file.path}`;
          await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
          await Deno.writeFile(target, file.bytes);
        }
        const pkg = await readJson(`${staging}/source/package.json`);
        if (!pkg) throw new PackageError("refused", `${label} has no package.json`);
        entry = safeEntry(entryFromPackageJson(pkg)!, `package.json of ${label}`);
        bundleCwd = `${staging}/source`;
        sourceTree = await hashTree(bundleCwd);
      } else if (resolved.kind === "jsr") {
        progress("download", `fetching ${label} from ${this.jsrUrl}`);
        const got = await downloadJsrVersion(this.jsrUrl, resolved.name, resolved.version, {
          ...(options.expectedIntegrity ? { expectedIntegrity: options.expectedIntegrity } : {}),
          onFile: (path, done, total) => progress("download", `${label}: ${path} (${done}/${total})`),
        });
        integrity = got.integrity;
        progress("verify", `${label}: ${got.files.size} files match the version meta ${integrity.slice(0, 20)}…`);
        await Deno.writeFile(`${staging}/meta.json`, got.metaBytes);
        for (const [path, bytes] of got.files) {
          const target = `${staging}/source/${path}`;
          await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
          await Deno.writeFile(target, bytes);
        }
        entry = safeEntry(entryFromExports(got.meta.exports) ?? "./mod.ts", `the exports of ${label}`);
        bundleCwd = `${staging}/source`;
        sourceTree = await hashTree(bundleCwd);
        // Published JSR files carry full specifiers; keep the project's own config out of their resolution.
        configPath = `${staging}/bundle.config.json`;
        await Deno.writeTextFile(configPath, "{}\n");
      } else {
        const dir = this.localDir(resolved.specifier);
        const meta = await this.#localMeta(dir, resolved.specifier);
        progress("verify", `hashing ${dir}`);
        integrity = await hashTree(dir);
        if (options.expectedIntegrity && options.expectedIntegrity !== integrity) {
          throw refused(
            label,
            `the directory ${dir} changed since it was locked`,
            options.expectedIntegrity,
            integrity,
            resolved.name,
          );
        }
        entry = meta.entry;
        bundleCwd = dir;
      }
      progress("bundle", `bundling ${label}`);
      await this.#bundle(bundleCwd, entry, `${staging}/bundle.js`, configPath, label);
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
        await Deno.rename(staging, dir);
      } catch (error) {
        // Another fetch of the same content got there first: keep theirs if it verifies.
        if (!await exists(dir)) throw error;
        await this.#verifyStored(dir, { ...resolved, integrity });
      }
      progress("ready", `${label} stored as ${dir}`);
      log.info("package stored", { package: resolved.name, version: resolved.version, integrity, dir });
      return { ...this.#stored(resolved, integrity, dir) };
    } finally {
      await Deno.remove(staging, { recursive: true }).catch(() => {});
    }
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
    const kind: PackageKind = entry.specifier.startsWith("npm:")
      ? "npm"
      : entry.specifier.startsWith("jsr:")
      ? "jsr"
      : "local";
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
        throw refused(
          `${name} (${entry.specifier})`,
          `${dir} no longer matches plugins.lock.json`,
          entry.integrity,
          actual,
          name,
        );
      }
    }
    const dir = `${this.root}/${this.dirName(name, entry.version, entry.integrity)}`;
    if (await exists(dir)) {
      await this.#verifyStored(dir, { ...resolved, integrity: entry.integrity });
      options.onProgress?.({ package: name, phase: "ready", message: `${entry.specifier}: cached copy verified` });
      return this.#stored(resolved, entry.integrity, dir);
    }
    return await this.fetch(resolved, { ...options, expectedIntegrity: entry.integrity });
  }

  /**
   * The absolute directory of a local specifier.
   *
   * @param specifier `./path`, `../path` or `/path`.
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
    let record: StoreRecord;
    try {
      record = JSON.parse(await Deno.readTextFile(`${dir}/${RECORD}`));
    } catch (error) {
      throw new PackageError("refused", `Refusing ${label}: its ${RECORD} is missing or unreadable`, { cause: error });
    }
    if (record.integrity !== pkg.integrity || record.name !== pkg.name || record.version !== pkg.version) {
      throw refused(
        label,
        `the store record is for ${record.name}@${record.version}`,
        pkg.integrity,
        String(record.integrity),
        pkg.name,
      );
    }
    if (pkg.kind === "npm") {
      const check = await checkSri(await Deno.readFile(`${dir}/package.tgz`), pkg.integrity);
      if (!check.ok) {
        throw refused(
          label,
          "the cached tarball does not match plugins.lock.json",
          pkg.integrity,
          check.actual,
          pkg.name,
        );
      }
    } else if (pkg.kind === "jsr") {
      const metaBytes = await Deno.readFile(`${dir}/meta.json`);
      const check = await checkSri(metaBytes, pkg.integrity);
      if (!check.ok) {
        throw refused(
          label,
          "the cached version meta does not match plugins.lock.json",
          pkg.integrity,
          check.actual,
          pkg.name,
        );
      }
      const meta = parseVersionMeta(metaBytes, pkg.specifier);
      for (const [path, file] of Object.entries(meta.manifest)) {
        await verifyJsrFile(label, path, await Deno.readFile(`${dir}/source${path}`), file.checksum);
      }
    }
    if (record.source_tree !== null) {
      const tree = await hashTree(`${dir}/source`);
      if (tree !== record.source_tree) {
        throw refused(
          label,
          "the cached source tree changed since it was verified",
          record.source_tree,
          tree,
          pkg.name,
        );
      }
    }
    const bundle = await checkSri(await Deno.readFile(`${dir}/bundle.js`), record.bundle_integrity);
    if (!bundle.ok) {
      throw refused(
        label,
        "the cached bundle.js changed since it was built",
        record.bundle_integrity,
        bundle.actual,
        pkg.name,
      );
    }
  }

  async #bundle(cwd: string, entry: string, out: string, config: string | undefined, label: string): Promise<void> {
    const minutes = Math.ceil(this.minPackageAgeMs / 60_000);
    const args = [
      "bundle",
      "--quiet",
      "--platform=deno",
      "--format=esm",
      "--no-lock",
      `--minimum-dependency-age=${minutes}`,
      // Registry packages resolve their dependencies into Deno's global cache, never a node_modules folder.
      ...(cwd.startsWith(this.root) ? ["--node-modules-dir=none"] : []),
      ...(config ? [`--config=${config}`] : []),
      "-o",
      out,
      entry,
    ];
    const child = new Deno.Command(this.#deno, {
      args,
      cwd,
      env: { NPM_CONFIG_REGISTRY: this.npmRegistry, JSR_URL: this.jsrUrl, NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
    }, this.#bundleTimeoutMs);
    const result = await child.output();
    clearTimeout(timer);
    if (!result.success || !await exists(out)) {
      const stderr = new TextDecoder().decode(result.stderr).trim();
      const lines = stderr.split("\n").filter((l) => !/experimental|^Warning|Stack backtrace|^\s+\d+: /.test(l));
      throw new PackageError(
        "refused",
        `Cannot bundle ${label} (deno bundle exit ${result.code}, dependency age policy ${
          formatDuration(this.minPackageAgeMs)
        }): ` +
          lines.join(" ").slice(0, 800),
        { extra: { package: label } },
      );
    }
  }

  async #sweepStaging(): Promise<void> {
    const cutoff = Date.now() - 3_600_000;
    for await (const entry of Deno.readDir(`${this.root}/.staging`)) {
      const path = `${this.root}/.staging/${entry.name}`;
      const info = await Deno.stat(path).catch(() => undefined);
      if (info?.mtime && info.mtime.getTime() < cutoff) await Deno.remove(path, { recursive: true }).catch(() => {});
    }
  }
}
