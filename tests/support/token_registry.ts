/**
 * A private npm registry on loopback: the test Verdaccio behind a front that
 * demands a bearer token for the packages of one name prefix (as a
 * Verdaccio `access: $authenticated` rule for `@imbi-test/private-*` would),
 * answering 401 with `WWW-Authenticate` like npm registries do, and serving
 * every other package anonymously. Packuments name tarballs on this front,
 * so tarball downloads need the token too. It records the `Authorization`
 * header of every request.
 *
 * The shared Verdaccio runs with the configuration the test command wrote
 * at its start; a front in the test process gives the same behaviour
 * without restarting it.
 *
 * @module
 */

/** A running private registry. */
export interface TokenRegistry extends AsyncDisposable {
  /** Base URL with a trailing slash. */
  url: string;
  /** The token it accepts. */
  token: string;
  /** Each request's path and whether it carried the token. */
  requests: { path: string; authorized: boolean }[];
  /** Stops it. */
  close(): Promise<void>;
}

/**
 * Starts the front.
 *
 * @param upstream The test Verdaccio's URL (with trailing slash).
 * @param options The token, and the name prefix that needs it (default `@imbi-test/private-`).
 * @returns The running registry.
 */
export function startTokenRegistry(
  upstream: string,
  options: { token: string; privatePrefix?: string },
): TokenRegistry {
  const prefix = options.privatePrefix ?? "@imbi-test/private-";
  const requests: TokenRegistry["requests"] = [];
  let base = "";
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    const url = new URL(request.url);
    const name = decodeURIComponent(url.pathname.slice(1));
    const authorized = request.headers.get("authorization") === `Bearer ${options.token}`;
    requests.push({ path: url.pathname, authorized });
    if (name.startsWith(prefix) && !authorized) {
      return Response.json({ error: "authorization required to access package" }, {
        status: 401,
        headers: { "www-authenticate": 'Bearer realm="imbi-test"' },
      });
    }
    const answer = await fetch(new URL(url.pathname.slice(1) + url.search, upstream), {
      headers: { accept: request.headers.get("accept") ?? "*/*" },
    });
    if (!(answer.headers.get("content-type") ?? "").includes("json")) {
      return new Response(answer.body, { status: answer.status, headers: answer.headers });
    }
    // Tarball URLs point at this front, as a registry's own do.
    const text = (await answer.text()).replaceAll(upstream, base);
    return new Response(text, { status: answer.status, headers: { "content-type": "application/json" } });
  });
  base = `http://127.0.0.1:${server.addr.port}/`;
  const close = () => server.shutdown();
  return { url: base, token: options.token, requests, close, [Symbol.asyncDispose]: close };
}
