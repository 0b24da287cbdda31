/**
 * Test service: Debian's Chromium, which the console tests drive with
 * `playwright-core`.
 *
 * Install: reuses a `chromium` binary on the PATH (or `/usr/bin/chromium`),
 * else runs `apt-get install chromium` (and `apt-get update` first if that
 * fails). Nothing to start: each console test launches its own browser.
 *
 * Exports `IMBI_TEST_CHROMIUM` (the binary).
 *
 * @module
 */

import type { RunningService, TestService } from "./service.ts";

async function findChromium(): Promise<string | undefined> {
  for (const candidate of ["/usr/bin/chromium", "chromium"]) {
    try {
      const out = await new Deno.Command(candidate, { args: ["--version"], stdout: "null", stderr: "null" }).output();
      if (out.success) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

async function aptGet(args: string[]): Promise<boolean> {
  const out = await new Deno.Command("apt-get", {
    args,
    env: { DEBIAN_FRONTEND: "noninteractive" },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).output();
  return out.success;
}

/** Chromium for the console tests. */
export const service: TestService = {
  name: "chromium",
  async install(_cacheDir, progress) {
    if (await findChromium()) return;
    progress("installing Debian package chromium");
    if (!await aptGet(["install", "-y", "-qq", "chromium"])) {
      await aptGet(["update", "-qq"]);
      if (!await aptGet(["install", "-y", "-qq", "chromium"])) throw new Error("apt-get install chromium failed");
    }
  },
  async start(_cacheDir, progress) {
    const binary = await findChromium();
    if (!binary) throw new Error("chromium is not installed");
    progress(`using ${binary}`);
    return { env: { IMBI_TEST_CHROMIUM: binary }, stop: async () => {} } satisfies RunningService;
  },
};
