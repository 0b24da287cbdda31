import assert from "node:assert/strict";
import { checkConformance } from "../../plugins/sdk/conformance.ts";
import { runInSandbox } from "../../core/sandbox/test_runner.ts";
import { testContext } from "../../plugins/sdk/test_context.ts";

const demo = new URL("../../plugins/demo-config/", import.meta.url);

Deno.test("runInSandbox() runs a package's entry in a plugin process that passes the conformance suite", async () => {
  const runner = await runInSandbox(demo, { entry: "demo-config" });
  try {
    assert.deepEqual(runner.netHosts, []);
    const report = await checkConformance(runner, { ctx: testContext("/sdk-test") });
    assert.deepEqual(report.results.filter((r) => !r.ok), []);
  } finally {
    await runner.close();
  }
});

Deno.test("runInSandbox() refuses options that fail the manifest's schema and unknown entries", async () => {
  await assert.rejects(runInSandbox(demo, { entry: "demo-config", options: { latency_ms: -1 } }), /fail its schema/);
  await assert.rejects(runInSandbox(demo, { entry: "nope" }), /has no entry "nope"/);
});
