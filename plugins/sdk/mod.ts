/**
 * The Imbi plugin SDK (plugin API 1.0): manifest and protocol types, typed
 * errors, cursor and HTTP helpers. Every plugin, first- or third-party,
 * imports this. The test kit (conformance suite, in-process and sandbox
 * runners) is `@imbi/plugin-sdk/testing`.
 *
 * @example
 * ```ts
 * import type { ConfigurationHandler, HandlerInit, PluginManifest } from "@imbi/plugin-sdk";
 * export class MyConfig implements ConfigurationHandler {
 *   static manifest: PluginManifest = { slug: "my-config", name: "Mine", plugin_type: "configuration",
 *     api_version: "^1.0.0", network: { hosts: [] } };
 *   constructor(_init: HandlerInit) {}
 *   async listKeys() { return []; }
 *   async getValues() { return []; }
 *   async setValue(_ctx, key: string) { return { key, data_type: "string", secret: false }; }
 *   async deleteKey() {}
 * }
 * export const plugins = [MyConfig];
 * ```
 *
 * @module
 */

export * from "./types.ts";
export * from "./errors.ts";
export * from "./config_items.ts";
export * from "./cursor.ts";
export * from "./http.ts";
export * from "./log_query.ts";
export * from "./results.ts";

/** The plugin API version this SDK describes. */
export const SDK_API_VERSION = "1.0.0";
