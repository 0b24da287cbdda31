/**
 * The plugin test kit: the conformance suite, an in-process runner for quick
 * unit tests, and call contexts. It needs nothing but Deno. To run a
 * handler inside the real Imbi sandbox (a separate Deno process with only
 * the manifest's hosts allowed), use `runInSandbox` from
 * `@imbi/plugin-sdk/sandbox`, which drives the host's own sandbox and so
 * runs in an Imbi checkout.
 *
 * @example
 * ```ts
 * import { conformanceSteps } from "@imbi/plugin-sdk/testing";
 * import { runInSandbox } from "@imbi/plugin-sdk/sandbox";
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
