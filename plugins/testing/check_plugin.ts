/**
 * The conformance check of a whole plugin package, in the real sandbox:
 * every entry point bundled, inspected and run exactly as the service
 * would, then put through the SDK's conformance suite.
 *
 * @module
 */

import { credentialFields } from "../../core/packages/manifest.ts";
import { bundlePlugin, runInSandbox } from "../../core/sandbox/test_runner.ts";
import { checkConformance, type ConformanceReport, testContext } from "@imbi/plugin-sdk/testing";
import type { LogQuery, ServiceInfo } from "@imbi/plugin-sdk/types";

/** Settings of one entry point for the check. */
export interface EntryCheckConfig {
  /** The Plugin node's options (validated against the manifest, defaults applied). */
  options?: Record<string, unknown>;
  /** Credentials by field name. */
  credentials?: Record<string, string>;
  /** Fields of the service the node belongs to (`region`, `base_url`, ...). */
  service?: Partial<ServiceInfo>;
  /** The rendered search template the calls use. */
  search_template?: string;
  /** Logs: the window that holds at least `min_entries` entries. */
  query?: Pick<LogQuery, "start" | "end">;
  /** Logs: how many entries the window holds at least (default 5). */
  min_entries?: number;
}

/** The outcome of one entry point. */
export type EntryOutcome =
  | { slug: string; status: "checked"; report: ConformanceReport }
  | { slug: string; status: "skipped"; reason: string };

/**
 * Checks every entry point of a package in the sandbox.
 *
 * Without settings for an entry, one with required credentials is skipped
 * (the outcome says why); the others run with empty options, the search
 * template `/imbi-check/<random>` (configuration) or `imbi-check` (logs),
 * and the last 24 hours as the logs window.
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
