/**
 * A configuration plugin that keeps values in its own process memory, seeded
 * from its options. It needs no backend and no network, which makes it the
 * plugin of the README walk-through and of the end-to-end tests. Values
 * written through it last until its sandbox process is replaced.
 *
 * Options: `seed` (key to value, applied under every prefix on first use),
 * `latency_ms` (an artificial delay per call, for demonstrating deadlines and
 * reloads). `deno task plugin:new --type configuration` copies this file as
 * its template.
 *
 * @module
 */

import * as sdk from "@imbi/plugin-sdk";

const DATA_TYPES = [
  { name: "string", label: "String", secret: false },
  { name: "secret", label: "Secret", secret: true },
];

interface Options {
  seed: Record<string, string>;
  latency_ms: number;
}

/** In-memory configuration, one namespace per rendered `search_template`. */
export class DemoConfig implements sdk.ConfigurationHandler {
  /** The manifest the host reads without running any handler code. */
  static manifest: sdk.PluginManifest = {
    slug: "demo-config",
    name: "Demo configuration",
    description: "Keeps configuration in memory; seeded from options. For demos and tests.",
    plugin_type: "configuration",
    api_version: "^1.0.0",
    options: {
      type: "object",
      properties: {
        seed: {
          type: "object",
          description: "Values every prefix starts with",
          additionalProperties: { type: "string" },
          default: {},
        },
        latency_ms: { type: "integer", minimum: 0, maximum: 60000, default: 0 },
      },
      additionalProperties: false,
    },
    credentials: [],
    network: { hosts: [] },
    data_types: DATA_TYPES,
    hints: { cacheable: false },
  };

  #options: Options;
  #spaces = new Map<string, Map<string, { value: string; data_type: string; last_modified: string }>>();

  /** @param init Options with defaults applied, decrypted credentials, the Plugin node and its service. */
  constructor(init: sdk.HandlerInit) {
    this.#options = init.options as unknown as Options;
  }

  /** The keys under one rendered search_template. Replace the Map with calls to your backend. */
  #space(ctx: sdk.CallContext) {
    let space = this.#spaces.get(ctx.search_template);
    if (!space) {
      space = new Map();
      const at = new Date(0).toISOString();
      for (const [key, value] of Object.entries(this.#options.seed ?? {})) {
        space.set(key, { value, data_type: "string", last_modified: at });
      }
      this.#spaces.set(ctx.search_template, space);
    }
    return space;
  }

  async #pause(): Promise<void> {
    if (this.#options.latency_ms > 0) await new Promise((r) => setTimeout(r, this.#options.latency_ms));
  }

  /** Every key, without values. */
  async listKeys(ctx: sdk.CallContext): Promise<sdk.ConfigKey[]> {
    await this.#pause();
    return [...this.#space(ctx).entries()].sort(([a], [b]) => a.localeCompare(b)).map(([key, item]) => ({
      key,
      data_type: item.data_type,
      secret: item.data_type === "secret",
      last_modified: item.last_modified,
    }));
  }

  /** Values of every key, or of `keys`; missing keys are omitted. */
  async getValues(ctx: sdk.CallContext, keys?: string[]): Promise<sdk.ConfigValue[]> {
    const listed = await this.listKeys(ctx);
    const space = this.#space(ctx);
    return listed.filter((k) => keys === undefined || keys.includes(k.key)).map((k) => ({
      ...k,
      value: space.get(k.key)!.value,
    }));
  }

  /** Creates or overwrites a key. */
  async setValue(
    ctx: sdk.CallContext,
    key: string,
    input: { value: string; data_type: string },
  ): Promise<sdk.ConfigKey> {
    await this.#pause();
    if (!/^[A-Za-z0-9_.\/-]{1,256}$/.test(key)) throw new sdk.InvalidInput(`"${key}" is not a valid key`);
    const type = sdk.findDataType(DATA_TYPES, input.data_type);
    const last_modified = new Date().toISOString();
    this.#space(ctx).set(key, { value: input.value, data_type: type.name, last_modified });
    return { key, data_type: type.name, secret: type.secret, last_modified };
  }

  /** Deletes a key; deleting a missing key succeeds. */
  async deleteKey(ctx: sdk.CallContext, key: string): Promise<void> {
    await this.#pause();
    this.#space(ctx).delete(key);
  }

  /** Where the keys live. */
  async describePrefix(ctx: sdk.CallContext): Promise<string | null> {
    return await Promise.resolve(`memory:${ctx.search_template}`);
  }

  /** Nothing to reach: the store is this process's memory. Call your backend's cheapest authenticated read here. */
  async checkConnection(_ctx: sdk.CheckContext): Promise<sdk.ConnectionCheck> {
    await this.#pause();
    return { checked: ["in-memory store (no upstream, no credentials)"] };
  }
}

/** The package's entry points. */
export const plugins = [DemoConfig];
