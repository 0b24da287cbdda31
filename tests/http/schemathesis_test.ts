/**
 * Schemathesis (pinned in tests/setup/openapi_tools.ts) with every check
 * against `deno task serve` with its real flags, seeded with the walk-through
 * graph: the coverage, fuzzing and stateful phases over every operation of
 * `/openapi.json`, with a fixed seed and a small example count so it stays
 * well under a minute and a half here. Any finding fails the test; what the
 * run accepts beyond the document is in tests/http/schemathesis.toml, each
 * with its reason.
 */
import assert from "node:assert/strict";
import { runCommand } from "../support/command.ts";
import { scanForSecrets } from "../support/secret_scan.ts";
import { seedWalkthrough } from "../support/seed.ts";
import { serveLocked } from "../support/serve_process.ts";
import { serviceUrl } from "../support/services.ts";
import { DEMO_PACKAGES, ROOT } from "../support/test_app.ts";
import { CLOSED } from "../support/local.ts";

const SCHEMATHESIS = serviceUrl("IMBI_TEST_SCHEMATHESIS");

Deno.test({
  name: "Schemathesis with every check finds nothing in the seeded service",
  ignore: !SCHEMATHESIS,
  async fn(t) {
    // Closed registries: the fuzzer must not install arbitrary packages from a real one.
    await using served = await serveLocked(DEMO_PACKAGES, {
      prefix: "imbi-fuzz-",
      env: { IMBI_READ_TOKENS: `read-${crypto.randomUUID()}`, IMBI_NPM_REGISTRY: CLOSED, IMBI_JSR_URL: CLOSED },
    });
    const { service, admin, work } = served;
    try {
      await seedWalkthrough(served.app);
      const operations = Object.values(
        (await (await fetch(`${service.url}/openapi.json`)).json()).paths as Record<string, object>,
      ).reduce((n: number, methods) => n + Object.keys(methods).length, 0);

      await t.step("every operation is tested and no check fails", async () => {
        const started = performance.now();
        const out = await runCommand(SCHEMATHESIS!, [
          "--config-file",
          `${ROOT}tests/http/schemathesis.toml`,
          "run",
          `${service.url}/openapi.json`,
          "--checks",
          "all",
          "--header",
          `Authorization: Bearer ${admin}`,
          "--phases",
          "coverage,fuzzing,stateful",
          "--max-examples",
          "5",
          "--seed",
          "20261202",
          // One worker: Hypothesis parses lambda sources with `ast`, which CPython 3.11 does not do safely from
          // several threads ("AST constructor recursion depth mismatch"); one is as fast here, the service is the
          // bottleneck.
          "--workers",
          "1",
          "--request-timeout",
          "15",
          "--max-failures",
          "50",
          "--no-color",
        ], { cwd: work, env: { SCHEMATHESIS_TELEMETRY: "false" } });
        const elapsed = Math.round((performance.now() - started) / 1000);
        const output = out.text;
        assert.equal(out.code, 0, output);
        const [, selected, total, tested] = /Selected: (\d+)\/(\d+)\s+Tested: (\d+)/.exec(output) ?? [];
        assert.equal(selected, total, output);
        assert.equal(tested, total, output);
        // Schemathesis may leave out GET /openapi.json, its own input; nothing else.
        assert.ok(Number(total) >= operations - 1, `${total} of ${operations} operations selected`);
        assert.doesNotMatch(output, /Failures:/, output);
        // 30 to 90 s on two shared cores; the bound catches a run that stopped being small, not a busy machine.
        assert.ok(elapsed < 150, `the fuzz run took ${elapsed} s`);
      });

      await t.step("the service log holds no secret and no unhandled error", () => {
        for (const line of service.lines) scanForSecrets(line, "a line of the service log");
        const unhandled = service.lines.filter((l) => l.includes('"msg":"unhandled error"'));
        assert.deepEqual(unhandled, []);
      });
    } finally {
      const status = await service.stop();
      assert.equal(status.code, 0, service.lines.slice(-20).join("\n"));
    }
  },
});
