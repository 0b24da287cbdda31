// deno-lint-ignore-file no-console -- a CLI entry point: its output is the user interface.
/**
 * `deno task restore <dir>`: restores a backup taken by `deno task backup`
 * into an empty data directory. The logic is `core/ops/backup.ts`.
 *
 * @module
 */

import { ConfigError, loadConfig } from "../core/config.ts";
import { restoreBackup } from "../core/ops/backup.ts";
import { exitOnExpected, parseCommand } from "./_args.ts";

const USAGE = `usage: deno task restore <dir>

Restores a backup made by "deno task backup" into the data directory (IMBI_DATA_DIR), which must be empty or absent,
and the lockfile path (IMBI_LOCKFILE), which must not exist yet. Every file is checked against backup.json first;
on a failure midway, what was written is removed. Then start the service on it ("deno task serve"); without
--include-secrets in the backup, give it the same IMBI_ENCRYPTION_KEYS as before.`;

if (import.meta.main) {
  const { positionals } = parseCommand(Deno.args, {
    name: "restore",
    usage: USAGE,
    options: {},
    positionals: { min: 1, max: 1 },
  });
  try {
    const config = loadConfig(Deno.env.toObject());
    const { manifest, written } = await restoreBackup(positionals[0]!, config);
    console.log(JSON.stringify({ ok: true, from: positionals[0], created_at: manifest.created_at, written }));
  } catch (error) {
    exitOnExpected("restore", error, [ConfigError, RangeError, Deno.errors.PermissionDenied]);
  }
}
