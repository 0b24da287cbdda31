/**
 * `@imbi/plugin-testing`: runs an Imbi plugin the way the service does.
 *
 * - {@linkcode runInSandbox} starts one entry point in a real plugin process
 *   (bundled by the service's package store, manifest read by the
 *   permission-less inspector, options validated with defaults, `--allow-net`
 *   computed from `network.hosts`) and returns a runner for the SDK's
 *   conformance suite (`@imbi/plugin-sdk/testing`).
 * - {@linkcode checkPlugin} runs that suite on every entry point of a package;
 *   `@imbi/plugin-testing/check` is the same as a command.
 *
 * The code is the service's own (`core/sandbox/` and `core/packages/` in the
 * Imbi repository), bundled into this package when it is published.
 *
 * @example
 * ```ts
 * import { conformanceSteps, testContext } from "@imbi/plugin-sdk/testing";
 * import { runInSandbox } from "@imbi/plugin-testing";
 *
 * Deno.test("my-vault in the sandbox", async (t) => {
 *   const runner = await runInSandbox(new URL("./", import.meta.url), { entry: "my-vault" });
 *   try {
 *     await conformanceSteps(t, runner, { ctx: testContext("/my/prefix") });
 *   } finally {
 *     await runner.close();
 *   }
 * });
 * ```
 *
 * @module
 */

export {
  type BundledPlugin,
  bundlePlugin,
  runInSandbox,
  type SandboxRunner,
  type SandboxRunOptions,
} from "../../core/sandbox/test_runner.ts";
export { checkPlugin, type EntryCheckConfig, type EntryOutcome } from "./check_plugin.ts";
// The SDK types this package's API uses, re-exported so that its documentation is complete.
export type { CheckResult, ConformanceReport, HandlerRunner, TestInit } from "@imbi/plugin-sdk/testing";
export type * from "@imbi/plugin-sdk/types";
