/**
 * Backup and restore of what the service keeps on disk: the embedded graph
 * store (an SQLite online backup, consistent while the service writes; it
 * holds the lock state with its revisions and the audit logs), the lockfile
 * file with the history and audit the CLI writes beside it and, only when
 * asked, the generated encryption keys and admin token.
 *
 * Order makes a copy taken while the service runs consistent: the graph
 * first, then the lockfile, then its history and the audit log. A change
 * that lands meanwhile adds history records or audit lines beyond the
 * copied lockfile's revision, which readers ignore (they are written before
 * the lockfile is renamed into place), so the copy is the state at the
 * moment its lockfile was read.
 *
 * A backup is written into a sibling directory and renamed into place, and
 * carries `backup.json`: what it holds, with a SHA-256 per file, checked
 * before a restore writes anything. A restore writes only into an empty
 * data directory and a lockfile path that does not exist yet; on failure
 * it removes what it wrote.
 *
 * Neo4j is not copied here: `neo4j-admin database dump` and `load` do that
 * (docs/operations.md); the rest of the backup still applies.
 *
 * @module
 */

import { backup as sqliteBackup, DatabaseSync } from "node:sqlite";
import { basename, dirname, join, resolve } from "node:path";
import type { Config } from "../config.ts";
import { toHex } from "../encoding.ts";
import { pathExists } from "../packages/files.ts";
import { LockfileHistory } from "../packages/history.ts";
import { readLockfile } from "../packages/lockfile.ts";

/** What `backup.json` records. */
export interface BackupManifest {
  /** Format of the backup directory. */
  format: 1;
  /** When the backup was taken (ISO 8601). */
  created_at: string;
  /** The graph store it was taken from; `neo4j` backups hold no graph (see docs/operations.md). */
  store: "sqlite" | "neo4j";
  /** The copied lockfile's revision (null when there was none). */
  lock_revision: number | null;
  /** Whether `secrets/` holds the encryption keys and the admin token files. */
  includes_secrets: boolean;
  /** Every file, by path inside the backup, with its SHA-256 (hex) and size. */
  files: Record<string, { sha256: string; bytes: number }>;
}

/** The files of a backup, by role. */
const LAYOUT = {
  graph: "graph.sqlite",
  lockfile: "plugins.lock.json",
  history: "plugins.lock.history",
  audit: "audit.jsonl",
  keys: "secrets/encryption.keys",
  token: "secrets/admin.token",
  manifest: "backup.json",
} as const;

async function sha256File(path: string): Promise<{ sha256: string; bytes: number }> {
  const bytes = await Deno.readFile(path);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return { sha256: toHex(digest), bytes: bytes.length };
}

async function isEmptyOrAbsent(dir: string): Promise<boolean> {
  try {
    for await (const _ of Deno.readDir(dir)) return false;
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return true;
    throw error;
  }
}

/**
 * Takes a backup while the service may be running.
 *
 * @param target The backup directory to create (must not exist or be empty).
 * @param config The service's configuration (data directory, lockfile, store).
 * @param options `includeSecrets`: also copy `encryption.keys` and `admin.token` from the data directory.
 * @returns The manifest written.
 * @throws {RangeError} When the target is not empty.
 */
export async function takeBackup(
  target: string,
  config: Pick<Config, "dataDir" | "lockfilePath" | "graph">,
  options: { includeSecrets?: boolean } = {},
): Promise<BackupManifest> {
  const final = resolve(target);
  if (!(await isEmptyOrAbsent(final))) throw new RangeError(`${target} is not empty; back up into a new directory`);
  const staging = `${final}.partial-${crypto.randomUUID().slice(0, 8)}`;
  await Deno.mkdir(join(staging, "secrets"), { recursive: true, mode: 0o700 });
  try {
    const files: string[] = [];
    if (config.graph.kind === "sqlite") {
      await backupSqlite(config.graph.path, join(staging, LAYOUT.graph));
      files.push(LAYOUT.graph);
    }
    let lockRevision: number | null = null;
    if (await pathExists(config.lockfilePath)) {
      await Deno.copyFile(config.lockfilePath, join(staging, LAYOUT.lockfile));
      lockRevision = (await readLockfile(join(staging, LAYOUT.lockfile))).revision;
      files.push(LAYOUT.lockfile);
    }
    const history = LockfileHistory.beside(config.lockfilePath).dir;
    if (await pathExists(history)) {
      await Deno.mkdir(join(staging, LAYOUT.history));
      for await (const entry of Deno.readDir(history)) {
        if (!entry.isFile || !/^r\d+\.json$/.test(entry.name)) continue;
        await Deno.copyFile(join(history, entry.name), join(staging, LAYOUT.history, entry.name));
        files.push(`${LAYOUT.history}/${entry.name}`);
      }
    }
    const copyFromData = async (name: string, to: string, mode?: number) => {
      const from = join(config.dataDir, name);
      if (!(await pathExists(from))) return;
      await Deno.copyFile(from, join(staging, to));
      if (mode !== undefined) await Deno.chmod(join(staging, to), mode);
      files.push(to);
    };
    await copyFromData("audit.jsonl", LAYOUT.audit);
    if (options.includeSecrets) {
      await copyFromData("encryption.keys", LAYOUT.keys, 0o600);
      await copyFromData("admin.token", LAYOUT.token, 0o600);
    }
    const manifest: BackupManifest = {
      format: 1,
      created_at: new Date().toISOString(),
      store: config.graph.kind,
      lock_revision: lockRevision,
      includes_secrets: options.includeSecrets === true,
      files: {},
    };
    for (const file of files.sort()) manifest.files[file] = await sha256File(join(staging, file));
    await Deno.writeTextFile(join(staging, LAYOUT.manifest), JSON.stringify(manifest, null, 2) + "\n");
    if (await pathExists(final)) await Deno.remove(final);
    await Deno.rename(staging, final);
    return manifest;
  } catch (error) {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    throw error;
  }
}

/** SQLite's online backup of a live database, then an integrity check of the copy. */
async function backupSqlite(source: string, to: string): Promise<void> {
  if (!(await pathExists(source))) throw new RangeError(`the graph store ${source} does not exist`);
  const db = new DatabaseSync(source);
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    await sqliteBackup(db, to, { rate: -1 }); // one step: a single read transaction, so writers cannot restart it
  } finally {
    db.close();
  }
  checkSqlite(to);
}

function checkSqlite(path: string): void {
  const copy = new DatabaseSync(path);
  try {
    const result = copy.prepare("PRAGMA integrity_check").get() as { integrity_check?: string } | undefined;
    if (result?.integrity_check !== "ok") {
      throw new RangeError(`${path} fails SQLite's integrity check: ${result?.integrity_check ?? "no answer"}`);
    }
  } finally {
    copy.close();
  }
}

/**
 * Reads a backup's manifest and checks every file against it.
 *
 * @param source The backup directory.
 * @returns The manifest.
 * @throws {RangeError} When the manifest is missing or a file is missing or changed.
 */
export async function verifyBackup(source: string): Promise<BackupManifest> {
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(await Deno.readTextFile(join(source, LAYOUT.manifest)));
  } catch (error) {
    throw new RangeError(`${source} is not a backup: cannot read ${LAYOUT.manifest} (${(error as Error).name})`);
  }
  if (manifest.format !== 1 || typeof manifest.files !== "object" || manifest.files === null) {
    throw new RangeError(`${source}/${LAYOUT.manifest} is not a backup manifest of format 1`);
  }
  for (const [file, expected] of Object.entries(manifest.files)) {
    if (file.split("/").includes("..")) throw new RangeError(`${LAYOUT.manifest} names a path outside the backup`);
    let actual;
    try {
      actual = await sha256File(join(source, file));
    } catch {
      throw new RangeError(`the backup lacks ${file}`);
    }
    if (actual.sha256 !== expected.sha256) throw new RangeError(`${file} changed since the backup was taken`);
  }
  return manifest;
}

/**
 * Restores a backup into an empty data directory (and a lockfile path that
 * does not exist yet). Nothing is written unless every file checks out; on
 * a failure midway, what was written is removed.
 *
 * @param source The backup directory.
 * @param config Where the service will read its state (data directory, lockfile, store).
 * @returns The manifest and the paths written.
 * @throws {RangeError} When the backup does not verify or a destination is in use.
 */
export async function restoreBackup(
  source: string,
  config: Pick<Config, "dataDir" | "lockfilePath" | "graph">,
): Promise<{ manifest: BackupManifest; written: string[] }> {
  const manifest = await verifyBackup(source);
  const has = (file: string) => file in manifest.files;
  if (!(await isEmptyOrAbsent(config.dataDir))) {
    throw new RangeError(`the data directory ${config.dataDir} is not empty; restore into an empty one`);
  }
  const history = LockfileHistory.beside(config.lockfilePath).dir;
  if (has(LAYOUT.lockfile) && (await pathExists(config.lockfilePath) || await pathExists(history))) {
    throw new RangeError(
      `${config.lockfilePath} (or its history) exists; point IMBI_LOCKFILE at a new path or move it away first`,
    );
  }
  if (has(LAYOUT.graph) && config.graph.kind !== "sqlite") {
    throw new RangeError("the backup holds an embedded (SQLite) graph but IMBI_GRAPH_URL selects Neo4j");
  }
  const written: string[] = [];
  const put = async (file: string, to: string, mode?: number) => {
    await Deno.mkdir(dirname(to), { recursive: true });
    await Deno.copyFile(join(source, file), to);
    written.push(to);
    if (mode !== undefined) await Deno.chmod(to, mode);
  };
  const dataDirExisted = await pathExists(config.dataDir);
  try {
    await Deno.mkdir(config.dataDir, { recursive: true });
    if (has(LAYOUT.graph) && config.graph.kind === "sqlite") {
      await put(LAYOUT.graph, config.graph.path);
      checkSqlite(config.graph.path);
    }
    if (has(LAYOUT.audit)) await put(LAYOUT.audit, join(config.dataDir, "audit.jsonl"));
    if (has(LAYOUT.keys)) await put(LAYOUT.keys, join(config.dataDir, "encryption.keys"), 0o600);
    if (has(LAYOUT.token)) await put(LAYOUT.token, join(config.dataDir, "admin.token"), 0o600);
    for (const file of Object.keys(manifest.files).filter((f) => f.startsWith(`${LAYOUT.history}/`))) {
      await put(file, join(history, basename(file)));
    }
    if (has(LAYOUT.lockfile)) await put(LAYOUT.lockfile, config.lockfilePath);
    return { manifest, written };
  } catch (error) {
    for (const path of written.reverse()) await Deno.remove(path).catch(() => {});
    await Deno.remove(history).catch(() => {});
    if (!dataDirExisted) await Deno.remove(config.dataDir, { recursive: true }).catch(() => {});
    throw error;
  }
}
