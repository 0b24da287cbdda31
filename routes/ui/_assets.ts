/**
 * Static files of the console and of `/docs`, read from the repository
 * (`routes/ui/static/`) and from the npm packages pinned in `deno.json`
 * (htmx, Swagger UI), which Deno caches with the service's other
 * dependencies: nothing comes from a CDN at run time.
 *
 * @module
 */

import htmxPackage from "htmx.org/package.json" with { type: "json" };
import swaggerPackage from "swagger-ui-dist/package.json" with { type: "json" };

const TYPES: Record<string, string> = {
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  png: "image/png",
  svg: "image/svg+xml",
};

/** Where each served file is read from. */
const FILES: Record<string, URL> = {
  "console.css": new URL("./static/console.css", import.meta.url),
  "docs.js": new URL("./static/docs.js", import.meta.url),
  "docs.css": new URL("./static/docs.css", import.meta.url),
  "htmx.min.js": new URL("./dist/htmx.min.js", import.meta.resolve("htmx.org/package.json")),
  "swagger-ui.css": new URL("./swagger-ui.css", import.meta.resolve("swagger-ui-dist/package.json")),
  "swagger-ui-bundle.js": new URL("./swagger-ui-bundle.js", import.meta.resolve("swagger-ui-dist/package.json")),
};

/** The versions of the packaged assets, for `docs/console.md` and tests. */
export const ASSET_VERSIONS = { htmx: htmxPackage.version, swaggerUi: swaggerPackage.version };

const cache = new Map<string, Uint8Array<ArrayBuffer>>();

/**
 * A static file as a response, cached in memory after the first read.
 *
 * @param name The file's name (`htmx.min.js`).
 * @returns The response, or undefined for a name that is not served.
 */
export async function assetResponse(name: string): Promise<Response | undefined> {
  const url = Object.hasOwn(FILES, name) ? FILES[name] : undefined;
  if (!url) return undefined;
  let bytes = cache.get(name);
  if (!bytes) {
    bytes = await Deno.readFile(url);
    cache.set(name, bytes);
  }
  return new Response(bytes, {
    headers: {
      "content-type": TYPES[name.slice(name.lastIndexOf(".") + 1)] ?? "application/octet-stream",
      "cache-control": "public, max-age=3600",
      "x-content-type-options": "nosniff",
    },
  });
}
