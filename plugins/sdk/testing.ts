/**
 * The plugin test kit: the conformance suite, an in-process runner for quick
 * unit tests, and a runner that executes a handler inside the real Imbi
 * sandbox (a separate Deno process with only the manifest's hosts allowed).
 *
 * @example
 * ```ts
 * import { conformanceSteps, runInSandbox } from "@imbi/plugin-sdk/testing";
 * Deno.test("my-config keeps the protocol in the sandbox", async (t) => {
 *   const runner = await runInSandbox(new URL("./", import.meta.url), { entry: "my-config" });
 *   try { await conformanceSteps(t, runner, { ctx }); } finally { await runner.close(); }
 * });
 * ```
 *
 * @module
 */

export * from "./conformance.ts";
export * from "./in_process.ts";
export * from "./test_context.ts";
export * from "./sandbox_runner.ts";
