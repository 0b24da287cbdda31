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

import { aptInstall, findCommand, type RunningService, type TestService } from "./service.ts";

const findChromium = () => findCommand(["/usr/bin/chromium", "chromium"]);

/** Chromium for the console tests. */
export const service: TestService = {
  name: "chromium",
  async install(_cacheDir, progress) {
    if (await findChromium()) return;
    progress("installing Debian package chromium");
    await aptInstall("chromium");
  },
  async start(_cacheDir, progress) {
    const binary = await findChromium();
    if (!binary) throw new Error("chromium is not installed");
    progress(`using ${binary}`);
    return { env: { IMBI_TEST_CHROMIUM: binary }, stop: async () => {} } satisfies RunningService;
  },
};
