/**
 * The plugin test kit: the conformance suite, an in-process runner for quick
 * unit tests, and call contexts. It needs nothing but Deno. To run a
 * handler inside the real Imbi sandbox (a separate Deno process with only
 * the manifest's hosts allowed), run `deno task plugin:check <dir>` in an
 * Imbi checkout; its runner is host code, not part of this SDK.
 *
 * @example
 * ```ts
 * import { conformanceSteps, inProcess, testContext } from "@imbi/plugin-sdk/testing";
 * import { MyConfig } from "./mod.ts";
 * Deno.test("my-config keeps the configuration protocol", async (t) => {
 *   await conformanceSteps(t, inProcess(MyConfig), { ctx: testContext("/my-project") });
 * });
 * ```
 *
 * @module
 */

export * from "./conformance.ts";
export * from "./fake_backend.ts";
export * from "./in_process.ts";
export * from "./test_context.ts";
