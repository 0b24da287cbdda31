/**
 * Counting turns of the event loop while work runs: a test of code that
 * yields between slices of work, where a version that held the loop would
 * count none.
 *
 * @module
 */

/**
 * Runs `work` while a chain of `setTimeout(0)` timers counts how often the event loop got to run timers.
 *
 * @param work The work.
 * @returns Its value and the count.
 */
export async function turnsDuring<T>(work: () => Promise<T> | T): Promise<{ value: T; turns: number }> {
  let turns = 0;
  let done = false;
  const tick = () => {
    if (done) return;
    turns++;
    setTimeout(tick, 0);
  };
  setTimeout(tick, 0);
  try {
    return { value: await work(), turns };
  } finally {
    done = true;
  }
}
