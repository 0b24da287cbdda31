import assert from "node:assert/strict";
import { PluginCallError } from "../../core/errors.ts";
import { type Failure, pluginDenoDir, PluginProcess, PROCESS_DEFAULTS } from "../../core/sandbox/process.ts";
import { defaultRssMb } from "../../core/sandbox/process.ts";
import { bundleFixtures } from "../support/bundle_fixture.ts";

const FIXTURES = new URL("../fixtures/sandbox/", import.meta.url);

/** The channel socket a process was started with, from its argv (the jail's argv holds the plugin's). */
function channelOf(pid: number): string {
  const argv = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0");
  const arg = argv.find((a) => a.startsWith("channel="));
  assert.ok(arg, argv.join(" "));
  return arg.slice("channel=".length);
}

Deno.test("a plugin process killed before it connects fails once as crashed and leaves no socket behind", async () => {
  await using bundles = await bundleFixtures(FIXTURES, ["good"]);
  const failures: Failure[] = [];
  const proc = new PluginProcess({
    nodeId: "channel-test",
    bundlePath: bundles.path("good"),
    netHosts: [],
    ...PROCESS_DEFAULTS,
    rssMb: defaultRssMb(PROCESS_DEFAULTS.heapMb),
    denoDir: pluginDenoDir(),
    scrub: (text) => text,
    onMessage: () => {},
    onFailure: (failure) => failures.push(failure),
  });
  const path = channelOf(proc.pid);
  // Listening, and nothing connected yet: Deno takes tens of milliseconds to start.
  assert.ok(Deno.statSync(path).isSocket);
  const call = proc.call("listKeys", [], { requestId: "r", timeoutMs: 10_000 }).then(() => null, (error) => error);
  proc.kill("SIGKILL");
  await proc.closed;
  const error = await call;
  assert.ok(error instanceof PluginCallError && error.kind === "crashed", String(error));
  assert.equal(failures.length, 1);
  assert.equal(failures[0]!.cause, "crashed");
  await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
});
