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
 * - Ancestors of every group are computed once at build, per strongly
 *   connected component of the group graph (Tarjan, iterative), so that
 *   isMember is a binary search per direct parent. Transitive member lists
 *   are computed on demand and memoized in a bounded cache: they can be
 *   large (a group of all staff) and most groups are never asked for.
 */
import type { PrincipalRecord } from '../model/principal.js';
import { lowerBound } from './binary-search.js';
import { BoundedCache } from './bounded-cache.js';

const EMPTY = new Int32Array(0);
/** Principal numbers kept across memoized transitive member lists. */
const MEMBER_CACHE_BUDGET = 4_000_000;

export class MembershipGraph {
  private readonly memberCache = new BoundedCache<number, Int32Array>(
    MEMBER_CACHE_BUDGET,
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
    /** Per group: every group it is nested in (self included when on a cycle), ascending. */
    private readonly ancestors: readonly Int32Array[],
  ) {
    this.mark = new Int32Array(memberOffsets.length - 1);
  }

  /**
   * Builds the graph; `indexOf` maps a principal id to its position.
   * Member ids the principals do not hold are ignored.
   */
  static build(
    principals: readonly PrincipalRecord[],
    indexOf: (id: string) => number | undefined,
  ): MembershipGraph {
    const n = principals.length;
    const memberOffsets = new Int32Array(n + 1);
    const direct: Int32Array[] = [];
    for (let p = 0; p < n; p++) {
      const principal = principals[p] as PrincipalRecord;
      let members: Int32Array = EMPTY;
      if (principal.kind === 'GROUP' && principal.memberIds.length > 0) {
        const found: number[] = [];
        for (const id of principal.memberIds) {
          const m = indexOf(id);
          if (m !== undefined) found.push(m);
        }
        members = uniqueSorted(found);
      }
      direct.push(members);
      memberOffsets[p + 1] = (memberOffsets[p] as number) + members.length;
    }
    const memberList = new Int32Array(memberOffsets[n] as number);
    for (let p = 0; p < n; p++) memberList.set(direct[p] as Int32Array, memberOffsets[p] as number);

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

    const ancestors = groupAncestors(principals, parentOffsets, parentList);
    return new MembershipGraph(memberOffsets, memberList, parentOffsets, parentList, ancestors);
  }

  /** Groups p is a member of; transitive follows nesting. Ascending, never p itself. */
  parents(p: number, transitive: boolean): Int32Array {
    if (!this.has(p)) return EMPTY;
    const direct = this.parentList.subarray(this.parentOffsets[p], this.parentOffsets[p + 1]);
    if (!transitive) return withoutValue(direct, p);
    const stamp = this.nextStamp();
    const out: number[] = [];
    const add = (g: number): void => {
      if (g !== p && this.mark[g] !== stamp) {
        this.mark[g] = stamp;
        out.push(g);
      }
    };
    for (const g of direct) {
      add(g);
      for (const a of this.ancestors[g] ?? EMPTY) add(a);
    }
    return Int32Array.from(out).sort();
  }

  /** Members of group g; transitive adds nested groups' members, recursively. Ascending, never g itself. */
  members(g: number, transitive: boolean): Int32Array {
    if (!this.has(g)) return EMPTY;
    const direct = this.memberList.subarray(this.memberOffsets[g], this.memberOffsets[g + 1]);
    if (!transitive) return withoutValue(direct, g);
    const cached = this.memberCache.get(g);
    if (cached !== undefined) return cached;
    const stamp = this.nextStamp();
    this.mark[g] = stamp;
    const out: number[] = [];
    const stack: number[] = [g];
    while (stack.length > 0) {
      const x = stack.pop() as number;
      for (let j = this.memberOffsets[x] as number; j < (this.memberOffsets[x + 1] as number); j++) {
        const m = this.memberList[j] as number;
        if (this.mark[m] === stamp) continue;
        this.mark[m] = stamp;
        out.push(m);
        // Only groups have members; following every member is as cheap as testing the kind.
        if (this.memberOffsets[m] !== this.memberOffsets[m + 1]) stack.push(m);
      }
    }
    const list = Int32Array.from(out).sort();
    this.memberCache.set(g, list);
    return list;
  }

  /** Whether p is a member of group g, directly or through nested groups. */
  isMember(p: number, g: number): boolean {
    if (p === g || !this.has(p) || !this.has(g)) return false;
    for (let j = this.parentOffsets[p] as number; j < (this.parentOffsets[p + 1] as number); j++) {
      const parent = this.parentList[j] as number;
      if (parent === g || sortedHas(this.ancestors[parent] ?? EMPTY, g)) return true;
    }
    return false;
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

/**
 * Every group's ancestors (the groups it is nested in, transitively).
 * Tarjan's algorithm over parent edges emits a component only after every
 * component it reaches, i.e. after all its ancestors' components, so each
 * component's set is the union of its parents' sets, computed once.
 */
function groupAncestors(
  principals: readonly PrincipalRecord[],
  parentOffsets: Int32Array,
  parentList: Int32Array,
): Int32Array[] {
  const n = principals.length;
  const ancestors: Int32Array[] = new Array<Int32Array>(n).fill(EMPTY);
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const component = new Int32Array(n).fill(-1);
  const componentSets: Int32Array[] = [];
  const tarjanStack: number[] = [];
  const mark = new Int32Array(n);
  let stamp = 0;
  let counter = 0;

  const emit = (root: number): void => {
    const members: number[] = [];
    let x: number;
    do {
      x = tarjanStack.pop() as number;
      onStack[x] = 0;
      members.push(x);
    } while (x !== root);
    const c = componentSets.length;
    for (const m of members) component[m] = c;
    stamp++;
    const set: number[] = [];
    const add = (g: number): void => {
      if (mark[g] !== stamp) {
        mark[g] = stamp;
        set.push(g);
      }
    };
    let cyclic = members.length > 1;
    for (const m of members) {
      for (let j = parentOffsets[m] as number; j < (parentOffsets[m + 1] as number); j++) {
        const parent = parentList[j] as number;
        if (parent === m) cyclic = true;
        const pc = component[parent] as number;
        if (pc === c) continue;
        add(parent);
        for (const a of componentSets[pc] ?? EMPTY) add(a);
      }
    }
    // On a cycle every group of the component is nested in every other, itself included.
    if (cyclic) for (const m of members) add(m);
    const sorted = Int32Array.from(set).sort();
    componentSets.push(sorted);
    for (const m of members) ancestors[m] = sorted;
  };

  // Iterative DFS: (node, next parent edge) frames.
  const frameNode: number[] = [];
  const frameEdge: number[] = [];
  for (let start = 0; start < n; start++) {
    if ((principals[start] as PrincipalRecord).kind !== 'GROUP' || index[start] !== -1) continue;
    frameNode.push(start);
    frameEdge.push(parentOffsets[start] as number);
    index[start] = low[start] = counter++;
    tarjanStack.push(start);
    onStack[start] = 1;
    while (frameNode.length > 0) {
      const top = frameNode.length - 1;
      const v = frameNode[top] as number;
      const e = frameEdge[top] as number;
      if (e < (parentOffsets[v + 1] as number)) {
        frameEdge[top] = e + 1;
        const w = parentList[e] as number;
        if (index[w] === -1) {
          index[w] = low[w] = counter++;
          tarjanStack.push(w);
          onStack[w] = 1;
          frameNode.push(w);
          frameEdge.push(parentOffsets[w] as number);
        } else if (onStack[w] === 1) {
          low[v] = Math.min(low[v] as number, index[w] as number);
        }
        continue;
      }
      frameNode.pop();
      frameEdge.pop();
      if (low[v] === index[v]) emit(v);
      const parentFrame = frameNode.length - 1;
      if (parentFrame >= 0) {
        const u = frameNode[parentFrame] as number;
        low[u] = Math.min(low[u] as number, low[v] as number);
      }
    }
  }
  return ancestors;
}
