/**
 * How the store contracts of this folder register their tests: one
 * `Deno.test` per area, each with a store of its own.
 *
 * @module
 */

import type { GraphStore } from "../../core/graph/store.ts";

/** Opens a store for one `Deno.test`; `cleanup` closes it. */
export type OpenStore = () => Promise<{ store: GraphStore; cleanup: () => Promise<void> }>;

/** Registers one `Deno.test` of the contract with a fresh store. */
export type Area = (title: string, body: (t: Deno.TestContext, store: GraphStore) => Promise<void>) => void;

/**
 * The registrar of one store kind's contract tests.
 *
 * @param name Store name, the prefix of every test name.
 * @param open Opens a store; called once per `Deno.test`, and its `cleanup` after the body.
 * @param options `ignore` skips every test (e.g. the server is not running).
 * @returns The function that registers one area.
 */
export function contractArea(name: string, open: OpenStore, options: { ignore?: boolean } = {}): Area {
  return (title, body) => {
    Deno.test({
      name: `${name}: ${title}`,
      ignore: options.ignore ?? false,
      fn: async (t) => {
        const { store, cleanup } = await open();
        try {
          await body(t, store);
        } finally {
          await cleanup();
        }
      },
    });
  };
}
