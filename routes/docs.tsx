/**
 * `/docs`: the API documentation, Swagger UI (npm `swagger-ui-dist`, served
 * from the service itself) rendering `/openapi.json`. Public, like the
 * document it renders.
 *
 * @module
 */

import { Hono } from "hono";
import type { AppEnv } from "./_deps.ts";
import { assetResponse } from "./ui/_assets.ts";

const HEADERS = {
  "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
    "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
  "cache-control": "no-cache",
  "x-content-type-options": "nosniff",
};

/**
 * The documentation routes.
 *
 * @returns The Hono app, mounted at `/`.
 */
export function docsRoutes(): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .get("/docs", (c) =>
      c.html(
        <html lang="en">
          <head>
            <meta charset="utf-8" />
            <meta name="viewport" content="width=device-width, initial-scale=1" />
            <title>API documentation · Imbi plugins</title>
            <link rel="stylesheet" href="/docs/assets/swagger-ui.css" />
            <link rel="stylesheet" href="/docs/assets/docs.css" />
            <script src="/docs/assets/swagger-ui-bundle.js" defer></script>
            <script src="/docs/assets/docs.js" defer></script>
          </head>
          <body>
            <main>
              <h1 class="visually-hidden">API documentation</h1>
              <p>
                <a href="/ui/">Back to the console</a>
              </p>
              <div id="swagger-ui"></div>
            </main>
          </body>
        </html>,
        200,
        HEADERS,
      ))
    .get("/docs/assets/:file{(swagger-ui\\.css|swagger-ui-bundle\\.js|docs\\.js|docs\\.css)}", async (c) => {
      return (await assetResponse(c.req.param("file")))!;
    });
}
