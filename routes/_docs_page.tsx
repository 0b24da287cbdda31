/**
 * The `/docs` page: Swagger UI (npm `swagger-ui-dist`, served from the
 * service itself) rendering `/openapi.json`. `docs.ts` imports this module at
 * the page's first request.
 *
 * @module
 */

import type { Context } from "hono";
import type { AppEnv } from "./_deps.ts";

const HEADERS = {
  "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
    "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
  "cache-control": "no-cache",
  "x-content-type-options": "nosniff",
};

/**
 * The documentation page.
 *
 * @param c The request's context.
 * @returns The HTML response.
 */
export function docsPage(c: Context<AppEnv>): Response | Promise<Response> {
  return c.html(
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
  );
}
