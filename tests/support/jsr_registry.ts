/**
 * An in-process JSR registry for tests: the read side of the protocol Deno
 * and the package store use, served on 127.0.0.1 from fixture directories.
 *
 * - `GET /@scope/name/meta.json`: `{scope, name, latest, versions: {v: {createdAt}}}`
 * - `GET /@scope/name/<v>_meta.json`: `{manifest: {"/path": {size, checksum: "sha256-<hex>"}}, exports}`
 * - `GET /@scope/name/<v>/<path>`: the file (`.ts` as `application/typescript`)
 *
 * `tamper()` changes a served file, with or without rewriting the checksum
 * in the version meta (a corrupted mirror vs. a registry that lies
 * consistently).
 *
 * @module
 */

import { hexHash, listTree } from "../../core/packages/integrity.ts";

interface Version {
  files: Map<string, Uint8Array>;
  createdAt: Date;
  exports: Record<string, string>;
  meta: string;
}

const TYPES: Record<string, string> = {
  ts: "application/typescript",
  tsx: "text/tsx",
  js: "application/javascript",
  json: "application/json",
  md: "text/markdown",
};

async function versionMeta(files: Map<string, Uint8Array>, exports: Record<string, string>): Promise<string> {
  const manifest: Record<string, { size: number; checksum: string }> = {};
  for (const [path, bytes] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    manifest[path] = { size: bytes.length, checksum: `sha256-${await hexHash(bytes)}` };
  }
  return JSON.stringify({ manifest, moduleGraph2: {}, exports });
}

/** A JSR-protocol registry on a free loopback port. Stop it with `await using` or {@linkcode stop}. */
export class TestJsrRegistry {
  /** Base URL, e.g. `http://127.0.0.1:41234` (what `JSR_URL` is set to). */
  readonly url: string;
  /** Requests served, e.g. to assert that a warm start made none. */
  requests = 0;
  #server: Deno.HttpServer;
  #packages = new Map<string, Map<string, Version>>();

  private constructor(server: Deno.HttpServer) {
    this.#server = server;
    this.url = `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}`;
  }

  /** Starts a registry with no packages. */
  static start(): TestJsrRegistry {
    const holder: { registry?: TestJsrRegistry } = {};
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req) => holder.registry!.#handle(req),
    );
    holder.registry = new TestJsrRegistry(server);
    return holder.registry;
  }

  /**
   * Publishes a fixture directory as one version.
   *
   * @param name `@scope/name`.
   * @param version Exact version.
   * @param dir The package directory (its deno.json `exports` become the version's exports).
   * @param options `createdAt` (default now).
   */
  async publish(name: string, version: string, dir: string, options: { createdAt?: Date } = {}): Promise<void> {
    const files = new Map<string, Uint8Array>();
    for (const path of await listTree(dir)) files.set(`/${path}`, await Deno.readFile(`${dir}/${path}`));
    const config = JSON.parse(new TextDecoder().decode(files.get("/deno.json") ?? new TextEncoder().encode("{}")));
    const exports = typeof config.exports === "string"
      ? { ".": config.exports }
      : config.exports ?? { ".": "./mod.ts" };
    const versions = this.#packages.get(name) ?? new Map<string, Version>();
    versions.set(version, {
      files,
      createdAt: options.createdAt ?? new Date(),
      exports,
      meta: await versionMeta(files, exports),
    });
    this.#packages.set(name, versions);
  }

  /**
   * Serves different bytes for one file of a published version.
   *
   * @param name `@scope/name`.
   * @param version The version.
   * @param path File path with leading `/`, e.g. `/mod.ts`.
   * @param change Turns the old bytes into the new ones.
   * @param options `rewriteMeta`: also update the checksum in the version meta (default false).
   */
  async tamper(
    name: string,
    version: string,
    path: string,
    change: (bytes: Uint8Array) => Uint8Array,
    options: { rewriteMeta?: boolean } = {},
  ): Promise<void> {
    const v = this.#packages.get(name)?.get(version);
    const old = v?.files.get(path);
    if (!v || !old) throw new Error(`no ${name}@${version}${path} to tamper with`);
    v.files.set(path, change(old));
    if (options.rewriteMeta) v.meta = await versionMeta(v.files, v.exports);
  }

  #handle(req: Request): Response {
    this.requests++;
    const path = decodeURIComponent(new URL(req.url).pathname);
    const match = /^\/(@[^/]+\/[^/]+)\/(.*)$/.exec(path);
    const versions = match ? this.#packages.get(match[1]!) : undefined;
    if (!match || !versions || req.method !== "GET") return new Response("not found", { status: 404 });
    const rest = match[2]!;
    if (rest === "meta.json") {
      const [scope, name] = match[1]!.slice(1).split("/");
      const sorted = [...versions.keys()];
      const body = {
        scope,
        name,
        latest: sorted.at(-1),
        versions: Object.fromEntries(
          [...versions].map(([v, info]) => [v, { createdAt: info.createdAt.toISOString() }]),
        ),
      };
      return Response.json(body);
    }
    const metaMatch = /^([^/]+)_meta\.json$/.exec(rest);
    if (metaMatch) {
      const v = versions.get(metaMatch[1]!);
      return v
        ? new Response(v.meta, { headers: { "content-type": "application/json" } })
        : new Response("", { status: 404 });
    }
    const slash = rest.indexOf("/");
    const v = versions.get(rest.slice(0, slash));
    const file = v?.files.get(rest.slice(slash));
    if (!file) return new Response("not found", { status: 404 });
    const ext = rest.slice(rest.lastIndexOf(".") + 1);
    return new Response(file.slice(), { headers: { "content-type": TYPES[ext] ?? "application/octet-stream" } });
  }

  /** Stops serving and waits for the server to close. */
  async stop(): Promise<void> {
    await this.#server.shutdown();
  }

  /** `await using registry = TestJsrRegistry.start()`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
