import assert from "node:assert/strict";
import { activeConfinement } from "../../core/sandbox/confine.ts";
import { bundleFixtures } from "../support/bundle_fixture.ts";
import { cpuTicks, isAlive, printedPid, waitGone } from "../support/sandbox_harness.ts";

const FIXTURES = new URL("../fixtures/sandbox/", import.meta.url);
const HOST_PROGRAM = decodeURIComponent(new URL("host_program.ts", FIXTURES).pathname);
const CONFIG = decodeURIComponent(new URL("../../deno.json", import.meta.url).pathname);

/** Starts the host program, returns it and the pid of the plugin child it printed. */
async function startHost(
  bundlePath: string,
  mode: "idle" | "loop",
): Promise<{ host: Deno.ChildProcess; childPid: number }> {
  const host = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--config", CONFIG, HOST_PROGRAM, bundlePath, mode],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const childPid = await printedPid(host);
  return { host, childPid };
}

Deno.test("a plugin child exits when its host is SIGKILLed (PDEATHSIG, else channel EOF), even in a busy loop", async (t) => {
  await using bundles = await bundleFixtures(FIXTURES, ["hostile"]);

  await t.step("an idle child exits", async () => {
    const { host, childPid } = await startHost(bundles.path("hostile"), "idle");
    assert.ok(isAlive(childPid));
    host.kill("SIGKILL");
    await host.status;
    const ms = await waitGone(childPid, 5000);
    assert.equal(isAlive(childPid), false);
    assert.ok(ms < 5000);
  });

  await t.step("a child spinning in plugin code exits at once when jailed, else within the EOF grace", async () => {
    const { host, childPid } = await startHost(bundles.path("hostile"), "loop");
    // Wait until the child is really spinning: its CPU time grows.
    const ticks = cpuTicks(childPid);
    const deadline = performance.now() + 5000;
    while (cpuTicks(childPid) <= ticks + 5) {
      assert.ok(performance.now() < deadline, "the child never started spinning");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    host.kill("SIGKILL");
    await host.status;
    const ms = await waitGone(childPid, 5000);
    assert.equal(isAlive(childPid), false);
    if (activeConfinement().mechanism === "none") {
      // The bootstrap's watchdog sees the host gone (within 250 ms), waits 1 s for the main thread, then SIGKILLs.
      assert.ok(ms >= 500 && ms < 3000, `gone after ${Math.round(ms)} ms`);
    } else {
      // The jail dies with the host (PDEATHSIG) and the plugin with the jail.
      assert.ok(ms < 500, `gone after ${Math.round(ms)} ms`);
    }
  });
});
