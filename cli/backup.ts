// deno-lint-ignore-file no-console -- a CLI entry point: its output is the user interface.
/**
 * `deno task backup <dir> [--include-secrets]`: a consistent copy of the
 * embedded graph store (SQLite online backup), the lockfile with its
 * history and the package audit log, taken while the service runs. The
 * logic is `core/ops/backup.ts`.
 *
 * @module
 */

import { ConfigError, loadConfig } from "../core/config.ts";
import { takeBackup } from "../core/ops/backup.ts";
import { exitOnExpected, parseCommand } from "./_args.ts";

const USAGE = `usage: deno task backup <dir> [--include-secrets]

Copies, while the service may be running, what it keeps on disk into <dir> (which must not exist or be empty):
the embedded graph store (SQLite online backup, checked with PRAGMA integrity_check), the lockfile (IMBI_LOCKFILE)
with its history, and the package audit log, with backup.json listing a SHA-256 per file.
  --include-secrets  also copy <data>/encryption.keys and <data>/admin.token (generated ones; keys and tokens given
                     in the environment live in your secret store). Without them the credentials in the copy cannot
                     be decrypted.
Neo4j is not copied: use neo4j-admin database dump (docs/operations.md). Reads the service's environment.`;

if (import.meta.main) {
  const { values, positionals } = parseCommand(Deno.args, {
    name: "backup",
    usage: USAGE,
    options: { "include-secrets": { type: "boolean", default: false } },
    positionals: { min: 1, max: 1 },
  });
  try {
    const config = loadConfig(Deno.env.toObject());
    const manifest = await takeBackup(positionals[0]!, config, { includeSecrets: values["include-secrets"] });
    console.log(JSON.stringify({ ok: true, dir: positionals[0], ...manifest, files: Object.keys(manifest.files) }));
    if (manifest.store === "neo4j") {
      console.error("backup: the graph is in Neo4j and not in this copy; dump it with neo4j-admin database dump");
    }
    if (!manifest.includes_secrets) {
      console.error("backup: no keys or token in this copy (--include-secrets); keep the keys safe separately");
    }
  } catch (error) {
    exitOnExpected("backup", error, [ConfigError, RangeError, Deno.errors.PermissionDenied]);
  }
}
