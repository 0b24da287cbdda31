/**
 * A faithful local fake of the GitHub REST endpoints the github plugin uses
 * (API version 2022-11-28), for tests; GitHub cannot be reached from here.
 *
 * Repository Actions variables:
 * `GET /repos/{owner}/{repo}/actions/variables` (`per_page` <= 30, `page`;
 * `{total_count, variables}`), `GET|PATCH|DELETE .../variables/{name}`,
 * `POST .../variables` (201; 409 when the name exists).
 * Repository Actions secrets: `GET .../actions/secrets` (names and dates,
 * never values; `per_page` <= 100), `GET .../actions/secrets/public-key`
 * (`{key_id, key}`), `PUT .../actions/secrets/{name}` with
 * `{encrypted_value, key_id}` (201 created, 204 updated), `DELETE` (204, 404
 * when missing).
 *
 * Names follow GitHub's rules (letters, digits, `_`; not starting with a
 * digit or `GITHUB_`), compare case-insensitively and are stored upper-case;
 * bad names are 422. `Authorization: Bearer <token>` is required (401
 * otherwise); a "rate-limited" token gets 403 with `x-ratelimit-remaining: 0`
 * and `x-ratelimit-reset`, as GitHub's primary rate limit does. Unknown
 * repositories are 404.
 *
 * Secret values are opened with the repository's private key through
 * libsodium's `crypto_box_seal_open` (an implementation independent of the
 * plugin's), so a test can read what GitHub would store; a box that does not
 * open, or a stale `key_id`, is 422 as on GitHub.
 *
 * @module
 */

import sodium from "libsodium-wrappers";
import { type FakeBackend, serveFakeBackend } from "@imbi/plugin-sdk/testing";

/** A running fake. */
export interface FakeGitHub extends FakeBackend {
  /** The token requests must carry. */
  token: string;
  /** A token the fake answers as rate limited. */
  rateLimitedToken: string;
  /** Creates a repository (`owner/repo`). */
  addRepo(fullName: string): void;
  /** The decrypted value of a secret, as GitHub would hold it. */
  secretValue(fullName: string, name: string): string | undefined;
  /** The variables of a repository, by upper-case name. */
  variables(fullName: string): Map<string, string>;
  /** Every request line received (`METHOD /path`). */
  requests: string[];
}

interface Repo {
  variables: Map<string, { value: string; created_at: string; updated_at: string }>;
  secrets: Map<string, { value: string; created_at: string; updated_at: string }>;
  keyId: string;
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

const NAME = /^(?!GITHUB_)[A-Z_][A-Z0-9_]*$/;

/**
 * Starts the fake on a free loopback port.
 *
 * @param repos Repositories to create (`owner/repo`).
 * @returns The fake; `await using` closes it.
 */
export async function startFakeGitHub(repos: string[] = []): Promise<FakeGitHub> {
  await sodium.ready;
  const token = `ghp_${crypto.randomUUID().replaceAll("-", "")}`;
  const rateLimitedToken = `ghp_limited_${crypto.randomUUID().replaceAll("-", "")}`;
  const store = new Map<string, Repo>();
  const requests: string[] = [];
  const addRepo = (fullName: string) => {
    const kp = sodium.crypto_box_keypair();
    store.set(fullName.toLowerCase(), {
      variables: new Map(),
      secrets: new Map(),
      keyId: String(Math.floor(Math.random() * 1e12)),
      publicKey: kp.publicKey,
      privateKey: kp.privateKey,
    });
  };
  repos.forEach(addRepo);
  const json = (status: number, body?: unknown, headers: Record<string, string> = {}) =>
    new Response(body === undefined ? null : JSON.stringify(body), {
      status,
      headers: {
        "content-type": "application/json; charset=utf-8",
        "x-github-api-version-selected": "2022-11-28",
        ...headers,
      },
    });
  const error = (status: number, message: string) =>
    json(status, { message, documentation_url: "https://docs.github.com/rest", status: String(status) });
  const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
  const page = <T>(items: T[], url: URL, maxPerPage: number): T[] => {
    const perPage = Math.min(Number(url.searchParams.get("per_page") ?? 30), maxPerPage);
    const pageNo = Math.max(1, Number(url.searchParams.get("page") ?? 1));
    return items.slice((pageNo - 1) * perPage, pageNo * perPage);
  };

  const backend = serveFakeBackend(async (request) => {
    const url = new URL(request.url);
    requests.push(`${request.method} ${url.pathname}`);
    const auth = request.headers.get("authorization");
    if (auth === `Bearer ${rateLimitedToken}`) {
      return json(403, { message: "API rate limit exceeded for user ID 1." }, {
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": String(Math.floor(Date.now() / 1000) + 42),
      });
    }
    if (auth !== `Bearer ${token}`) return error(401, "Bad credentials");
    if (url.pathname === "/rate_limit" && request.method === "GET") {
      const core = { limit: 5000, remaining: 4999, reset: Math.floor(Date.now() / 1000) + 3600, used: 1 };
      return json(200, { resources: { core }, rate: core });
    }
    const m = url.pathname.match(/^\/repos\/([^/]+)\/([^/]+)\/actions\/(variables|secrets)(?:\/([^/]+))?$/);
    if (!m) return error(404, "Not Found");
    const repo = store.get(`${m[1]}/${m[2]}`.toLowerCase());
    if (!repo) return error(404, "Not Found");
    const kind = m[3] as "variables" | "secrets";
    const rawName = m[4] ? decodeURIComponent(m[4]) : undefined;
    const body = ["POST", "PATCH", "PUT"].includes(request.method)
      ? await request.json().catch(() => undefined)
      : undefined;
    if (["POST", "PATCH", "PUT"].includes(request.method) && (body === null || typeof body !== "object")) {
      return error(400, "Problems parsing JSON");
    }

    if (kind === "secrets" && rawName === "public-key" && request.method === "GET") {
      return json(200, { key_id: repo.keyId, key: sodium.to_base64(repo.publicKey, sodium.base64_variants.ORIGINAL) });
    }
    const collection = kind === "variables" ? repo.variables : repo.secrets;
    if (rawName === undefined) {
      if (request.method === "GET") {
        const all = [...collection.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
        if (kind === "variables") {
          const items = page(all, url, 30).map(([name, v]) => ({
            name,
            value: v.value,
            created_at: v.created_at,
            updated_at: v.updated_at,
          }));
          return json(200, { total_count: all.length, variables: items });
        }
        const items = page(all, url, 100).map(([name, v]) => ({
          name,
          created_at: v.created_at,
          updated_at: v.updated_at,
        }));
        return json(200, { total_count: all.length, secrets: items });
      }
      if (request.method === "POST" && kind === "variables") {
        const name = String(body.name ?? "").toUpperCase();
        if (!NAME.test(name) || typeof body.value !== "string") return error(422, "Invalid request.");
        if (collection.has(name)) return error(409, "Already exists - Variable already exists");
        collection.set(name, { value: body.value, created_at: now(), updated_at: now() });
        return json(201, {});
      }
      return error(404, "Not Found");
    }
    const name = rawName.toUpperCase();
    const existing = collection.get(name);
    switch (request.method) {
      case "GET":
        if (!existing) return error(404, "Not Found");
        return kind === "variables"
          ? json(200, { name, value: existing.value, created_at: existing.created_at, updated_at: existing.updated_at })
          : json(200, { name, created_at: existing.created_at, updated_at: existing.updated_at });
      case "PATCH":
        if (kind !== "variables" || !existing) return error(404, "Not Found");
        if (typeof body.value !== "string") return error(422, "Invalid request.");
        existing.value = body.value;
        existing.updated_at = now();
        return new Response(null, { status: 204 });
      case "PUT": {
        if (kind !== "secrets") return error(404, "Not Found");
        if (!NAME.test(name)) return error(422, "Invalid request.");
        if (body.key_id !== repo.keyId) {
          return error(422, "Invalid request. key_id does not match the repository public key.");
        }
        let opened: Uint8Array;
        try {
          opened = sodium.crypto_box_seal_open(
            sodium.from_base64(String(body.encrypted_value), sodium.base64_variants.ORIGINAL),
            repo.publicKey,
            repo.privateKey,
          );
        } catch {
          return error(422, "Invalid request. The encrypted value could not be decrypted.");
        }
        const value = new TextDecoder().decode(opened);
        if (existing) {
          existing.value = value;
          existing.updated_at = now();
          return new Response(null, { status: 204 });
        }
        collection.set(name, { value, created_at: now(), updated_at: now() });
        return json(201, {});
      }
      case "DELETE":
        if (!existing) return error(404, "Not Found");
        collection.delete(name);
        return new Response(null, { status: 204 });
      default:
        return error(404, "Not Found");
    }
  });
  return {
    ...backend,
    token,
    rateLimitedToken,
    addRepo,
    secretValue: (fullName, name) => store.get(fullName.toLowerCase())?.secrets.get(name.toUpperCase())?.value,
    variables: (fullName) =>
      new Map([...(store.get(fullName.toLowerCase())?.variables ?? new Map()).entries()].map(([k, v]) => [k, v.value])),
    requests,
  };
}
