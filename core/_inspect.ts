/**
 * Temporary stand-in for `inspectBundle` of `core/sandbox.ts` (same
 * signature), used until the sandbox module lands. It imports the bundle in a
 * child Deno process that may read that one file and nothing else, with a
 * cleared environment, a small heap and a deadline, and prints each exported
 * handler class's static manifest as JSON.
 *
 * @module
 */

/** What inspecting a bundle found: each exported handler class with its manifest. */
export type InspectResult =
  | { ok: true; entries: { index: number; className: string; manifest: unknown }[] }
  | { ok: false; reason: string };

const PROBE = `
const mod = await import(Deno.args[0]);
let out;
if (!Array.isArray(mod.plugins)) {
  out = { ok: false, reason: "the main module has no \`plugins\` export (an array of handler classes)" };
} else {
  out = { ok: true, entries: mod.plugins.map((cls, index) => {
    let manifest = null;
    try { manifest = cls && cls.manifest !== undefined ? JSON.parse(JSON.stringify(cls.manifest)) : null; } catch { manifest = null; }
    return { index, className: typeof cls === "function" ? cls.name : "", manifest };
  }) };
}
await Deno.stdout.write(new TextEncoder().encode("\\n@@inspect@@" + JSON.stringify(out) + "\\n"));
`;

/**
 * Imports a bundle without permissions (read of the bundle only) and returns its handler classes' manifests.
 *
 * @param bundlePath Absolute path of `bundle.js`.
 * @returns The entries, or why the bundle could not be inspected.
 */
export async function inspectBundle(bundlePath: string): Promise<InspectResult> {
  const child = new Deno.Command(Deno.execPath(), {
    env: { NO_COLOR: "1" },
    args: [
      "run",
      "--no-prompt",
      "--no-config",
      "--no-lock",
      "--no-remote",
      "--no-npm",
      `--allow-read=${bundlePath}`,
      "--v8-flags=--max-old-space-size=128",
      `data:application/javascript;base64,${btoa(PROBE)}`,
      new URL(`file://${bundlePath}`).href,
    ],
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
  }, 15_000);
  const out = await child.output();
  clearTimeout(timer);
  const stdout = new TextDecoder().decode(out.stdout);
  const marker = stdout.lastIndexOf("\n@@inspect@@");
  if (!out.success || marker < 0) {
    const stderr = new TextDecoder().decode(out.stderr).replace(new RegExp(String.fromCharCode(27) + "\\[[0-9;]*m", "g"), "").trim();
    const line = stderr.split("\n").find((l) => /error/i.test(l)) ?? stderr.split("\n")[0] ?? "";
    return { ok: false, reason: `importing the bundle failed (exit ${out.code}): ${line.slice(0, 500)}` };
  }
  return JSON.parse(stdout.slice(marker + "\n@@inspect@@".length)) as InspectResult;
}
