/**
 * `plugins.lock.json`: the single source of truth for which plugin packages
 * are installed (spec section 3; format in `docs/lockfile.md`).
 *
 * The pure part ({@linkcode parseLockfile}, {@linkcode serializeLockfile})
 * validates and prints; the IO part ({@linkcode readLockfile},
 * {@linkcode updateLockfile}) goes through a small {@linkcode LockfileIo}
 * interface whose real implementation writes atomically (temp file in the
 * same directory, fsync, rename, fsync of the directory) under a
 * cross-process lock file with stale-lock detection.
 *
 * @module
 */

import { ConflictError } from "../errors.ts";
import { log } from "../logger.ts";
import { SLUG_PATTERN } from "./manifest.ts";
import { parseSri } from "./integrity.ts";

/** The only format version this code reads and writes. */
export const LOCKFILE_VERSION = 1;

/** Where a package came from: a catalog entry, or a specifier typed by hand. */
export type LockSource = { kind: "catalog"; name: string } | { kind: "manual" };

/** One installed package, keyed by its package name in {@linkcode Lockfile.packages}. */
export interface LockEntry {
  /** `npm:<name>@<exact>`, `jsr:@scope/name@<exact>`, or a path relative to the lockfile's directory. */
  specifier: string;
  /** The exact version (for a path: its deno.json/package.json version). */
  version: string;
  /** SRI hash of the content: npm tarball sha512, JSR version-meta sha256, or local tree sha256. */
  integrity: string;
  /** The slugs the package was seen to export when it was added, in export order. */
  entry_points: string[];
  /** Where the request came from: a catalog entry, or a specifier given by hand. */
  source: LockSource;
  /** ISO 8601 time the entry was written. */
  added_at: string;
  /** Who wrote it (CLI user, admin token subject). */
  added_by: string;
}

/** The whole lockfile. */
export interface Lockfile {
  /** The format's version, {@linkcode LOCKFILE_VERSION}. */
  lockfile_version: typeof LOCKFILE_VERSION;
  /** Grows by one with every write; 0 for a lockfile that does not exist yet. */
  revision: number;
  /** Every locked package by name. */
  packages: Record<string, LockEntry>;
}

/**
 * The lockfile's storage. The real one is {@linkcode fileLockfileIo}; the
 * interface exists so the pure rules can be tested without a disk and so a
 * different store (a config map, a database row) can be dropped in.
 */
export interface LockfileIo {
  /** The file's text, or undefined when it does not exist. */
  read(path: string): Promise<string | undefined>;
  /** Replaces the file's content so a reader sees either the old or the new text, never a mix. */
  writeAtomic(path: string, text: string): Promise<void>;
  /** Takes the cross-process lock for `path`; resolves to its release function. */
  lock(path: string, options: { staleMs: number; timeoutMs: number }): Promise<() => Promise<void>>;
}

/** Options of {@linkcode readLockfile}. */
export interface ReadLockfileOptions {
  /** Storage; defaults to {@linkcode fileLockfileIo}. */
  io?: LockfileIo;
}

/** Options of {@linkcode updateLockfile}. */
export interface UpdateLockfileOptions extends ReadLockfileOptions {
  /** A lock file older than this (or whose process is gone) is broken. Default 30 000 ms. */
  staleLockMs?: number;
  /** How long to wait for another writer before giving up with a ConflictError. Default 15 000 ms. */
  lockTimeoutMs?: number;
}

/** An empty lockfile (revision 0), what a missing file reads as. */
export function emptyLockfile(): Lockfile {
  return { lockfile_version: LOCKFILE_VERSION, revision: 0, packages: {} };
}

function pointer(...segments: string[]): string {
  return segments.map((s) => "/" + s.replaceAll("~", "~0").replaceAll("/", "~1")).join("");
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const EXACT_VERSION = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
const NPM_NAME = /^(@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/;
const JSR_NAME = /^@[a-z0-9][a-z0-9-]*\/[a-z0-9][a-z0-9-]*$/;
const ENTRY_KEYS = ["specifier", "version", "integrity", "entry_points", "source", "added_at", "added_by"];
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Tells whether a lockfile specifier is a local path (relative to the lockfile's directory, or absolute).
 *
 * @param specifier A lock entry's specifier.
 * @returns True for `./x`, `../x` and `/x`.
 */
export function isLocalSpecifier(specifier: string): boolean {
  return specifier.startsWith("./") || specifier.startsWith("../") || specifier.startsWith("/");
}

function validateEntry(name: string, raw: unknown, fail: (ptr: string, rule: string) => never): LockEntry {
  const at = (...rest: string[]) => pointer("packages", name, ...rest);
  if (!isObject(raw)) fail(at(), "a package entry must be an object");
  for (const key of Object.keys(raw)) {
    if (!ENTRY_KEYS.includes(key)) fail(at(key), `unknown field "${key}"`);
  }
  const { specifier, version, integrity, entry_points, source, added_at, added_by } = raw;
  if (typeof version !== "string" || !EXACT_VERSION.test(version)) {
    fail(at("version"), "version must be an exact semver version like 1.2.3");
  }
  if (typeof specifier !== "string" || specifier === "") fail(at("specifier"), "specifier must be a non-empty string");
  if (specifier.startsWith("npm:") || specifier.startsWith("jsr:")) {
    const pattern = specifier.startsWith("npm:") ? NPM_NAME : JSR_NAME;
    if (!pattern.test(name)) fail(at(), `"${name}" is not a valid ${specifier.slice(0, 3)} package name`);
    if (specifier !== `${specifier.slice(0, 4)}${name}@${version}`) {
      fail(at("specifier"), `specifier must be exactly "${specifier.slice(0, 4)}${name}@${version}"`);
    }
  } else if (!isLocalSpecifier(specifier)) {
    fail(at("specifier"), 'specifier must start with "npm:", "jsr:", "./", "../" or "/"');
  }
  if (typeof integrity !== "string" || !parseSri(integrity)) {
    fail(at("integrity"), 'integrity must be an SRI hash "sha256-<base64>" or "sha512-<base64>"');
  }
  if (!Array.isArray(entry_points)) fail(at("entry_points"), "entry_points must be a list of slugs");
  const seen = new Set<string>();
  for (const [i, slug] of entry_points.entries()) {
    if (typeof slug !== "string" || !SLUG_PATTERN.test(slug)) {
      fail(at("entry_points", String(i)), `entry point must be a slug matching ${SLUG_PATTERN.source}`);
    }
    if (seen.has(slug)) fail(at("entry_points", String(i)), `entry point "${slug}" is listed twice`);
    seen.add(slug);
  }
  if (!isObject(source)) fail(at("source"), 'source must be {"kind":"catalog","name":…} or {"kind":"manual"}');
  if (source.kind === "catalog") {
    if (typeof source.name !== "string" || source.name === "") fail(at("source", "name"), "name must be a string");
    if (Object.keys(source).length !== 2) fail(at("source"), "a catalog source has only kind and name");
  } else if (source.kind === "manual") {
    if (Object.keys(source).length !== 1) fail(at("source"), "a manual source has only kind");
  } else {
    fail(at("source", "kind"), 'kind must be "catalog" or "manual"');
  }
  if (typeof added_at !== "string" || !ISO_TIME.test(added_at) || Number.isNaN(Date.parse(added_at))) {
    fail(at("added_at"), "added_at must be an ISO 8601 date-time");
  }
  if (typeof added_by !== "string") fail(at("added_by"), "added_by must be a string");
  return {
    specifier,
    version,
    integrity,
    entry_points: [...entry_points] as string[],
    source: source.kind === "catalog" ? { kind: "catalog", name: source.name as string } : { kind: "manual" },
    added_at,
    added_by,
  };
}

/**
 * Validates an already-parsed lockfile value.
 *
 * @param raw The JSON value.
 * @param fileName Named in the error.
 * @returns A fresh, validated {@linkcode Lockfile}.
 * @throws {SyntaxError} Naming the file and the JSON pointer of the first bad field.
 */
export function validateLockfile(raw: unknown, fileName: string): Lockfile {
  const fail = (ptr: string, rule: string): never => {
    throw new SyntaxError(`Invalid lockfile ${fileName} at "${ptr}": ${rule}`);
  };
  if (!isObject(raw)) fail("", "the lockfile must be a JSON object");
  const doc = raw as Record<string, unknown>;
  for (const key of Object.keys(doc)) {
    if (!["lockfile_version", "revision", "packages"].includes(key)) fail(pointer(key), `unknown field "${key}"`);
  }
  if (doc.lockfile_version !== LOCKFILE_VERSION) {
    fail(
      "/lockfile_version",
      `lockfile_version must be ${LOCKFILE_VERSION}, not ${JSON.stringify(doc.lockfile_version)}`,
    );
  }
  const revision = doc.revision;
  if (typeof revision !== "number" || !Number.isSafeInteger(revision) || revision < 0) {
    fail("/revision", "revision must be a non-negative integer");
  }
  if (!isObject(doc.packages)) fail("/packages", "packages must be an object keyed by package name");
  const packages: Record<string, LockEntry> = {};
  for (const [name, entry] of Object.entries(doc.packages as Record<string, unknown>)) {
    if (name === "") fail(pointer("packages", name), "a package name must not be empty");
    packages[name] = validateEntry(name, entry, fail);
  }
  return { lockfile_version: LOCKFILE_VERSION, revision: revision as number, packages };
}

/**
 * Parses and validates lockfile text.
 *
 * @param text The file content.
 * @param fileName Named in the error.
 * @returns The lockfile.
 * @throws {SyntaxError} Naming the file and the JSON pointer of the bad field (`""` when the JSON itself is broken).
 */
export function parseLockfile(text: string, fileName: string): Lockfile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(`Invalid lockfile ${fileName} at "": not JSON (${(error as Error).message})`, {
      cause: error,
    });
  }
  return validateLockfile(raw, fileName);
}

/**
 * Prints a lockfile deterministically: packages sorted by name, two-space
 * indentation, a final newline, so diffs in review stay small.
 *
 * @param lockfile A valid lockfile.
 * @returns The text to write.
 */
export function serializeLockfile(lockfile: Lockfile): string {
  const packages: Record<string, LockEntry> = {};
  for (const name of Object.keys(lockfile.packages).sort()) {
    const e = lockfile.packages[name]!;
    packages[name] = {
      specifier: e.specifier,
      version: e.version,
      integrity: e.integrity,
      entry_points: e.entry_points,
      source: e.source,
      added_at: e.added_at,
      added_by: e.added_by,
    };
  }
  return JSON.stringify(
    { lockfile_version: lockfile.lockfile_version, revision: lockfile.revision, packages },
    null,
    2,
  ) +
    "\n";
}

/**
 * Reads the lockfile.
 *
 * @param path The lockfile's path.
 * @param options `io` to read through another storage.
 * @returns The lockfile; an empty one with revision 0 when the file does not exist.
 * @throws {SyntaxError} When the file is not a valid lockfile, naming the file and the JSON pointer of the bad field.
 */
export async function readLockfile(path: string, options: ReadLockfileOptions = {}): Promise<Lockfile> {
  const io = options.io ?? fileLockfileIo;
  const text = await io.read(path);
  return text === undefined ? emptyLockfile() : parseLockfile(text, path);
}

const inProcess = new Map<string, Promise<unknown>>();

function absolute(path: string): string {
  if (path.startsWith("/")) return path;
  return `${Deno.cwd()}/${path}`;
}

/**
 * Changes the lockfile, serialised and atomically: one writer at a time in
 * this process (an async mutex per path) and across processes (a lock file
 * beside it), the change applied to the current content, the revision grown
 * by one, and the new text swapped in with a rename.
 *
 * @param path The lockfile's path.
 * @param mutate Changes the draft in place (or returns a replacement). Throwing aborts with the file untouched.
 * @param options Storage and lock timings.
 * @returns The lockfile as written.
 * @throws {SyntaxError} When the current file or the mutated draft is invalid (the file is left untouched).
 * @throws {ConflictError} When another writer holds the lock past `lockTimeoutMs`.
 * @example
 * ```ts
 * await updateLockfile("plugins.lock.json", (draft) => { delete draft.packages["@imbi/plugin-aws"]; });
 * ```
 */
export function updateLockfile(
  path: string,
  mutate: (draft: Lockfile) => void | Lockfile | Promise<void | Lockfile>,
  options: UpdateLockfileOptions = {},
): Promise<Lockfile> {
  const io = options.io ?? fileLockfileIo;
  const staleMs = options.staleLockMs ?? 30_000;
  const timeoutMs = options.lockTimeoutMs ?? 15_000;
  const key = absolute(path);
  const previous = inProcess.get(key) ?? Promise.resolve();
  const run = previous.catch(() => {}).then(async () => {
    const release = await io.lock(path, { staleMs, timeoutMs });
    try {
      const current = await readLockfile(path, { io });
      const draft = structuredClone(current);
      const replaced = await mutate(draft);
      const next = validateLockfile(replaced ?? draft, `${path} (after the change)`);
      next.revision = current.revision + 1;
      await io.writeAtomic(path, serializeLockfile(next));
      return next;
    } finally {
      await release();
    }
  });
  const tail = run.catch(() => {});
  inProcess.set(key, tail);
  tail.then(() => {
    if (inProcess.get(key) === tail) inProcess.delete(key);
  });
  return run;
}

function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

async function fsyncDir(dir: string): Promise<void> {
  try {
    using handle = await Deno.open(dir, { read: true });
    await handle.sync();
  } catch {
    // Some platforms cannot open or fsync a directory; the rename is still atomic there.
  }
}

function faultHook(): string | undefined {
  try {
    return Deno.env.get("IMBI_LOCKFILE_FAULT") || undefined;
  } catch {
    return undefined;
  }
}

async function pauseForever(path: string, temp: string): Promise<never> {
  log.warn("lockfile fault hook: paused mid-write", { path, temp, pid: Deno.pid });
  return await new Promise<never>(() => {
    setInterval(() => {}, 60_000);
  });
}

function processAlive(pid: number): boolean | undefined {
  if (Deno.build.os !== "linux") return undefined;
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch (error) {
    return error instanceof Deno.errors.NotFound ? false : undefined;
  }
}

function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "unknown";
  }
}

interface LockOwner {
  pid: number;
  hostname: string;
  created_at: string;
  token: string;
}

async function isStale(lockPath: string, staleMs: number): Promise<boolean> {
  let text: string;
  let mtime: Date | null;
  try {
    text = await Deno.readTextFile(lockPath);
    mtime = (await Deno.stat(lockPath)).mtime;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false; // released meanwhile: just retry
    throw error;
  }
  let owner: Partial<LockOwner> = {};
  try {
    owner = JSON.parse(text);
  } catch {
    // A lock file torn by a crash between create and write: judge it by age.
  }
  if (typeof owner.pid === "number" && owner.hostname === hostname() && processAlive(owner.pid) === false) {
    return true;
  }
  return mtime !== null && Date.now() - mtime.getTime() > staleMs;
}

/**
 * The real lockfile storage: plain files, atomic replace, and `<path>.lock`
 * as the cross-process lock. Set `IMBI_LOCKFILE_FAULT=pause-mid-write` to make
 * a writer stop after writing half of its temp file (tests kill it there).
 */
export const fileLockfileIo: LockfileIo = {
  async read(path) {
    try {
      return await Deno.readTextFile(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
  },
  async writeAtomic(path, text) {
    const dir = dirname(path);
    const temp = `${dir}/.${basename(path)}.${Deno.pid}.${crypto.randomUUID()}.tmp`;
    const bytes = new TextEncoder().encode(text);
    try {
      {
        using file = await Deno.open(temp, { write: true, createNew: true, mode: 0o644 });
        if (faultHook() === "pause-mid-write") {
          await writeAll(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
          await file.sync();
          await pauseForever(path, temp);
        }
        await writeAll(file, bytes);
        await file.sync();
      }
      await Deno.rename(temp, path);
    } catch (error) {
      await Deno.remove(temp).catch(() => {});
      throw error;
    }
    await fsyncDir(dir);
  },
  async lock(path, { staleMs, timeoutMs }) {
    const lockPath = `${path}.lock`;
    const owner: LockOwner = {
      pid: Deno.pid,
      hostname: hostname(),
      created_at: new Date().toISOString(),
      token: crypto.randomUUID(),
    };
    const deadline = Date.now() + timeoutMs;
    let wait = 2;
    while (true) {
      try {
        using file = await Deno.open(lockPath, { write: true, createNew: true });
        await writeAll(file, new TextEncoder().encode(JSON.stringify(owner)));
        break;
      } catch (error) {
        if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      }
      if (await isStale(lockPath, staleMs)) {
        // Move it aside first so two breakers cannot both delete a fresh lock.
        const aside = `${lockPath}.stale-${crypto.randomUUID()}`;
        try {
          await Deno.rename(lockPath, aside);
          log.warn("broke a stale lockfile lock", { path: lockPath });
          await Deno.remove(aside).catch(() => {});
        } catch (error) {
          if (!(error instanceof Deno.errors.NotFound)) throw error;
        }
        continue;
      }
      if (Date.now() > deadline) {
        throw new ConflictError(`Cannot change ${path}: another writer has held ${lockPath} for over ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(wait * 2, 50);
    }
    await removeOrphanTemps(path);
    return async () => {
      try {
        const text = await Deno.readTextFile(lockPath);
        if ((JSON.parse(text) as LockOwner).token === owner.token) await Deno.remove(lockPath);
      } catch {
        // Already broken by someone who judged it stale; nothing to release.
      }
    };
  },
};

/** Holding the lock, any temp file of this lockfile belongs to a writer that died or lost its lock. */
async function removeOrphanTemps(path: string): Promise<void> {
  const prefix = `.${basename(path)}.`;
  try {
    for await (const entry of Deno.readDir(dirname(path))) {
      if (entry.isFile && entry.name.startsWith(prefix) && entry.name.endsWith(".tmp")) {
        await Deno.remove(`${dirname(path)}/${entry.name}`).catch(() => {});
        log.warn("removed a lockfile temp file left by a dead writer", { path, temp: entry.name });
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await file.write(bytes.subarray(offset));
}
