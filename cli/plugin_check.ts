// deno-lint-ignore-file no-console -- a CLI entry point: its output is the user interface.
/**
 * `deno task plugin:check <path-or-specifier> [--config <file.json>] [--entry <slug>]`:
 * runs the conformance suite on every entry point of a plugin package,
 * inside the real sandbox.
 *
 * The package (a directory, or an `npm:`/`jsr:` specifier fetched from
 * `NPM_CONFIG_REGISTRY`/`JSR_URL`) is bundled and verified by the host's
 * package store, its manifests are read by the permission-less inspector
 * (an invalid manifest fails the check), and each entry runs in its own
 * plugin process with exactly the hosts its manifest computes.
 *
 * An entry that needs a backend takes its settings from `--config`, keyed by
 * slug:
 *
 * ```json
 * { "aws-ssm": { "options": { "endpoint": "http://127.0.0.1:5000" },
 *                "credentials": { "access_key_id": "...", "secret_access_key": "..." },
 *                "service": { "region": "us-east-1" },
 *                "search_template": "/imbi-check/app" },
 *   "aws-cloudwatch-logs": { "...": "...", "query": { "start": "...", "end": "..." }, "min_entries": 5 } }
 * ```
 *
 * Without settings, an entry with required credentials is skipped (said so);
 * others run with empty options, `search_template` `/imbi-check/<random>`
 * (configuration) or `imbi-check` (logs), and the last 24 hours as the logs
 * window. Exit status: 0 when every checked entry passed, 1 when one failed,
 * 2 when nothing could be checked.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { setLogLevel } from "../core/logger.ts";
import { credentialFields } from "../core/packages/manifest.ts";
import { bundlePlugin, runInSandbox } from "../core/sandbox/test_runner.ts";
import { checkConformance, type ConformanceReport, testContext } from "@imbi/plugin-sdk/testing";
import type { LogQuery, ServiceInfo } from "@imbi/plugin-sdk/types";

/** Settings of one entry point for the check. */
export interface EntryCheckConfig {
  options?: Record<string, unknown>;
  credentials?: Record<string, string>;
  service?: Partial<ServiceInfo>;
  search_template?: string;
  /** Logs: the window that holds at least `min_entries` entries. */
  query?: Pick<LogQuery, "start" | "end">;
  min_entries?: number;
}

/** The outcome of one entry point. */
export type EntryOutcome =
  | { slug: string; status: "checked"; report: ConformanceReport }
  | { slug: string; status: "skipped"; reason: string };

/**
 * Checks every entry point of a package in the sandbox.
 *
 * @param pkg A package directory or an `npm:`/`jsr:` specifier.
 * @param config Settings per entry slug.
 * @param options `only`: check just this slug.
 * @returns One outcome per entry point.
 * @throws {Error} When the package cannot be bundled or exports an invalid manifest.
 */
export async function checkPlugin(
  pkg: string,
  config: Record<string, EntryCheckConfig> = {},
  options: { only?: string } = {},
): Promise<EntryOutcome[]> {
  const bundled = await bundlePlugin(pkg);
  const outcomes: EntryOutcome[] = [];
  for (const manifest of bundled.manifests) {
    if (options.only && manifest.slug !== options.only) continue;
    const settings = config[manifest.slug];
    const required = credentialFields(manifest).filter((f) => f.required).map((f) => f.name);
    if (!settings && required.length > 0) {
      outcomes.push({
        slug: manifest.slug,
        status: "skipped",
        reason: `needs a backend and credentials (${required.join(", ")}): give them with --config`,
      });
      continue;
    }
    const isLogs = manifest.plugin_type === "logs";
    const template = settings?.search_template ??
      (isLogs ? "imbi-check" : `/imbi-check/${crypto.randomUUID().slice(0, 8)}`);
    const runner = await runInSandbox(pkg, {
      entry: manifest.slug,
      options: settings?.options ?? {},
      credentials: settings?.credentials ?? {},
      service: settings?.service ?? {},
    });
    try {
      const ctx = testContext(template);
      const now = Date.now();
      const report = await checkConformance(
        runner,
        isLogs
          ? {
            ctx,
            query: settings?.query ??
              { start: new Date(now - 86_400_000).toISOString(), end: new Date(now).toISOString() },
            ...(settings?.min_entries ? { minEntries: settings.min_entries } : {}),
          }
          : { ctx },
      );
      outcomes.push({ slug: manifest.slug, status: "checked", report });
    } finally {
      await runner.close();
    }
  }
  return outcomes;
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: { config: { type: "string" }, entry: { type: "string" } },
  });
  const target = positionals[0];
  if (!target) {
    console.error("usage: deno task plugin:check <path-or-specifier> [--config <file.json>] [--entry <slug>]");
    Deno.exit(2);
  }
  setLogLevel("warn");
  let outcomes: EntryOutcome[];
  try {
    const config = values.config ? JSON.parse(await Deno.readTextFile(values.config)) : {};
    outcomes = await checkPlugin(target, config, values.entry ? { only: values.entry } : {});
  } catch (error) {
    console.error(`plugin:check: ${error instanceof Error ? error.message : String(error)}`);
    Deno.exit(1);
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
  Deno.exit(checked === 0 ? 2 : failed > 0 ? 1 : 0);
}
