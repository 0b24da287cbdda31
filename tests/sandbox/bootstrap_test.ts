import assert from "node:assert/strict";
import { setLogLevel, setLogSink } from "../../core/logger.ts";
import { Supervisor } from "../../core/sandbox/supervisor.ts";
import { testContext, testInit } from "../support/sandbox_harness.ts";

/**
 * A one-file bundle whose `getValues` writes a line to Node's `process.stdout`, reached as `reach` says: the
 * `process` global, or `node:process` imported by the bundle (which never touches the global).
 */
function stdoutBundle(slug: string, reach: "global" | "import"): string {
  return `${reach === "import" ? 'import process from "node:process";\n' : ""}
export class StdoutPlugin {
  static manifest = { slug: "${slug}", name: "${slug}", plugin_type: "configuration", api_version: "^1.0.0",
    network: { hosts: [] } };
  listKeys() { return []; }
  getValues() {
    ${reach === "global" ? "globalThis." : ""}process.stdout.write("node stdout from ${slug}\\n");
    return [{ key: "pid", value: String(Deno.pid), data_type: "string", secret: false }];
  }
}
export const plugins = [StdoutPlugin];
`;
}

Deno.test("bootstrap sends Node's process.stdout to stderr, through the global or node:process", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "imbi_bootstrap_" });
  const lines: string[] = [];
  const previousSink = setLogSink((line) => lines.push(line));
  setLogLevel("debug");
  try {
    for (const reach of ["global", "import"] as const) {
      await t.step(`through ${reach === "global" ? "the process global" : "an import of node:process"}`, async () => {
        const slug = `stdout-${reach}`;
        const bundlePath = `${dir}/${slug}.js`;
        await Deno.writeTextFile(bundlePath, stdoutBundle(slug, reach));
        const supervisor = new Supervisor({
          nodeId: slug,
          bundlePath,
          entry: slug,
          netHosts: [],
          init: testInit(slug),
          timeoutMs: 5000,
        });
        try {
          const call = () => supervisor.call("getValues", [testContext(), []], { requestId: "r" });
          const [first] = await call() as { value: string }[];
          const [second] = await call() as { value: string }[];
          assert.equal(second!.value, first!.value, "no corrupt frame: the same process keeps answering");
          assert.equal(supervisor.stats.spawns, 1);
        } finally {
          await supervisor.close();
        }
        const stderr = lines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === "plugin stderr");
        assert.ok(stderr.some((entry) => entry.line === `node stdout from ${slug}`), JSON.stringify(stderr));
      });
    }
  } finally {
    setLogLevel("info");
    setLogSink(previousSink);
    await Deno.remove(dir, { recursive: true });
  }
});
