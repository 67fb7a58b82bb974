/**
 * A least-recently-used cache bounded by total weight rather than entry
 * count: memoized lists (transitive members, search results) range from a
 * handful of entries to the whole cache, and it is their size that costs
 * memory.
 */
export class BoundedCache<K, V> {
  // A Map iterates in insertion order; re-inserting on use makes that LRU order.
  private readonly entries = new Map<K, { value: V; weight: number }>();
  private total = 0;

  constructor(
    private readonly budget: number,
    private readonly weigh: (value: V) => number,
  ) {}

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: K, value: V): void {
    const weight = this.weigh(value);
    const old = this.entries.get(key);
    if (old !== undefined) {
      this.entries.delete(key);
      this.total -= old.weight;
    }
    // Something heavier than the whole budget is not kept at all.
    if (weight > this.budget) return;
    this.entries.set(key, { value, weight });
    this.total += weight;
    for (const [k, e] of this.entries) {
      if (this.total <= this.budget) break;
      this.entries.delete(k);
      this.total -= e.weight;
    }
  }
}
