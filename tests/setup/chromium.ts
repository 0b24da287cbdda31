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

import { debianService } from "./service.ts";

/** Chromium for the console tests. */
export const service = debianService("chromium", {
  debianPackage: "chromium",
  commands: ["/usr/bin/chromium", "chromium"],
  start(binary, _cacheDir, progress) {
    progress(`using ${binary}`);
    return Promise.resolve({ env: { IMBI_TEST_CHROMIUM: binary }, stop: async () => {} });
  },
});
