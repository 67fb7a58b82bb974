/**
 * The display order of a patched view (directory-view-patch.ts): the old
 * order without the dropped positions, with the inserted records placed by
 * binary search, in one copy of the old arrays; and the kind and
 * connection lists renumbered, the inserted positions merged in. Nothing
 * is compared or allocated per record, so a patch of a few records over
 * 100,000 costs a few milliseconds.
 */
import type { PrincipalKind, PrincipalRecord } from '../model/principal.js';
import { lowerBound } from './binary-search.js';
import { compareKeys } from './cursor.js';
import type { KindLists } from './view-parts.js';

export interface Inserted {
  readonly p: PrincipalRecord;
  /** Its sort name (cursor.ts sortName). */
  readonly name: string;
}

interface OldOrder {
  readonly principals: readonly PrincipalRecord[];
  readonly sortNames: readonly string[];
  readonly kindLists: KindLists;
  readonly connectionLists: ReadonlyMap<string, KindLists>;
}

export interface PatchedOrder {
  readonly principals: PrincipalRecord[];
  readonly sortNames: string[];
  /** New position → old position; negative for an inserted record. */
  readonly fromOld: Int32Array;
  /** Old position → new position; negative for a dropped one. */
  readonly remap: Int32Array;
  /** The new positions of the inserted records, ascending. */
  readonly insertedAt: Int32Array;
  readonly kindLists: KindLists;
  readonly connectionLists: Map<string, KindLists>;
}

/**
 * `dropped`: old positions, ascending; `inserted`: in display order (sort
 * name, then id). A dropped record may come back inserted (a changed one).
 */
export function patchOrder(
  old: OldOrder,
  dropped: readonly number[],
  inserted: readonly Inserted[],
): PatchedOrder {
  const oldN = old.principals.length;
  // Where each inserted record goes: before the first old record sorting after it.
  const at = inserted.map(({ p, name }) =>
    lowerBound(
      oldN,
      (o) =>
        compareKeys(old.sortNames[o] as string, (old.principals[o] as PrincipalRecord).id, name, p.id) < 0,
    ),
  );
  const n = oldN - dropped.length + inserted.length;
  const fromOld = new Int32Array(n);
  const remap = new Int32Array(oldN).fill(-1);
  const insertedAt = new Int32Array(inserted.length);
  // Filled in order, each slot once: one copy of each array.
  const principals = new Array<PrincipalRecord>(n);
  const sortNames = new Array<string>(n);
  const oldPrincipals = old.principals;
  const oldNames = old.sortNames;
  let w = 0;
  let o = 0;
  let k = 0;
  let d = 0;
  for (;;) {
    const nextInsert = k < at.length ? (at[k] as number) : oldN;
    const nextDrop = d < dropped.length ? (dropped[d] as number) : oldN;
    for (const end = Math.min(nextInsert, nextDrop); o < end; o++, w++) {
      principals[w] = oldPrincipals[o] as PrincipalRecord;
      sortNames[w] = oldNames[o] as string;
      fromOld[w] = o;
      remap[o] = w;
    }
    if (k < at.length && at[k] === o) {
      const ins = inserted[k] as Inserted;
      principals[w] = ins.p;
      sortNames[w] = ins.name;
      fromOld[w] = -1;
      insertedAt[k] = w;
      w++;
      k++;
    } else if (d < dropped.length && dropped[d] === o) {
      o++;
      d++;
    } else {
      break;
    }
  }

  // Lists: the old ones renumbered, the inserted positions merged in.
  const insertedOf = (keep: (p: PrincipalRecord) => boolean): number[] => {
    const out: number[] = [];
    for (let i = 0; i < inserted.length; i++)
      if (keep((inserted[i] as Inserted).p)) out.push(insertedAt[i] as number);
    return out;
  };
  const listsOf = (lists: KindLists | undefined, connectionId: string | null): KindLists => {
    const one = (kind: PrincipalKind) =>
      renumber(
        lists?.[kind],
        remap,
        insertedOf((p) => p.kind === kind && (connectionId === null || p.connectionId === connectionId)),
      );
    return { USER: one('USER'), GROUP: one('GROUP'), CONTACT: one('CONTACT') };
  };
  const kindLists = listsOf(old.kindLists, null);
  const connectionLists = new Map<string, KindLists>();
  const touched = new Set(inserted.map((i) => i.p.connectionId));
  for (const d of dropped) touched.add((old.principals[d] as PrincipalRecord).connectionId);
  for (const [c, lists] of old.connectionLists) {
    connectionLists.set(c, touched.has(c) ? listsOf(lists, c) : renumbered(lists, remap));
  }
  for (const c of touched) if (!connectionLists.has(c)) connectionLists.set(c, listsOf(undefined, c));
  for (const [c, lists] of connectionLists) {
    if (lists.USER.length + lists.GROUP.length + lists.CONTACT.length === 0) connectionLists.delete(c);
  }
  return { principals, sortNames, fromOld, remap, insertedAt, kindLists, connectionLists };
}

/** A list of a connection nothing was dropped from or inserted into, renumbered. */
function renumbered(lists: KindLists, remap: Int32Array): KindLists {
  return {
    USER: renumber(lists.USER, remap, []),
    GROUP: renumber(lists.GROUP, remap, []),
    CONTACT: renumber(lists.CONTACT, remap, []),
  };
}

/** The old ascending list through `remap` (dropped ones left out), with `added` (ascending new positions) merged in. */
function renumber(list: Int32Array | undefined, remap: Int32Array, added: readonly number[]): Int32Array {
  const before = list ?? new Int32Array(0);
  const out = new Int32Array(before.length + added.length);
  let w = 0;
  let a = 0;
  for (let i = 0; i < before.length; i++) {
    const m = remap[before[i] as number] as number;
    if (m < 0) continue;
    while (a < added.length && (added[a] as number) < m) out[w++] = added[a++] as number;
    out[w++] = m;
  }
  while (a < added.length) out[w++] = added[a++] as number;
  return w === out.length ? out : out.slice(0, w);
}
