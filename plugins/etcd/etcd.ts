/**
 * `etcd`: configuration in etcd v3 through its JSON gRPC gateway
 * (`/v3/kv/range`, `/v3/kv/put`, `/v3/kv/deleterange`, keys and values
 * base64-encoded), under the rendered `search_template` prefix.
 *
 * Each value is stored as a small JSON envelope so its data type survives:
 * `{"imbi":1,"data_type":"secret","value":"...","modified":"<ISO time>"}`.
 * A key written by another tool (not an envelope) reads as a `string` with
 * its raw bytes as the value.
 *
 * @module
 */

import * as sdk from "@imbi/plugin-sdk";

const DATA_TYPES = [
  { name: "string", label: "String", secret: false },
  { name: "json", label: "JSON", secret: false },
  { name: "secret", label: "Secret", secret: true },
];

/** Options of an `etcd` capability. */
export interface EtcdOptions {
  /** Client URL of one etcd member, e.g. `https://etcd.internal:2379`. */
  endpoint: string;
}

interface KeyValue {
  key: string;
  value?: string;
}

interface Envelope {
  imbi: 1;
  data_type: string;
  value: string;
  modified?: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) < 0x20) return true;
  return false;
}

/** The smallest key after every key that starts with `prefix` (etcd's prefix range end). */
function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = prefix.slice();
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.slice(0, i + 1);
    }
  }
  return new Uint8Array([0]);
}

/**
 * Maps an etcd gateway error (a gRPC status in JSON) onto the typed set.
 *
 * @param body The HTTP status and the parsed error body (`{error, code, message}`).
 * @param what The call, e.g. `"etcd put"`.
 * @returns The error to throw.
 */
export function etcdError(
  body: { status: number; code?: number; message?: string; error?: string },
  what: string,
): sdk.PluginError {
  const status = body.status;
  const message = String(body.message ?? body.error ?? `HTTP ${status}`);
  const text = `${what} failed: ${message}`;
  const code = Number(body.code ?? 0);
  if (code === 16 || code === 7 || /authentication|auth token|permission denied|user name is empty/i.test(message)) {
    return new sdk.CredentialsRejected(text);
  }
  if (code === 8) return new sdk.RateLimited(text, { retryAfter: 1 });
  if (code === 5) return new sdk.NotFound(text);
  if (code === 14 || code === 4 || code === 13 || code === 10 || status >= 500) {
    return new sdk.UpstreamUnavailable(text);
  }
  return new sdk.InvalidInput(text);
}

/** Configuration in etcd v3 under the rendered search_template prefix. */
export class EtcdConfiguration implements sdk.ConfigurationHandler {
  /** The `etcd` manifest. */
  static manifest: sdk.PluginManifest = {
    slug: "etcd",
    name: "etcd",
    description: "Configuration in etcd v3 keys under the binding's prefix (search_template, e.g. " +
      "/config/{org.slug}/{project.slug}/), through the v3 JSON gateway.",
    plugin_type: "configuration",
    api_version: "^1.0.0",
    options: {
      type: "object",
      properties: {
        endpoint: { type: "string", format: "uri", description: "Client URL of an etcd member, e.g. http://etcd:2379" },
      },
      required: ["endpoint"],
      additionalProperties: false,
    },
    credentials: [
      { name: "username", label: "User (when etcd auth is on)", required: false, secret: false },
      { name: "password", label: "Password", required: false },
    ],
    network: { hosts: ["{endpoint}"] },
    timeout_ms: 10_000,
    data_types: DATA_TYPES,
    hints: { cacheable: true },
  };

  #base: string;
  #username: string | undefined;
  #password: string;
  #token: Promise<string> | undefined;

  /** @param init Options (endpoint), optional user and password. */
  constructor(init: sdk.HandlerInit) {
    const options = init.options as Partial<EtcdOptions>;
    this.#base = String(options.endpoint ?? "").replace(/\/+$/, "");
    this.#username = init.credentials.username || undefined;
    this.#password = init.credentials.password ?? "";
  }

  async #post(path: string, body: unknown, token?: string): Promise<Record<string, unknown>> {
    const what = `etcd ${path.split("/").pop()}`;
    if (!URL.canParse(this.#base)) throw new sdk.InvalidInput("The endpoint option is not a URL");
    let response: Response;
    try {
      response = await fetch(`${this.#base}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(token ? { authorization: token } : {}) },
        body: JSON.stringify(body),
      });
    } catch (cause) {
      throw new sdk.UpstreamUnavailable(`${what}: cannot reach ${new URL(this.#base).host}`, { cause });
    }
    const text = await response.text();
    let document: Record<string, unknown> = {};
    try {
      document = text ? JSON.parse(text) : {};
    } catch {
      throw new sdk.UpstreamUnavailable(`${what}: the answer is not JSON (HTTP ${response.status})`);
    }
    if (!response.ok || document.error !== undefined) throw etcdError({ ...document, status: response.status }, what);
    return document;
  }

  /** A token when a user is configured (cached; refreshed once when etcd refuses it). */
  #authToken(refresh = false): Promise<string> | undefined {
    if (!this.#username) return undefined;
    if (!this.#token || refresh) {
      const pending = this.#post("/v3/auth/authenticate", { name: this.#username, password: this.#password })
        .then((doc) => String(doc.token ?? ""));
      pending.catch(() => {
        if (this.#token === pending) this.#token = undefined;
      });
      this.#token = pending;
    }
    return this.#token;
  }

  async #call(path: string, body: unknown): Promise<Record<string, unknown>> {
    const token = await this.#authToken();
    try {
      return await this.#post(path, body, token);
    } catch (error) {
      if (!token || (error as sdk.PluginError).kind !== "credentials_rejected") throw error;
      return await this.#post(path, body, await this.#authToken(true));
    }
  }

  #prefix(ctx: sdk.CallContext): string {
    const template = ctx.search_template.trim();
    if (template === "" || hasControl(template)) {
      throw new sdk.InvalidInput(`The search_template ${JSON.stringify(ctx.search_template)} is not a key prefix`);
    }
    return template.endsWith("/") ? template : `${template}/`;
  }

  #key(prefix: string, key: string): string {
    if (typeof key !== "string" || key === "" || hasControl(key) || key.startsWith("/")) {
      throw new sdk.InvalidInput(
        `The key ${JSON.stringify(key)} is not valid (non-empty, no control characters, no leading /)`,
      );
    }
    return prefix + key;
  }

  /** `Maintenance/Status` with the configured user's token: the endpoint answers and accepts the credentials. */
  async checkConnection(_ctx: sdk.CheckContext): Promise<sdk.ConnectionCheck> {
    const status = await this.#call("/v3/maintenance/status", {});
    return { checked: [`etcd ${String(status.version ?? "")} answered Maintenance/Status`.replace("  ", " ")] };
  }

  async #range(prefix: string): Promise<sdk.ConfigValue[]> {
    const bytes = encoder.encode(prefix);
    const doc = await this.#call("/v3/kv/range", { key: bytes.toBase64(), range_end: prefixEnd(bytes).toBase64() });
    return ((doc.kvs ?? []) as KeyValue[]).map((kv) => this.#decode(prefix, kv)).sort(sdk.byKey);
  }

  #decode(prefix: string, kv: KeyValue): sdk.ConfigValue {
    const key = decoder.decode(Uint8Array.fromBase64(kv.key)).slice(prefix.length);
    const raw = decoder.decode(Uint8Array.fromBase64(kv.value ?? ""));
    let envelope: Partial<Envelope> | undefined;
    try {
      const parsed = JSON.parse(raw);
      if (parsed && parsed.imbi === 1 && typeof parsed.value === "string") envelope = parsed;
    } catch {
      // a plain value written by another tool
    }
    const type = DATA_TYPES.find((t) => t.name === envelope?.data_type) ?? DATA_TYPES[0]!;
    return {
      key,
      data_type: type.name,
      secret: type.secret,
      ...(envelope?.modified ? { last_modified: envelope.modified } : {}),
      value: envelope ? envelope.value! : raw,
    };
  }

  /** Every key under the prefix, without values. */
  async listKeys(ctx: sdk.CallContext): Promise<sdk.ConfigKey[]> {
    return sdk.withoutValues(await this.#range(this.#prefix(ctx)));
  }

  /** Values of every key, or of `keys`; missing keys are omitted. */
  async getValues(ctx: sdk.CallContext, keys?: string[]): Promise<sdk.ConfigValue[]> {
    return sdk.selectKeys(await this.#range(this.#prefix(ctx)), keys);
  }

  /** Creates or overwrites a key; `json` values must parse as JSON. */
  async setValue(
    ctx: sdk.CallContext,
    key: string,
    input: { value: string; data_type: string },
  ): Promise<sdk.ConfigKey> {
    const name = this.#key(this.#prefix(ctx), key);
    const type = sdk.findDataType(DATA_TYPES, input.data_type);
    if (typeof input.value !== "string") throw new sdk.InvalidInput("The value must be a string");
    if (type.name === "json") {
      try {
        JSON.parse(input.value);
      } catch {
        throw new sdk.InvalidInput(`The value of "${key}" is not JSON`);
      }
    }
    const envelope: Envelope = {
      imbi: 1,
      data_type: type.name,
      value: input.value,
      modified: new Date().toISOString(),
    };
    await this.#call("/v3/kv/put", {
      key: encoder.encode(name).toBase64(),
      value: encoder.encode(JSON.stringify(envelope)).toBase64(),
    });
    return { key, data_type: type.name, secret: type.secret };
  }

  /** Deletes a key; a missing one is not an error. */
  async deleteKey(ctx: sdk.CallContext, key: string): Promise<void> {
    const name = this.#key(this.#prefix(ctx), key);
    await this.#call("/v3/kv/deleterange", { key: encoder.encode(name).toBase64() });
  }

  /** Where the keys live, e.g. `etcd://etcd.internal:2379/config/acme/api/`. */
  describePrefix(ctx: sdk.CallContext): Promise<string | null> {
    const host = URL.canParse(this.#base) ? new URL(this.#base).host : "etcd";
    const prefix = this.#prefix(ctx);
    return Promise.resolve(`etcd://${host}${prefix.startsWith("/") ? "" : "/"}${prefix}`);
  }
}
