/**
 * Reads the manifests a bundle exports, in a plugin process that may read
 * that one file and nothing else (spec section 5): installs, reloads and
 * the plugin test kit call this before any handler is constructed.
 *
 * @module
 */

import type { InspectedMessage } from "./protocol.ts";
import { checkBundlePath, defaultRssMb, pluginDenoDir, PluginProcess, PROCESS_DEFAULTS, toFileUrl } from "./process.ts";

/** The result of {@link inspectBundle}. */
export type InspectResult =
  | { ok: true; entries: { index: number; className: string; manifest: unknown }[] }
  | { ok: false; reason: string };

/**
 * Reads the manifests a bundle exports, in a child with no permission but
 * reading that one file (no net, no env), a short deadline and the heap cap.
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
