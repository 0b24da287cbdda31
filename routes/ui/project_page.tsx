/**
 * stub
 *
 * @module
 */

import { Hono } from "hono";
import type { UiEnv } from "./_layout.tsx";

/** stub */
export function projectPage(): Hono<UiEnv> {
  return new Hono<UiEnv>();
}
