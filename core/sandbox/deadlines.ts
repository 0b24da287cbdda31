/**
 * Many deadlines on one timer. A plugin call used to arm and clear a
 * `setTimeout` of its own; under load that is two timer operations per call
 * for deadlines that almost never fire. Here one timer is armed for the
 * earliest deadline; a finished call only forgets its entry, and when the
 * timer fires it expires what is due and re-arms for the next one.
 *
 * @module
 */

/**
 * A set of items with a deadline each (`performance.now()` milliseconds) and
 * one timer for all of them.
 *
 * @example
 * ```ts
 * const deadlines = new Deadlines<number>((id) => fail(id));
 * deadlines.add(7, performance.now() + 5000);
 * deadlines.delete(7); // answered in time
 * deadlines.stop(); // owner closed: no timer left behind
 * ```
 */
export class Deadlines<T> {
  #entries = new Map<T, number>();
  #onExpire: (item: T) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #armedAt = Infinity;

  /**
   * Makes an empty set.
   *
   * @param onExpire Called once for each item whose deadline passed; the item is already removed.
   */
  constructor(onExpire: (item: T) => void) {
    this.#onExpire = onExpire;
  }

  /** Items waiting. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Watches an item.
   *
   * @param item The item (a call id, a queued call).
   * @param deadline When it expires, in `performance.now()` milliseconds.
   */
  add(item: T, deadline: number): void {
    this.#entries.set(item, deadline);
    if (deadline < this.#armedAt) this.#arm(deadline);
  }

  /**
   * Forgets an item. The timer is left armed on purpose: it fires at most once
   * per deadline period and finds nothing, which is cheaper than re-arming it
   * on every call.
   *
   * @param item The item.
   * @returns Whether it was still watched.
   */
  delete(item: T): boolean {
    return this.#entries.delete(item);
  }

  /** Forgets every item and clears the timer. */
  stop(): void {
    this.#entries.clear();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedAt = Infinity;
  }

  #arm(at: number): void {
    clearTimeout(this.#timer);
    this.#armedAt = at;
    const timer = setTimeout(() => this.#fire(), Math.max(0, at - performance.now()));
    // A deadline alone never keeps the service running.
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  #fire(): void {
    this.#timer = undefined;
    this.#armedAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    const expired: T[] = [];
    for (const [item, deadline] of this.#entries) {
      if (deadline <= now) expired.push(item);
      else if (deadline < next) next = deadline;
    }
    for (const item of expired) {
      if (this.#entries.delete(item)) this.#onExpire(item);
    }
    if (next < Infinity && next < this.#armedAt) this.#arm(next);
  }
}
