/**
 * `/docs`: the API documentation, Swagger UI rendering `/openapi.json`.
 * Public, like the document it renders. The page (`_docs_page.tsx`) and the
 * asset files are imported at their first request, so an idle service never
 * loads them.
 *
 * @module
 */

import { Hono } from "hono";
import type { AppEnv } from "./_deps.ts";

/**
 * The documentation routes.
 *
 * @returns The Hono app, mounted at `/`.
 */
export function docsRoutes(): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .get("/docs", async (c) => (await import("./_docs_page.tsx")).docsPage(c))
    .get("/docs/assets/:file{(swagger-ui\\.css|swagger-ui-bundle\\.js|docs\\.js|docs\\.css)}", async (c) => {
      const { assetResponse } = await import("./ui/_assets.ts");
      return (await assetResponse(c.req.param("file")))!;
    });
}
