/**
 * How tests find the real backends `tests/setup/run.ts` started.
 *
 * @module
 */

/**
 * Reads a test service's address from the environment.
 *
 * @param variable The variable the service module exports, e.g. `IMBI_TEST_NEO4J_URL`.
 * @returns The value, or undefined when the service is not running and
 *   services are optional (the caller then marks its test `ignore`).
 * @throws {Error} When `IMBI_TEST_SERVICES=required` and the variable is unset.
 */
export function serviceUrl(variable: string): string | undefined {
  const value = Deno.env.get(variable);
  if (value) return value;
  if (Deno.env.get("IMBI_TEST_SERVICES") === "required") {
    throw new Error(`${variable} is not set and IMBI_TEST_SERVICES=required: the test service did not start`);
  }
  return undefined;
}
