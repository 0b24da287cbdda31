// deno-lint-ignore-file no-console -- a CLI entry point: its output is the user interface.
/**
 * `deno task graph:migrate --from <store> --to <store> [--force]`: copies a
 * whole graph between the embedded SQLite store and Neo4j, either way, and
 * proves the copy whole by reading it back.
 *
 * A store is `sqlite:<path>` or a `neo4j://` / `bolt://` URL. Neo4j
 * credentials come from the URL (`bolt://user:password@host:7687`) or from
 * `IMBI_GRAPH_USER` and `IMBI_GRAPH_PASSWORD`. The target must be empty
 * unless `--force`, which copies beside what it holds but still refuses an
 * organization that exists in both. Progress goes to stderr; the summary,
 * as JSON counts, to stdout. The copy is recorded in the target's audit log
 * in the import's own transaction (`graph.import`: who, from which store,
 * what counts). The lock state is
 * not copied: the target's first service start imports `IMBI_LOCKFILE`
 * (or run `deno task plugins export` on the old store and `import` on the
 * new). Exit codes: 0 copied, 1 refused or failed, 2 bad arguments.
 *
 * @example
 * ```sh
 * IMBI_GRAPH_PASSWORD=... deno task graph:migrate --from sqlite:data/graph.sqlite --to bolt://db:7687
 * ```
 *
 * @module
 */

import { describeCounts, migrateGraph, openStoreSpec, parseStoreSpec, type StoreSpec } from "../core/graph/migrate.ts";
import type { GraphStore } from "../core/graph/store.ts";
import { withSecretFiles } from "../core/config.ts";
import { setLogLevel } from "../core/logger.ts";
import { parseCommand, usageError } from "./_args.ts";
import { replicaId } from "../core/wiring.ts";

const USAGE = `usage: deno task graph:migrate --from sqlite:<path>|<neo4j url> --to sqlite:<path>|<neo4j url> [--force]

Copies the whole graph between the embedded SQLite store and Neo4j (either way) and reads it back to prove the copy.
The target must be empty unless --force. Neo4j credentials: in the URL, or IMBI_GRAPH_USER and IMBI_GRAPH_PASSWORD
(or IMBI_GRAPH_PASSWORD_FILE). Exit codes: 0 copied, 1 refused or failed, 2 bad arguments.`;

function describe(spec: StoreSpec): string {
  return spec.kind === "sqlite" ? `sqlite:${spec.path}` : spec.url;
}

async function main(args: string[]): Promise<number> {
  const { values } = parseCommand(args, {
    name: "graph:migrate",
    usage: USAGE,
    options: { from: { type: "string" }, to: { type: "string" }, force: { type: "boolean", default: false } },
  });
  let from: StoreSpec, to: StoreSpec;
  const force = values.force ?? false;
  try {
    if (!values.from || !values.to) throw new RangeError("--from and --to are both required");
    const env = withSecretFiles(Deno.env.toObject());
    from = parseStoreSpec(values.from, env);
    to = parseStoreSpec(values.to, env);
    if (from.kind === "sqlite" && to.kind === "sqlite" && from.path === to.path) {
      throw new RangeError("--from and --to name the same file");
    }
  } catch (error) {
    return usageError("graph:migrate", error instanceof Error ? error.message : String(error));
  }
  setLogLevel("warn");
  const opened: GraphStore[] = [];
  try {
    console.error(`graph:migrate: ${describe(from)} -> ${describe(to)}${force ? " (--force)" : ""}`);
    const source = await openStoreSpec(from, { mustExist: true });
    opened.push(source);
    const target = await openStoreSpec(to);
    opened.push(target);
    const counts = await migrateGraph(source, target, {
      force,
      progress: (event) => console.error(`  ${event.phase.padEnd(7)} ${event.message}`),
      audit: {
        actor: `cli:${Deno.env.get("USER") ?? Deno.env.get("LOGNAME") ?? "unknown"}`,
        replica: `cli:${replicaId({ replicaId: undefined })}`,
        from: describe(from),
        to: describe(to),
      },
    });
    console.log(JSON.stringify({ ok: true, from: describe(from), to: describe(to), counts }));
    console.error(`graph:migrate: done, ${describeCounts(counts)}`);
    return 0;
  } catch (error) {
    console.error(`graph:migrate: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    await Promise.allSettled(opened.map((store) => store.close()));
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
