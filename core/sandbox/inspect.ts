/**
 * Reads the manifests a bundle exports, in a plugin process that may read
 * that one file and nothing else (spec section 5): installs, reloads and
 * the plugin test kit call this before any handler is constructed.
 *
 * A stored bundle's result is also kept beside it ({@linkcode inspectStoredBundle}),
 * keyed by the sha256 of the bundle's bytes, so that a start or reload does not
 * spend a process (0.3 to 0.6 s on a busy machine) per package whose bundle it
 * has already inspected.
 *
 * @module
 */

import { dirname } from "node:path";
import { sriHash } from "../packages/integrity.ts";
import { log } from "../logger.ts";
import type { InspectedMessage } from "./protocol.ts";
import { checkBundlePath, defaultRssMb, pluginDenoDir, PluginProcess, PROCESS_DEFAULTS, toFileUrl } from "./process.ts";

/** The result of {@link inspectBundle}. */
export type InspectResult =
  | { ok: true; entries: { index: number; className: string; manifest: unknown }[] }
  | { ok: false; reason: string };

/**
 * Reads the manifests a bundle exports, in a child with no permission but
 * reading that one file (no host to reach, no env; its channel's grants are
 * revoked before the import), a short deadline and the heap cap.
 * Module code runs (that is what importing does); handler constructors and
 * methods never do.
 *
 * @param bundlePath Absolute path of the single-file bundle.
 * @param options `timeoutMs` (default 15 000: a confined child on a busy or CPU-throttled host), `heapMb` (128), `denoDir`.
 * @returns The classes of `plugins` with their manifests as JSON, or why not.
 * @throws {TypeError} When the path is not absolute or contains a comma.
 */
export async function inspectBundle(
  bundlePath: string,
  options: { timeoutMs?: number; heapMb?: number; denoDir?: string } = {},
): Promise<InspectResult> {
  checkBundlePath(bundlePath);
  const timeoutMs = options.timeoutMs ?? 15_000;
  const heapMb = options.heapMb ?? PROCESS_DEFAULTS.heapMb;
  const scrubPath = (text: string) =>
    text.replaceAll(toFileUrl(bundlePath), "<bundle>").replaceAll(bundlePath, "<bundle>").split("\n")[0]!.slice(0, 300);
  let settle!: (result: InspectResult) => void;
  const answer = new Promise<InspectResult>((resolve) => (settle = resolve));
  const child: PluginProcess = new PluginProcess({
    nodeId: `inspect:${bundlePath.split("/").pop()}`,
    bundlePath,
    netHosts: [],
    heapMb,
    rssMb: defaultRssMb(heapMb),
    maxFrameBytes: PROCESS_DEFAULTS.maxFrameBytes,
    denoDir: options.denoDir ?? pluginDenoDir(),
    scrub: scrubPath,
    onMessage: (message) => {
      if (message.type === "inspected") settle(inspected(message.result, scrubPath));
      else if (message.type === "fatal") {
        settle({ ok: false, reason: `the module failed: ${scrubPath(message.message)}` });
      } else child.fail({ cause: "protocol", detail: `unexpected "${message.type}" message` });
    },
    onFailure: (failure) => {
      const reason = failure.cause === "timeout"
        ? "inspection timed out"
        : failure.cause === "protocol"
        ? `inspection broke the channel: ${failure.detail}`
        : `the inspector process ${failure.detail}`;
      settle({ ok: false, reason });
    },
  });
  child.send({ type: "inspect", bundle: toFileUrl(bundlePath) });
  const timer = setTimeout(() => {
    settle({ ok: false, reason: `inspection did not finish within ${timeoutMs} ms` });
  }, timeoutMs);
  try {
    return await answer;
  } finally {
    clearTimeout(timer);
    await child.shutdown(0);
  }
}

function inspected(result: InspectedMessage["result"], scrub: (text: string) => string): InspectResult {
  if (!result.ok) return { ok: false, reason: scrub(result.reason) };
  return {
    ok: true,
    entries: result.entries.map((entry) => ({
      index: entry.index,
      className: entry.className,
      manifest: entry.manifest,
    })),
  };
}

/** The file beside a stored `bundle.js` that keeps its inspection. */
export const INSPECTION_FILE = "inspection.json";

/**
 * Bumped whenever what the bootstrap reports for a bundle changes, so that
 * results of an older inspector are not reused.
 */
const INSPECTION_FORMAT = 1;

/** What {@linkcode INSPECTION_FILE} holds: a successful result and what it was computed from. */
interface KeptInspection {
  format: number;
  /** The Deno that ran the inspection (module evaluation may differ across versions). */
  deno: string;
  /** sha256 SRI of the bundle's bytes. */
  bundle_integrity: string;
  result: InspectResult & { ok: true };
}

/**
 * {@linkcode inspectBundle} for a bundle of the package store, with its
 * result kept in {@linkcode INSPECTION_FILE} beside it. The kept result is
 * used only when it was computed from bundle bytes with the same sha256 as
 * the file has now, by this Deno version and inspector format; anything else
 * (no file, another hash, a file that does not parse or has the wrong shape)
 * runs the inspection again and rewrites it. Only successful inspections
 * are kept: a failure (a timeout on a busy host, a bundle that throws) is
 * retried at the next build.
 *
 * @param bundlePath Absolute path of the single-file bundle.
 * @param options As {@linkcode inspectBundle}'s.
 * @returns The classes of `plugins` with their manifests as JSON, or why not.
 * @throws {TypeError} When the path is not absolute or contains a comma.
 */
export async function inspectStoredBundle(
  bundlePath: string,
  options: { timeoutMs?: number; heapMb?: number; denoDir?: string } = {},
): Promise<InspectResult> {
  checkBundlePath(bundlePath);
  const integrity = await bundleIntegrity(bundlePath);
  const keptPath = `${dirname(bundlePath)}/${INSPECTION_FILE}`;
  const kept = integrity === undefined ? undefined : await readKept(keptPath, integrity);
  if (kept !== undefined) return kept;
  const result = await inspectBundle(bundlePath, options);
  // Kept only when the bundle did not change while it was inspected.
  if (result.ok && integrity !== undefined && await bundleIntegrity(bundlePath) === integrity) {
    const record: KeptInspection = {
      format: INSPECTION_FORMAT,
      deno: Deno.version.deno,
      bundle_integrity: integrity,
      result,
    };
    await writeKept(keptPath, record).catch((error) => {
      log.debug("cannot keep a bundle's inspection", { path: keptPath, error: (error as Error).message });
    });
  }
  return result;
}

async function bundleIntegrity(bundlePath: string): Promise<string | undefined> {
  try {
    return await sriHash(await Deno.readFile(bundlePath), "sha256");
  } catch {
    // Unreadable: the inspection itself reports why.
    return undefined;
  }
}

async function readKept(path: string, integrity: string): Promise<InspectResult | undefined> {
  let record: Partial<KeptInspection>;
  try {
    record = JSON.parse(await Deno.readTextFile(path));
  } catch {
    return undefined;
  }
  if (
    typeof record !== "object" || record === null || record.format !== INSPECTION_FORMAT ||
    record.deno !== Deno.version.deno || record.bundle_integrity !== integrity || !isInspected(record.result)
  ) return undefined;
  return record.result;
}

function isInspected(result: unknown): result is InspectResult & { ok: true } {
  if (typeof result !== "object" || result === null) return false;
  const { ok, entries } = result as { ok?: unknown; entries?: unknown };
  return ok === true && Array.isArray(entries) &&
    entries.every((entry) =>
      typeof entry === "object" && entry !== null && Number.isInteger(entry.index) &&
      typeof entry.className === "string"
    );
}

/** Writes the record whole or not at all: a temporary file beside it, then one rename. */
async function writeKept(path: string, record: KeptInspection): Promise<void> {
  const temporary = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.writeTextFile(temporary, JSON.stringify(record) + "\n");
    await Deno.rename(temporary, path);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw error;
  }
}
