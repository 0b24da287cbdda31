/**
 * Start-up to ready: `main.ts` as a real process on a free port, until
 * `/readyz` answers 200, with the repository's lockfile. Cold: a fresh data
 * directory (every package is fetched, verified and bundled). Warm: the same
 * data directory again (verified from the cache, no network).
 *
 * @module
 */

import { freePort } from "../tests/support/local.ts";

const root = new URL("../", import.meta.url).pathname;
const warmDir = await Deno.makeTempDir({ prefix: "imbi-startup-warm-" });

async function startOnce(dataDir: string): Promise<void> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}main.ts`],
    cwd: root,
    env: { IMBI_DATA_DIR: dataDir, IMBI_PORT: String(port), IMBI_LOG_LEVEL: "warn" },
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    for (;;) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/readyz`);
        await r.body?.cancel();
        if (r.status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    child.kill("SIGTERM");
    await child.status;
  }
}

await startOnce(warmDir);

Deno.bench("start-up to ready, warm package cache", { group: "startup", baseline: true, n: 5, warmup: 1 }, async () => {
  await startOnce(warmDir);
});

Deno.bench("start-up to ready, cold package cache", { group: "startup", n: 5, warmup: 1 }, async () => {
  const cold = await Deno.makeTempDir({ prefix: "imbi-startup-cold-" });
  try {
    await startOnce(cold);
  } finally {
    await Deno.remove(cold, { recursive: true });
  }
});
