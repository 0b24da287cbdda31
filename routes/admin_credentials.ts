/**
 * `/admin/credentials`: key rotation. After a new key is put first in
 * `IMBI_ENCRYPTION_KEYS` (old keys kept after it), re-encrypting moves every
 * stored credential to the new key; then the old keys can be dropped.
 *
 * @module
 */

import { Hono } from "hono";
import type { AppDeps, AppEnv } from "./_deps.ts";
import { operation } from "./_openapi.ts";

const reencrypt = operation({
  method: "post",
  path: "/admin/credentials/reencrypt",
  summary: "Re-encrypt every stored credential with the current (first) key",
  tag: "Admin",
  success: {
    status: 200,
    description: "How many applications and values moved to the current key",
    schema: {
      type: "object",
      properties: {
        key_id: { type: "string" },
        applications: { type: "integer" },
        values: { type: "integer" },
      },
    },
  },
  auth: "admin",
});

/**
 * Credential administration routes.
 *
 * @param deps The application's dependencies.
 * @returns The Hono app.
 */
export function adminCredentialRoutes(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post(reencrypt.route, async (c) => {
    const moved = await deps.directory.reencryptAll();
    return c.json({ key_id: deps.directory.keyring.currentKid, ...moved });
  });
  return app;
}
