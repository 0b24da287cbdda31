/**
 * Registry credentials from an `.npmrc` (`IMBI_NPMRC`), as npm reads them:
 * each is scoped to one registry by a "nerf dart" key,
 *
 * ```ini
 * //npm.internal.example/:_authToken=${NPM_TOKEN}
 * //registry.example.com/npm/:_auth=dXNlcjpwYXNz
 * //127.0.0.1:4873/:username=ci
 * //127.0.0.1:4873/:_password=c2VjcmV0
 * ```
 *
 * and a request carries the credential of the longest key its URL starts
 * with, so a token is never sent to another host (a tarball URL on a CDN
 * gets none). `${VAR}` is replaced from the environment. Unscoped `_auth`
 * or `_authToken` lines are refused, as npm 9 refuses them; other keys
 * (`registry=`, `@scope:registry=`, ...) are ignored.
 *
 * @module
 */

/** Per-registry `Authorization` headers. Values stay private: `toJSON` and errors show only the keys. */
export class RegistryAuth {
  #headers: Map<string, string>;

  /**
   * Holds the headers of a parsed `.npmrc`.
   *
   * @param headers Nerf-dart key (`//host[:port]/path/`) to `Authorization` header value.
   */
  constructor(headers: Map<string, string> = new Map()) {
    this.#headers = headers;
  }

  /** The registries (nerf-dart keys) that have a credential, longest first. */
  get registries(): string[] {
    return [...this.#headers.keys()].sort((a, b) => b.length - a.length);
  }

  /**
   * The `Authorization` header for a request.
   *
   * @param url The request's URL.
   * @returns The header value of the longest matching key, or undefined.
   */
  headerFor(url: string | URL): string | undefined {
    const key = this.keyFor(url);
    return key === undefined ? undefined : this.#headers.get(key);
  }

  /**
   * The key whose credential a request would carry.
   *
   * @param url The request's URL.
   * @returns The nerf-dart key, or undefined.
   */
  keyFor(url: string | URL): string | undefined {
    const target = nerfDart(url);
    return this.registries.find((key) => target.startsWith(key));
  }

  /**
   * The credentials as `.npmrc` lines, for a child that fetches from the same
   * registries (`deno bundle`): `_authToken` for a bearer token, `_auth` for
   * basic credentials. Write it only to a private file the child reads, never
   * to a log or the data directory.
   *
   * @returns One `//host[:port]/path/:_authToken=…` or `:_auth=…` line per registry.
   */
  toNpmrc(): string {
    return [...this.#headers].map(([key, header]) => {
      const space = header.indexOf(" ");
      const field = header.slice(0, space) === "Bearer" ? "_authToken" : "_auth";
      return `${key}:${field}=${header.slice(space + 1)}\n`;
    }).join("");
  }

  /** Only the keys: a serialised configuration never holds a credential. */
  toJSON(): { registries: string[] } {
    return { registries: this.registries };
  }
}

/**
 * A URL as npm's config keys name it: `//host[:port]/path/` without scheme,
 * query or credentials, and with a trailing slash.
 *
 * @param url A registry or request URL.
 * @returns The key prefix.
 */
export function nerfDart(url: string | URL): string {
  const u = new URL(url);
  const path = u.pathname.endsWith("/") ? u.pathname : u.pathname.slice(0, u.pathname.lastIndexOf("/") + 1);
  return `//${u.host}${path}`;
}

/**
 * Reads the registry credentials of an `.npmrc`.
 *
 * @param text The file's content.
 * @param env Where `${VAR}` comes from.
 * @returns The credentials.
 * @throws {SyntaxError} Naming the line (never its value): an unscoped credential, a `${VAR}` that is not set, or
 *   `username` without `_password`.
 */
export function parseNpmrc(text: string, env: Record<string, string | undefined>): RegistryAuth {
  const scoped = new Map<string, Record<string, string>>();
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const eq = line.indexOf("=");
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim();
    const field = key.slice(key.lastIndexOf(":") + 1);
    if (!["_authToken", "_auth", "username", "_password"].includes(field)) continue;
    if (!key.startsWith("//")) {
      throw new SyntaxError(
        `line ${i + 1}: "${field}" must be scoped to a registry, e.g. //registry.example/:${field}=`,
      );
    }
    let value = line.slice(eq + 1).trim().replace(/^"(.*)"$/, "$1");
    value = value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      const found = env[name];
      if (found === undefined) throw new SyntaxError(`line ${i + 1}: \${${name}} is not set`);
      return found;
    });
    const registry = key.slice(0, key.lastIndexOf(":"));
    const prefix = registry.endsWith("/") ? registry : `${registry}/`;
    (scoped.get(prefix) ?? scoped.set(prefix, {}).get(prefix)!)[field] = value;
  }
  const headers = new Map<string, string>();
  for (const [prefix, fields] of scoped) {
    if (fields._authToken) headers.set(prefix, `Bearer ${fields._authToken}`);
    else if (fields._auth) headers.set(prefix, `Basic ${fields._auth}`);
    else if (fields.username || fields._password) {
      if (!fields.username || !fields._password) {
        throw new SyntaxError(`${prefix}: username and _password go together`);
      }
      let password: string;
      try {
        password = atob(fields._password);
      } catch {
        throw new SyntaxError(`${prefix}: _password must be base64`);
      }
      headers.set(prefix, `Basic ${btoa(`${fields.username}:${password}`)}`);
    }
  }
  return new RegistryAuth(headers);
}
