/**
 * The error a call threw or a promise rejected with, checked to be of one
 * class, so a test can go on to assert its fields.
 *
 * @example
 * ```ts
 * const error = await rejection(supervisor.call("listKeys", [ctx], { requestId }), PluginCallError);
 * assert.equal(error.kind, "crashed");
 * ```
 *
 * @module
 */

import assert from "node:assert/strict";

/** A class of errors, for `instanceof`. */
// deno-lint-ignore no-explicit-any -- any constructor signature: error classes differ in theirs.
export type ErrorClass<E extends Error> = abstract new (...args: any[]) => E;

/**
 * What `fn` threw.
 *
 * @param fn The call expected to throw.
 * @param errorClass The class the thrown value must be an instance of.
 * @returns The error.
 * @throws {assert.AssertionError} When `fn` returns, or throws something else.
 */
export function thrown<E extends Error>(fn: () => unknown, errorClass: ErrorClass<E>): E {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof errorClass, `expected a ${errorClass.name}, got ${error}`);
    return error;
  }
  throw new assert.AssertionError({ message: `expected a ${errorClass.name}, nothing was thrown` });
}

/**
 * What `promise` rejected with.
 *
 * @param promise The call expected to fail.
 * @param errorClass The class the rejection must be an instance of.
 * @returns The error.
 * @throws {assert.AssertionError} When the promise resolves, or rejects with something else.
 */
export async function rejection<E extends Error>(promise: Promise<unknown>, errorClass: ErrorClass<E>): Promise<E> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof errorClass, `expected a ${errorClass.name}, got ${error}`);
    return error;
  }
  throw new assert.AssertionError({ message: `expected a ${errorClass.name}, the call succeeded` });
}
