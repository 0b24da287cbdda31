// deno-lint-ignore-file no-console -- a CLI entry point: its output is the user interface.
/**
 * `check <dir | npm:name@range | jsr:@scope/name@range> [--config <file.json>] [--entry <slug>]`:
 * runs the conformance suite on every entry point of a plugin package,
 * inside the real sandbox. In a plugin's own folder it is its `deno task
 * check` (`npm:@imbi/plugin-testing/check`); in an Imbi checkout it is
 * `deno task plugin:check`.
 *
 * The package is bundled and verified by the host's package store, its
 * manifests are read by the permission-less inspector (an invalid manifest
 * fails the check), and each entry runs in its own plugin process with
 * exactly the hosts its manifest computes: the service's flags.
 *
 * An entry that needs a backend takes its settings from `--config`, keyed by
 * slug (see {@linkcode EntryCheckConfig}):
 *
 * ```json
 * { "aws-ssm": { "options": { "endpoint": "http://127.0.0.1:5000" },
 *                "credentials": { "access_key_id": "...", "secret_access_key": "..." },
 *                "service": { "region": "us-east-1" },
 *                "search_template": "/imbi-check/app" } }
 * ```
 *
 * Exit status: 0 when every checked entry passed, 1 when one failed or the
 * package could not be bundled, 2 when nothing could be checked or the
 * arguments are wrong.
 *
 * @module
 */

import { parseCommand } from "../../cli/_args.ts";
import { setLogLevel } from "../../core/logger.ts";
import { checkPlugin, type EntryCheckConfig, type EntryOutcome } from "./check_plugin.ts";

const USAGE = `usage: check <dir | npm:name@range | jsr:@scope/name@range> [--config <file.json>] [--entry <slug>]

Runs the Imbi plugin conformance suite on every entry point of a plugin
package, each in a sandboxed plugin process with the service's flags.
In an Imbi checkout: deno task plugin:check <target> ...

  --config <file.json>  settings per entry slug: options, credentials, service,
                        search_template, query {start, end}, min_entries
  --entry <slug>        check only this entry point
  -h, --help            this text

Exit status: 0 all passed, 1 a check failed, 2 nothing checked or bad arguments.
Registries: NPM_CONFIG_REGISTRY, JSR_URL (the package and its dependencies).`;

/**
 * Runs the check and prints one line per step, saying which failed and why.
 *
 * @param args The command-line arguments.
 * @returns The exit status.
 */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {
    name: "check",
    usage: USAGE,
    options: { config: { type: "string" }, entry: { type: "string" } },
    positionals: { min: 1, max: 1 },
  });
  setLogLevel("warn");
  let outcomes: EntryOutcome[];
  try {
    const config: Record<string, EntryCheckConfig> = values.config
      ? JSON.parse(await Deno.readTextFile(values.config))
      : {};
    outcomes = await checkPlugin(positionals[0]!, config, values.entry ? { only: values.entry } : {});
  } catch (error) {
    console.error(`✗ ${positionals[0]}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  let passed = 0;
  let failed = 0;
  for (const outcome of outcomes) {
    if (outcome.status === "skipped") {
      console.log(`- ${outcome.slug}: skipped, ${outcome.reason}`);
      continue;
    }
    console.log(`${outcome.report.ok ? "✓" : "✗"} ${outcome.slug} (${outcome.report.plugin_type})`);
    for (const result of outcome.report.results) {
      console.log(`  ${result.ok ? "✓" : "✗"} ${result.name}${result.error ? `\n      ${result.error}` : ""}`);
      if (result.ok) passed++;
      else failed++;
    }
  }
  const checked = outcomes.filter((o) => o.status === "checked").length;
  console.log(`\n${passed} passed, ${failed} failed`);
  if (checked === 0) console.error(values.entry ? `no entry point "${values.entry}"` : "nothing was checked");
  return checked === 0 ? 2 : failed > 0 ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
