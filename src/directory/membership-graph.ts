/**
 * Group membership, direct and nested, computed from the groups' memberIds
 * of a snapshot set. Directories contain cycles (A in B, B in A; a group in
 * itself), so nothing here follows edges without remembering where it has
 * been.
 *
 * Principals are numbers: their positions in the array the graph is built
 * from. Every list this module returns is ascending, so when the caller
 * numbers principals in display order, the lists come out in display order.
 *
 * Decisions:
 * - A group is never reported as its own member or parent, even when a cycle
 *   makes it one (a rule "member of Sales" on Sales's own address would only
 *   surprise); isMember(g, g) is false.
 * - Transitive members are every principal reachable downwards: users,
 *   contacts and the nested groups themselves (a nested group is a member,
 *   and it is a Principal too).
 * - Building costs O(V + E): the direct edges both ways, in flat arrays,
 *   and nothing else. Nothing transitive is computed ahead: per-group
 *   ancestor sets grow with the square of the nesting depth (a chain of
 *   30,000 groups is 450 million numbers), and a directory decides its own
 *   depth. Transitive answers are walks with a visited mark, each linear in
 *   the part of the graph it reaches, memoized in bounded caches: most
 *   principals are never asked for, and those asked again are answered from
 *   the cache. isMember is a binary search in the principal's memoized
 *   transitive parents.
 */
import type { PrincipalRecord } from '../model/principal.js';
import { lowerBound } from './binary-search.js';
import { BoundedCache } from './bounded-cache.js';

const EMPTY = new Int32Array(0);
/** Principal numbers kept across memoized transitive lists, per direction. */
const CACHE_BUDGET = 4_000_000;

export class MembershipGraph {
  private readonly memberCache = new BoundedCache<number, Int32Array>(
    CACHE_BUDGET,
    (list) => list.length + 16,
  );
  private readonly parentCache = new BoundedCache<number, Int32Array>(
    CACHE_BUDGET,
    (list) => list.length + 16,
  );
  /** Scratch marks for traversals: mark[i] === stamp means visited. */
  private readonly mark: Int32Array;
  private stamp = 0;

  private constructor(
    /** Direct members of p: members[memberOffsets[p] .. memberOffsets[p + 1]), ascending, self included if listed. */
    private readonly memberOffsets: Int32Array,
    private readonly memberList: Int32Array,
    private readonly parentOffsets: Int32Array,
    private readonly parentList: Int32Array,
  ) {
    this.mark = new Int32Array(memberOffsets.length - 1);
  }

  /**
   * Builds the graph; `indexOf` maps a principal id to its position.
   * Member ids the principals do not hold are ignored, and told to
   * `unresolved` with the group's position.
   */
  static build(
    principals: readonly PrincipalRecord[],
    indexOf: (id: string) => number | undefined,
    unresolved?: Unresolved,
  ): MembershipGraph {
    const n = principals.length;
    const direct: Int32Array[] = [];
    for (let p = 0; p < n; p++) direct.push(directMembers(principals, p, indexOf, unresolved));
    return MembershipGraph.fromDirect(direct);
  }

  /**
   * The graph of a patched display order (directory-view-patch.ts) from the
   * graph `old` of the order before, without resolving every member id
   * again: `fromOld` maps each new position to its old one (negative: a
   * record new or changed), `remap` each old position to its new one
   * (negative: dropped). Groups whose members are resolved again: new or
   * changed ones and `alsoResolve` (new positions). The old parents of a
   * dropped record list it still (they did not change): their old lists
   * are renumbered and the dropped members looked up again by id (a
   * changed one is back elsewhere, a removed one is gone). Every other group
   * keeps its old list renumbered, which stays ascending because the
   * records it lists kept their order.
   */
  static patch(
    old: MembershipGraph,
    oldPrincipals: readonly PrincipalRecord[],
    principals: readonly PrincipalRecord[],
    indexOf: (id: string) => number | undefined,
    fromOld: Int32Array,
    remap: Int32Array,
    alsoResolve: Iterable<number>,
    unresolved?: Unresolved,
  ): MembershipGraph {
    const n = principals.length;
    const resolve = new Uint8Array(n);
    for (let p = 0; p < n; p++) if ((fromOld[p] as number) < 0) resolve[p] = 1;
    for (let o = 0; o < remap.length; o++) {
      if ((remap[o] as number) >= 0) continue;
      for (let j = old.parentOffsets[o] as number; j < (old.parentOffsets[o + 1] as number); j++) {
        const g = remap[old.parentList[j] as number] as number;
        if (g >= 0 && resolve[g] === 0) resolve[g] = REPAIR;
      }
    }
    for (const p of alsoResolve) resolve[p] = 1;
    // Direct members into flat arrays at once: resolved lists are few, the
    // rest are the old ones renumbered.
    const resolved = new Map<number, Int32Array>();
    const memberOffsets = new Int32Array(n + 1);
    for (let p = 0; p < n; p++) {
      let size: number;
      if (resolve[p] !== 0) {
        const o = fromOld[p] as number;
        const list =
          resolve[p] === REPAIR
            ? old.repaired(o, p, oldPrincipals, remap, indexOf, unresolved)
            : directMembers(principals, p, indexOf, unresolved);
        resolved.set(p, list);
        size = list.length;
      } else {
        const o = fromOld[p] as number;
        size = (old.memberOffsets[o + 1] as number) - (old.memberOffsets[o] as number);
      }
      memberOffsets[p + 1] = (memberOffsets[p] as number) + size;
    }
    const memberList = new Int32Array(memberOffsets[n] as number);
    for (let p = 0; p < n; p++) {
      const start = memberOffsets[p] as number;
      if (start === memberOffsets[p + 1]) continue;
      const list = resolved.get(p);
      if (list !== undefined) {
        memberList.set(list, start);
        continue;
      }
      const o = fromOld[p] as number;
      for (
        let j = old.memberOffsets[o] as number, w = start;
        j < (old.memberOffsets[o + 1] as number);
        j++, w++
      ) {
        memberList[w] = remap[old.memberList[j] as number] as number;
      }
    }
    return MembershipGraph.fromLists(memberOffsets, memberList);
  }

  /** The graph of each position's direct members (ascending, unique). */
  private static fromDirect(direct: readonly Int32Array[]): MembershipGraph {
    const n = direct.length;
    const memberOffsets = new Int32Array(n + 1);
    for (let p = 0; p < n; p++) {
      memberOffsets[p + 1] = (memberOffsets[p] as number) + (direct[p] as Int32Array).length;
    }
    const memberList = new Int32Array(memberOffsets[n] as number);
    for (let p = 0; p < n; p++) memberList.set(direct[p] as Int32Array, memberOffsets[p] as number);
    return MembershipGraph.fromLists(memberOffsets, memberList);
  }

  /** The graph of the direct member lists (ascending, unique), flat. */
  private static fromLists(memberOffsets: Int32Array, memberList: Int32Array): MembershipGraph {
    const n = memberOffsets.length - 1;
    // Parents: the inverse edges. Filling in ascending group order keeps each
    // parent list ascending.
    const parentOffsets = new Int32Array(n + 1);
    for (const m of memberList) parentOffsets[m + 1] = (parentOffsets[m + 1] as number) + 1;
    for (let p = 0; p < n; p++)
      parentOffsets[p + 1] = (parentOffsets[p + 1] as number) + (parentOffsets[p] as number);
    const parentList = new Int32Array(memberList.length);
    const fill = parentOffsets.slice(0, n);
    for (let g = 0; g < n; g++) {
      for (let j = memberOffsets[g] as number; j < (memberOffsets[g + 1] as number); j++) {
        const m = memberList[j] as number;
        parentList[fill[m] as number] = g;
        fill[m] = (fill[m] as number) + 1;
      }
    }

    return new MembershipGraph(memberOffsets, memberList, parentOffsets, parentList);
  }

  /** The direct members of group o renumbered through `remap`, the dropped ones looked up again by id (patch). */
  private repaired(
    o: number,
    p: number,
    oldPrincipals: readonly PrincipalRecord[],
    remap: Int32Array,
    indexOf: (id: string) => number | undefined,
    unresolved: Unresolved | undefined,
  ): Int32Array {
    const found: number[] = [];
    for (let j = this.memberOffsets[o] as number; j < (this.memberOffsets[o + 1] as number); j++) {
      const m = this.memberList[j] as number;
      const now = remap[m] as number;
      if (now >= 0) {
        found.push(now);
        continue;
      }
      const id = (oldPrincipals[m] as PrincipalRecord).id;
      const again = indexOf(id);
      if (again !== undefined) found.push(again);
      else unresolved?.(id, p);
    }
    return uniqueSorted(found);
  }

  /**
   * Numbers the graph holds after building (memoized answers aside): linear
   * in principals plus edges by construction, which tests assert.
   */
  get retainedNumbers(): number {
    return (
      this.memberOffsets.length + this.memberList.length + this.parentOffsets.length + this.parentList.length
    );
  }

  /** Groups p is a member of; transitive follows nesting. Ascending, never p itself. */
  parents(p: number, transitive: boolean): Int32Array {
    if (!this.has(p)) return EMPTY;
    const direct = this.parentList.subarray(this.parentOffsets[p], this.parentOffsets[p + 1]);
    if (!transitive) return withoutValue(direct, p);
    const cached = this.parentCache.get(p);
    if (cached !== undefined) return cached;
    const list = this.reach(p, this.parentOffsets, this.parentList);
    this.parentCache.set(p, list);
    return list;
  }

  /** Members of group g; transitive adds nested groups' members, recursively. Ascending, never g itself. */
  members(g: number, transitive: boolean): Int32Array {
    if (!this.has(g)) return EMPTY;
    const direct = this.memberList.subarray(this.memberOffsets[g], this.memberOffsets[g + 1]);
    if (!transitive) return withoutValue(direct, g);
    const cached = this.memberCache.get(g);
    if (cached !== undefined) return cached;
    const list = this.reach(g, this.memberOffsets, this.memberList);
    this.memberCache.set(g, list);
    return list;
  }

  /** Whether p is a member of group g, directly or through nested groups. */
  isMember(p: number, g: number): boolean {
    if (p === g || !this.has(p) || !this.has(g)) return false;
    // Direct membership, the common case, without a walk.
    if (sortedHas(this.parentList.subarray(this.parentOffsets[p], this.parentOffsets[p + 1]), g)) return true;
    return sortedHas(this.parents(p, true), g);
  }

  /**
   * Every principal reachable from `start` along the edges given (members
   * downwards, parents upwards), ascending, `start` itself left out even
   * when a cycle leads back to it. Each node is visited once: linear in
   * what it reaches, whatever the depth or the cycles.
   */
  private reach(start: number, offsets: Int32Array, edges: Int32Array): Int32Array {
    const stamp = this.nextStamp();
    this.mark[start] = stamp;
    const out: number[] = [];
    const stack: number[] = [start];
    while (stack.length > 0) {
      const x = stack.pop() as number;
      for (let j = offsets[x] as number; j < (offsets[x + 1] as number); j++) {
        const next = edges[j] as number;
        if (this.mark[next] === stamp) continue;
        this.mark[next] = stamp;
        out.push(next);
        // A node without edges this way (a user downwards, a top group upwards) leads nowhere.
        if (offsets[next] !== offsets[next + 1]) stack.push(next);
      }
    }
    return Int32Array.from(out).sort();
  }

  private has(p: number): boolean {
    return Number.isInteger(p) && p >= 0 && p < this.mark.length;
  }

  private nextStamp(): number {
    this.stamp++;
    if (this.stamp === 0x7fffffff) {
      this.mark.fill(0);
      this.stamp = 1;
    }
    return this.stamp;
  }
}

/** MembershipGraph.patch: an unchanged group some of whose members were dropped. */
const REPAIR = 2;

/** Told each member id a group lists that names no principal, with the group's position. */
export type Unresolved = (memberId: string, group: number) => void;

/** The direct members of principals[p]: none unless a group. */
function directMembers(
  principals: readonly PrincipalRecord[],
  p: number,
  indexOf: (id: string) => number | undefined,
  unresolved: Unresolved | undefined,
): Int32Array {
  const principal = principals[p] as PrincipalRecord;
  if (principal.kind !== 'GROUP' || principal.memberIds.length === 0) return EMPTY;
  const found: number[] = [];
  for (const id of principal.memberIds) {
    const m = indexOf(id);
    if (m !== undefined) found.push(m);
    else unresolved?.(id, p);
  }
  return uniqueSorted(found);
}

function uniqueSorted(values: number[]): Int32Array {
  const sorted = Int32Array.from(values).sort();
  let w = 0;
  for (let r = 0; r < sorted.length; r++) {
    if (r === 0 || sorted[r] !== sorted[r - 1]) sorted[w++] = sorted[r] as number;
  }
  return sorted.subarray(0, w);
}

function sortedHas(sorted: Int32Array, value: number): boolean {
  return sorted[lowerBound(sorted.length, (i) => (sorted[i] as number) < value)] === value;
}

function withoutValue(sorted: Int32Array, value: number): Int32Array {
  return sortedHas(sorted, value) ? sorted.filter((v) => v !== value) : sorted;
}
