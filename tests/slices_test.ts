import assert from "node:assert/strict";
import { parseConfigKeys } from "@imbi/plugin-sdk";
import { checkListInSlices, jsonLength, jsonListStream, SLICE_ITEMS } from "../core/slices.ts";
import { turnsDuring } from "./support/event_loop.ts";

const LONG = 2 * SLICE_ITEMS + 17;

function keys(count: number): { key: string; data_type: string; secret: boolean; extra?: string }[] {
  return Array.from({ length: count }, (_, i) => ({ key: `KEY_${i}`, data_type: "string", secret: i % 7 === 0 }));
}

Deno.test("checkListInSlices() checks a long list as the whole check does, letting the event loop run", async () => {
  const answer = keys(LONG).map((item, i) => i === 3 ? { ...item, extra: "dropped by the check" } : item);
  const check = checkListInSlices(parseConfigKeys);
  const { value, turns } = await turnsDuring(() => check(answer));
  assert.deepEqual(value, parseConfigKeys(answer));
  assert.ok(turns >= 2, `the event loop ran ${turns} times during ${LONG} items`);
  const short = keys(10);
  assert.ok(Array.isArray(check(short)), "a short list is checked at once, without a promise");
  assert.throws(() => check({ not: "a list" }), /the result must be a list/);
});

Deno.test("checkListInSlices() names a bad item by its index in the whole list", async () => {
  const check = checkListInSlices(parseConfigKeys);
  for (const at of [5, SLICE_ITEMS + 1, LONG - 1]) {
    const answer: unknown[] = keys(LONG);
    answer[at] = { key: 42, data_type: "string", secret: false };
    await assert.rejects(async () => await check(answer), new TypeError(`[${at}].key must be a string`));
  }
});

Deno.test("jsonLength() is the length of JSON.stringify, long lists and members that are long lists included", async () => {
  const list = keys(LONG);
  const values: unknown[] = [
    list,
    { result: list, prefix: "/acme/web é" },
    { result: list, prefix: undefined },
    [],
    {},
    keys(3),
    "text",
    null,
    7,
  ];
  for (const value of values) assert.equal(await jsonLength(value), JSON.stringify(value).length);
});

Deno.test("jsonListStream() writes the text JSON.stringify would, a slice at a time", async () => {
  const list = keys(LONG);
  const source = { plugin: "kv", cached: false };
  const cases: [Record<string, unknown>, readonly unknown[], Record<string, unknown>][] = [
    [{ source }, list, { prefix: "/acme/web" }],
    [{ source }, list, {}],
    [{}, list, {}],
    [{ source }, [], {}],
  ];
  for (const [head, items, tail] of cases) {
    const { value: text, turns } = await turnsDuring(() =>
      new Response(jsonListStream(head, "items", items, tail)).text()
    );
    assert.equal(text, JSON.stringify({ ...head, items, ...tail }));
    if (items.length > SLICE_ITEMS) assert.ok(turns >= 2, `the event loop ran ${turns} times`);
  }
});
