/**
 * `github-actions`: configuration on a repository's GitHub Actions
 * variables and secrets, through the REST API (version 2022-11-28).
 *
 * The rendered `search_template` names the repository (`owner/repo`).
 * Variables (`data_type: "variable"`) are read and written in the clear.
 * Secrets (`data_type: "secret"`) are listed by name only (GitHub never
 * returns their values: `getValues` gives `""`, and the manifest says so
 * with `hints.write_only_secrets`) and written sealed with the repository's
 * public key (libsodium sealed box). Names are upper-cased, as GitHub does.
 * Writing a key as one kind removes it as the other, so a key is one thing.
 *
 * The API base is the `base_url` option, else the service's `base_url`
 * (`https://api.github.com`, or `https://ghe.example.com/api/v3` for GitHub
 * Enterprise Server); it is the plugin's only network host.
 *
 * @module
 */

import * as sdk from "@imbi/plugin-sdk";
import { seal } from "./sealed_box.ts";

const DATA_TYPES = [
  { name: "variable", label: "Variable", secret: false },
  { name: "secret", label: "Secret", secret: true },
];
const NAME = /^(?!GITHUB_)[A-Z_][A-Z0-9_]*$/;
const REPO = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/;

interface Variable {
  name: string;
  value: string;
  updated_at?: string;
}

interface Secret {
  name: string;
  updated_at?: string;
}

/**
 * Maps a GitHub error response onto the typed set: primary and secondary
 * rate limits (403/429 with `x-ratelimit-remaining: 0` or `retry-after`) are
 * rate limited, other 401/403 are credentials rejected, then by status.
 *
 * @param response GitHub's response.
 * @param what The call, e.g. `"GitHub GET variables"`.
 * @param options `now`: the clock in milliseconds (tests pass a fixed one).
 * @returns The error to throw.
 */
export function githubError(
  response: Response,
  what: string,
  options: { now?: () => number } = {},
): sdk.PluginError {
  const now = options.now ?? Date.now;
  const status = response.status;
  const reset = Number(response.headers.get("x-ratelimit-reset"));
  const retryAfter = sdk.parseRetryAfter(response.headers.get("retry-after"), now);
  if (
    (status === 403 || status === 429) &&
    (response.headers.get("x-ratelimit-remaining") === "0" || retryAfter !== undefined)
  ) {
    const wait = retryAfter ?? (reset ? Math.max(1, Math.ceil(reset - now() / 1000)) : 60);
    return new sdk.RateLimited(`${what}: GitHub rate limit reached`, { retryAfter: wait });
  }
  return sdk.errorForStatus(response, what);
}

/** Configuration on GitHub Actions repository variables and secrets. */
export class GitHubActionsConfiguration implements sdk.ConfigurationHandler {
  /** The `github-actions` manifest. */
  static manifest: sdk.PluginManifest = {
    slug: "github-actions",
    name: "GitHub Actions variables and secrets",
    description: "Configuration in a repository's GitHub Actions variables (readable) and secrets " +
      "(write-only); the binding's search_template names the repository: {org.slug}/{project.slug}.",
    plugin_type: "configuration",
    api_version: "^1.0.0",
    options: {
      type: "object",
      properties: {
        base_url: {
          type: "string",
          format: "uri",
          description: "REST API base; default: the service's base_url (https://api.github.com or https://HOST/api/v3)",
        },
      },
      additionalProperties: false,
    },
    credentials: [{ name: "token", label: "Token (fine-grained: Variables and Secrets read/write)" }],
    network: { hosts: ["{base_url}"] },
    timeout_ms: 10_000,
    data_types: DATA_TYPES,
    hints: { cacheable: true, write_only_secrets: true },
  };

  #base: string;
  #token: string;

  /** @param init Options (base_url), the `token` credential, and the service (its base_url). */
  constructor(init: sdk.HandlerInit) {
    const option = (init.options as { base_url?: string }).base_url;
    this.#base = String(option ?? init.service.base_url ?? "https://api.github.com").replace(/\/+$/, "");
    this.#token = init.credentials.token ?? "";
  }

  async #request(method: string, path: string, body?: unknown): Promise<Response> {
    if (!this.#token) throw new sdk.CredentialsRejected("The GitHub token is not configured");
    const response = await sdk.fetchUpstream(`${this.#base}${path}`, {
      method,
      headers: {
        accept: "application/vnd.github+json",
        authorization: `Bearer ${this.#token}`,
        "x-github-api-version": "2022-11-28",
        "user-agent": "imbi-plugin-github",
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return response;
  }

  async #json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.#request(method, path, body);
    if (!response.ok) {
      await response.body?.cancel();
      throw githubError(response, `GitHub ${method} ${path.replace(/^\/repos\/[^/]+\/[^/]+/, "")}`);
    }
    return response.status === 204 ? (undefined as T) : await response.json();
  }

  #repo(ctx: sdk.CallContext): string {
    const repo = ctx.search_template.trim();
    if (!REPO.test(repo)) throw new sdk.InvalidInput(`The search_template ${JSON.stringify(repo)} is not owner/repo`);
    return `/repos/${repo}/actions`;
  }

  #name(key: string): string {
    const name = String(key).toUpperCase();
    if (!NAME.test(name)) {
      throw new sdk.InvalidInput(`"${key}" is not a GitHub Actions name (letters, digits and _, not GITHUB_...)`);
    }
    return name;
  }

  /** Every item of a paged list, e.g. `GET .../variables` (`{total_count, variables}`), `perPage` at a time. */
  async #list<T>(base: string, kind: "variables" | "secrets", perPage: number): Promise<T[]> {
    const out: T[] = [];
    for (let page = 1; page < 1000; page++) {
      const doc = await this.#json<{ total_count: number } & Record<typeof kind, T[]>>(
        "GET",
        `${base}/${kind}?per_page=${perPage}&page=${page}`,
      );
      out.push(...doc[kind]);
      if (doc[kind].length < perPage || out.length >= doc.total_count) break;
    }
    return out;
  }

  async #all(ctx: sdk.CallContext): Promise<sdk.ConfigValue[]> {
    const base = this.#repo(ctx);
    const [variables, secrets] = await Promise.all([
      this.#list<Variable>(base, "variables", 30),
      this.#list<Secret>(base, "secrets", 100),
    ]);
    const items = new Map<string, sdk.ConfigValue>();
    for (const s of secrets) {
      items.set(s.name, {
        key: s.name,
        data_type: "secret",
        secret: true,
        value: "",
        ...(s.updated_at ? { last_modified: new Date(s.updated_at).toISOString() } : {}),
      });
    }
    // A name that is both (made outside Imbi) shows as the readable variable.
    for (const v of variables) {
      items.set(v.name, {
        key: v.name,
        data_type: "variable",
        secret: false,
        value: v.value,
        ...(v.updated_at ? { last_modified: new Date(v.updated_at).toISOString() } : {}),
      });
    }
    return [...items.values()].sort(sdk.byKey);
  }

  /** `GET /rate_limit` with the token: the API answers and accepts it (any other call needs a repository). */
  async checkConnection(_ctx: sdk.CheckContext): Promise<sdk.ConnectionCheck> {
    const doc = await this.#json<{ rate?: { remaining?: number } }>("GET", "/rate_limit");
    return {
      checked: [
        `GitHub API accepted the token on ${new URL(this.#base).host} (${doc.rate?.remaining ?? "?"} calls left)`,
      ],
    };
  }

  /** Variables and secrets of the repository, without values. */
  async listKeys(ctx: sdk.CallContext): Promise<sdk.ConfigKey[]> {
    return sdk.withoutValues(await this.#all(ctx));
  }

  /** Variable values; secrets with `value: ""` (GitHub never returns them). Missing keys are omitted. */
  async getValues(ctx: sdk.CallContext, keys?: string[]): Promise<sdk.ConfigValue[]> {
    return sdk.selectKeys(await this.#all(ctx), keys?.map((k) => String(k).toUpperCase()));
  }

  /** Creates or updates a variable, or seals and writes a secret. */
  async setValue(
    ctx: sdk.CallContext,
    key: string,
    input: { value: string; data_type: string },
  ): Promise<sdk.ConfigKey> {
    const base = this.#repo(ctx);
    const type = sdk.findDataType(DATA_TYPES, input.data_type);
    if (typeof input.value !== "string") throw new sdk.InvalidInput("The value must be a string");
    const name = this.#name(key);
    if (type.name === "variable") {
      const response = await this.#request("PATCH", `${base}/variables/${name}`, { name, value: input.value });
      if (response.status === 404) {
        await response.body?.cancel();
        await this.#json("POST", `${base}/variables`, { name, value: input.value });
      } else if (!response.ok) {
        await response.body?.cancel();
        throw githubError(response, "GitHub PATCH variable");
      } else {
        await response.body?.cancel();
      }
      await this.#deleteIfPresent(`${base}/secrets/${name}`);
    } else {
      const publicKey = await this.#json<{ key_id: string; key: string }>("GET", `${base}/secrets/public-key`);
      const sealed = seal(new TextEncoder().encode(input.value), Uint8Array.fromBase64(publicKey.key));
      await this.#json("PUT", `${base}/secrets/${name}`, {
        encrypted_value: sealed.toBase64(),
        key_id: publicKey.key_id,
      });
      await this.#deleteIfPresent(`${base}/variables/${name}`);
    }
    return { key: name, data_type: type.name, secret: type.secret };
  }

  async #deleteIfPresent(path: string): Promise<void> {
    const response = await this.#request("DELETE", path);
    await response.body?.cancel();
    if (!response.ok && response.status !== 404) throw githubError(response, "GitHub DELETE");
  }

  /** Deletes the variable and the secret of that name; missing ones are not errors. */
  async deleteKey(ctx: sdk.CallContext, key: string): Promise<void> {
    const base = this.#repo(ctx);
    const name = this.#name(key);
    await this.#deleteIfPresent(`${base}/variables/${name}`);
    await this.#deleteIfPresent(`${base}/secrets/${name}`);
  }

  /** Where the keys live, e.g. `github://api.github.com/acme/api`. */
  describePrefix(ctx: sdk.CallContext): Promise<string | null> {
    this.#repo(ctx);
    return Promise.resolve(`github://${new URL(this.#base).host}/${ctx.search_template.trim()}`);
  }
}
