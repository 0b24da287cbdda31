/**
 * Call contexts for plugin tests.
 *
 * @module
 */

import type { CallContext } from "./types.ts";

/**
 * A call context as the host would build it, with test defaults.
 *
 * @param searchTemplate The rendered search_template the handler works under.
 * @param overrides Any other context fields.
 * @returns A complete {@linkcode CallContext}.
 */
export function testContext(searchTemplate: string, overrides: Partial<CallContext> = {}): CallContext {
  return {
    org: { slug: "test-org" },
    project: { id: "project-1", slug: "test-project", name: "Test project", project_types: ["api"] },
    search_template: searchTemplate,
    request_id: crypto.randomUUID(),
    ...overrides,
  };
}
