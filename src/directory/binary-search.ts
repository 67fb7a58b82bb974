/**
 * The binary search of the directory layer: every list here that is
 * searched (autocomplete keys and suggestions, pages in display order,
 * ancestor sets) is sorted once when a view is built.
 */

/**
 * The first position from which `before` stops holding, in 0 .. length:
 * `before(i)` must hold for every position below some point and for none
 * from it on, as "the element at i sorts before the one sought" does in a
 * sorted list. Returns length when it holds everywhere.
 */
export function lowerBound(length: number, before: (i: number) => boolean): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(mid)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
