/**
 * stub
 *
 * @module
 */

import { Hono } from "hono";
import type { UiEnv } from "./_layout.tsx";

/** stub */
export function servicePages(): Hono<UiEnv> {
  return new Hono<UiEnv>();
}
