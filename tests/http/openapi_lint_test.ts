/**
 * The service's own `/openapi.json`, linted with Redocly CLI's `recommended`
 * rules (pinned in tests/setup/openapi_tools.ts). Any problem fails the test,
 * warnings included; the few rules turned off are in `redocly.yaml`, each
 * with its reason.
 */
import assert from "node:assert/strict";
import { serviceUrl } from "../support/services.ts";
import { ROOT, startTestApp } from "../support/test_app.ts";

const REDOCLY = serviceUrl("IMBI_TEST_REDOCLY");

interface LintProblem {
  ruleId: string;
  severity: string;
  message: string;
  location: { pointer: string }[];
}

Deno.test({
  name: "GET /openapi.json lints clean with Redocly's recommended rules",
  ignore: !REDOCLY,
  async fn(t) {
    await using app = await startTestApp({ packages: [] });
    const document = await app.request("GET", "/openapi.json", { token: null });
    assert.equal(document.status, 200);
    const dir = await Deno.makeTempDir({ prefix: "imbi-lint-" });
    try {
      await Deno.writeTextFile(`${dir}/openapi.json`, document.text);

      await t.step("redocly.yaml extends recommended", async () => {
        const config = await Deno.readTextFile(`${ROOT}redocly.yaml`);
        assert.match(config, /^extends:\n {2}- recommended$/m);
      });

      await t.step("no error and no warning", async () => {
        const out = await new Deno.Command(REDOCLY!, {
          args: ["lint", "--config", `${ROOT}redocly.yaml`, "--format", "json", `${dir}/openapi.json`],
          cwd: dir,
          env: { NO_COLOR: "1", REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        }).output();
        const stdout = new TextDecoder().decode(out.stdout);
        const report = JSON.parse(stdout.slice(stdout.indexOf("{"))) as {
          totals: { errors: number; warnings: number; ignored: number };
          problems: LintProblem[];
        };
        const problems = report.problems.map((p) =>
          `${p.severity} ${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`
        );
        assert.deepEqual(problems, []);
        assert.deepEqual(report.totals, { errors: 0, warnings: 0, ignored: 0 });
        assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
