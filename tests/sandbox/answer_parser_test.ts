import assert from "node:assert/strict";
import { checkDepth, parseAnswer, parseWhole, SLICE_CHARS } from "../../core/sandbox/answer_parser.ts";
import { FrameError } from "../../core/sandbox/protocol.ts";

/** Strings that trip a naive scanner: quotes, escapes, brackets and commas inside strings. */
const TRICKY = ['a"b', "back\\slash\\", "[not,an:array]", "{not: an object}", "\\\\", "é ü 😀", ""];

function frame(value: unknown): string {
  return JSON.stringify({ type: "result", id: 7, value });
}

Deno.test("parseAnswer() returns what JSON.parse returns, for small and sliced frames", async (t) => {
  const cases: [string, unknown][] = [
    ["a small result", [{ key: "a", value: "b", data_type: "string", secret: false }]],
    [
      "a large array of small items",
      Array.from({ length: 20_000 }, (_, i) => ({ key: `k${i}`, value: TRICKY[i % 7] })),
    ],
    ["a large object with many members", Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, i]))],
    ["items larger than a slice", Array.from({ length: 5 }, (_, i) => ({ big: "x".repeat(SLICE_CHARS + i) }))],
    ["one string larger than a slice", "y".repeat(3 * SLICE_CHARS)],
    ["mixed nesting", { a: [1, [2, [3, { b: "x".repeat(SLICE_CHARS) }]], null, true, false, -1.5e3], c: TRICKY }],
  ];
  for (const [name, value] of cases) {
    await t.step(name, async () => {
      const text = frame(value);
      assert.deepEqual(await parseAnswer(text), JSON.parse(text));
      assert.deepEqual(await parseAnswer(` \n${text}\t `), JSON.parse(text));
    });
  }

  await t.step("a __proto__ member stays an own property, as with JSON.parse", async () => {
    const members = Array.from({ length: 5000 }, (_, i) => `"k${i}":${i}`).join(",");
    const text = `{${members},"__proto__":{"polluted":true}}`;
    const parsed = await parseAnswer(text) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(parsed), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(parsed, "__proto__")?.value, { polluted: true });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  await t.step("a large frame lets timers run between slices", async () => {
    const text = frame(Array.from({ length: 200_000 }, (_, i) => ({ key: `key-${i}`, value: "v".repeat(40) })));
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    try {
      await parseAnswer(text);
    } finally {
      clearInterval(timer);
    }
    assert.ok(ticks > 0, "no timer ran while a 10 MB frame was parsed");
  });
});

Deno.test("parseAnswer() refuses frames nested too deep and text that is not JSON", async (t) => {
  await t.step("depth: small and sliced frames, arrays and objects", async () => {
    const deep = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
    checkDepth(deep(64));
    assert.throws(() => checkDepth(deep(65)), (e: unknown) => e instanceof FrameError && e.reason === "too_large");
    assert.throws(() => parseWhole(`{"a":${deep(64)}}`), /nests deeper than 64 levels/);
    assert.deepEqual(parseWhole(`{"a":${deep(63)}}`), JSON.parse(`{"a":${deep(63)}}`));
    const padded = frame(["x".repeat(SLICE_CHARS), JSON.parse(deep(62))]);
    assert.deepEqual(await parseAnswer(padded), JSON.parse(padded));
    const tooDeep = frame(["x".repeat(SLICE_CHARS), JSON.parse(deep(63))]);
    await assert.rejects(parseAnswer(tooDeep), /nests deeper than 64 levels/);
    const objects = `{"pad":"${"x".repeat(SLICE_CHARS)}","v":${'{"a":'.repeat(70)}1${"}".repeat(70)}}`;
    await assert.rejects(parseAnswer(objects), (e: unknown) => e instanceof FrameError && e.reason === "too_large");
    assert.deepEqual(parseWhole('["[[[[", "]]]]"]'), ["[[[[", "]]]]"]);
  });

  await t.step("malformed text", async () => {
    const big = "x".repeat(SLICE_CHARS);
    for (
      const text of [
        `[${JSON.stringify(big)}, oops]`,
        `{"a":${JSON.stringify(big)} "b":1}`,
        `[${JSON.stringify(big)}`,
        `[${JSON.stringify(big)}] trailing`,
        `{${JSON.stringify(big)}}`,
        `"${big}`,
      ]
    ) {
      await assert.rejects(
        parseAnswer(text),
        (e: unknown) => e instanceof FrameError && e.reason === "malformed",
        text.slice(0, 20) + "…" + text.slice(-20),
      );
    }
    assert.throws(() => parseWhole("{nope}"), (e: unknown) => e instanceof FrameError && e.reason === "malformed");
  });
});
