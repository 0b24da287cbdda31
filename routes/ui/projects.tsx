/**
 * stub
 *
 * @module
 */

import { Hono } from "hono";
import type { UiEnv } from "./_layout.tsx";

/** stub */
export function projectPages(): Hono<UiEnv> {
  return new Hono<UiEnv>();
}
