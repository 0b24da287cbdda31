/**
 * Helpers the package tests share: where the fixtures are, temporary
 * directories that remove themselves, lock entries with test defaults, the
 * package store's listing, and refusals of a given kind.
 *
 * @module
 */

import assert from "node:assert/strict";
import { PackageError } from "../../core/errors.ts";
import type { LockEntry } from "../../core/packages/lockfile.ts";
import type { PackageStore } from "../../core/packages/store.ts";
import { publishFixture } from "../support/npm_publish.ts";

/** The repository root, without a trailing slash. */
export const ROOT: string = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

/** `tests/fixtures`, absolute. */
export const FIXTURES: string = `${ROOT}/tests/fixtures`;

/** A directory that exists until the `await using` scope that holds it ends. */
export interface TempDir extends AsyncDisposable {
  /** Its absolute path. */
  path: string;
}

/**
 * Makes a temporary directory, removed with everything in it when the
 * `await using` scope ends.
 *
 * @param prefix The directory name's prefix.
 * @returns The directory.
 * @example
 * ```ts
 * await using data = await tempDir();
 * const store = new PackageStore(data.path);
 * ```
 */
export async function tempDir(prefix = "imbi-packages-test-"): Promise<TempDir> {
  const path = await Deno.makeTempDir({ prefix });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

/**
 * A lock entry with the test defaults: a manual source, a fixed time, added by `test`.
 *
 * @param fields Specifier, version and integrity; entry points default to none.
 * @returns The entry.
 */
export function lockEntry(
  fields: Pick<LockEntry, "specifier" | "version" | "integrity"> & Partial<LockEntry>,
): LockEntry {
  return {
    specifier: fields.specifier,
    version: fields.version,
    integrity: fields.integrity,
    entry_points: fields.entry_points ?? [],
    source: fields.source ?? { kind: "manual" },
    added_at: fields.added_at ?? "2026-01-01T00:00:00.000Z",
    added_by: fields.added_by ?? "test",
  };
}

/**
 * The lock entry of local package `p<i>` (`./plugins/p<i>`, entry point
 * `p<i>`), added by `tests`: one of many distinct entries a test can make.
 *
 * @param i The package's number.
 * @returns The entry.
 */
export function numberedLockEntry(i: number): LockEntry {
  return lockEntry({
    specifier: `./plugins/p${i}`,
    version: "1.0.0",
    integrity: "sha256-" + btoa(String(i).padStart(32, "0")),
    entry_points: [`p${i}`],
    added_at: "2026-05-01T10:00:00.000Z",
    added_by: "tests",
  });
}

/**
 * The package directories in a store, sorted, without its `.staging` area.
 *
 * @param store The store.
 * @returns Directory names; none when the store does not exist yet.
 */
export function storeDirs(store: PackageStore): string[] {
  try {
    return [...Deno.readDirSync(store.root)].map((e) => e.name).filter((n) => !n.startsWith(".")).sort();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

/**
 * Asserts that a promise rejects with a PackageError of one kind.
 *
 * @param promise The operation.
 * @param kind The kind it must be refused with.
 * @returns The error, for further assertions on its message and extra.
 */
export async function rejectsWith(promise: Promise<unknown>, kind: PackageError["kind"]): Promise<PackageError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof PackageError, String(error));
    assert.equal(error.kind, kind, error.message);
    return error;
  }
  assert.fail(`expected a PackageError of kind ${kind}`);
}

/**
 * Publishes the `npm-helper` fixture as `@imbi-test/<kind>-helper-<id>`
 * 1.0.0 (with `helperFiles` in place of the fixture's own), then the
 * `npm-good` fixture as `@imbi-test/<kind>-good-<id>` 1.0.0, depending on
 * that helper (`^1.0.0`) in place of the fixture's own; `<id>` is fresh.
 *
 * @param registry The registry's URL.
 * @param kind What the names start with, e.g. `private`.
 * @param options Files that replace the helper's.
 * @returns Both names.
 */
export async function publishGoodWithHelper(
  registry: string,
  kind: string,
  { helperFiles }: { helperFiles?: Record<string, string> } = {},
): Promise<{ name: string; helper: string }> {
  const id = crypto.randomUUID().slice(0, 8);
  const name = `@imbi-test/${kind}-good-${id}`;
  const helper = `@imbi-test/${kind}-helper-${id}`;
  await publishFixture(registry, `${FIXTURES}/packages/npm-helper`, {
    name: helper,
    version: "1.0.0",
    ...(helperFiles ? { files: helperFiles } : {}),
  });
  const source = await Deno.readTextFile(`${FIXTURES}/packages/npm-good/index.js`);
  await publishFixture(registry, `${FIXTURES}/packages/npm-good`, {
    name,
    version: "1.0.0",
    dependencies: { [helper]: "^1.0.0" },
    files: { "index.js": source.replace('"@imbi-test/helper"', `"${helper}"`) },
  });
  return { name, helper };
}
