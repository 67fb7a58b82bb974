/**
 * A directory view patched with what an incremental run changed in one
 * connection's snapshot, instead of built again from every snapshot: the
 * same answers as DirectoryView.create over the new snapshots (a property
 * test compares them), for a cost that follows the change plus a few plain
 * passes over typed arrays.
 *
 * - Display order: the changed and removed records' positions are dropped,
 *   the changed and new records inserted by their sort key, in one merge;
 *   the kind and connection lists follow in one pass.
 * - Lookup by id: the last whole build's table (the root) through `rank`,
 *   its numbers made positions here, and a small table of the records new
 *   or changed since (the overlay).
 * - Autocomplete: the root's index without its owners changed or gone,
 *   layered with an index over the overlay (layered-autocomplete.ts).
 * - Membership: the graph renumbered, the groups that may list a changed
 *   record resolved again (MembershipGraph.patch).
 * - Duplicates: the values the change touched, again (duplicate-patch.ts).
 *
 * The overlay grows with every patch, and with it the cost of the next
 * patch (its index is rebuilt each time) and a little of each query; past
 * PATCH_LIMIT records changed since the root, or a tenth of the view, the
 * caller builds whole again, which makes a new root.
 */

import type { DuplicateKind } from '../model/finding.js';
import type { PrincipalKind, PrincipalRecord, Snapshot, SnapshotCounts } from '../model/principal.js';
import type { SnapshotChange } from '../model/snapshot-change.js';
import { buildAutocompleteHere, LayeredAutocomplete } from './autocomplete/index.js';
import { lowerBound } from './binary-search.js';
import { compareKeys, sortName } from './cursor.js';
import { patchOrder } from './display-order-patch.js';
import { duplicateValues } from './duplicate-detection.js';
import { patchFindings, valueKey } from './duplicate-patch.js';
import { fold } from './fold.js';
import { MembershipGraph } from './membership-graph.js';
import type { ViewParts, ViewRoot } from './view-parts.js';

/**
 * Most records changed or removed since the last whole build that a patch
 * carries (and at most a tenth of the view, at least 64). The overlay's
 * index is rebuilt by every patch, about 10 µs a record, so at the limit a
 * patch costs about 10 ms more than right after a whole build (measured:
 * scripts/bench/view-patch.ts); a whole build, 1.5-4 s at 130,000
 * principals (its autocomplete index on the worker), then comes at most
 * once per 1,000 changed records: at ten a minute, every hour and a half.
 */
export const PATCH_LIMIT = 1000;

export interface ViewPatch {
  readonly connectionId: string;
  readonly next: Snapshot;
  readonly change: SnapshotChange;
  readonly connectionDomains: ReadonlyMap<string, string>;
}

/**
 * The parts of `old` patched with the change, or null when a patch cannot
 * give what a whole build would (the view was not built from the change's
 * previous snapshot, the connection's domain or NetBIOS name changed, the
 * change names records of another connection) or would cost more than it
 * saves (past the limit): then the caller builds whole.
 */
export function patchParts(old: ViewParts, patch: ViewPatch): ViewParts | null {
  const started = performance.now();
  const { connectionId, next, change } = patch;
  const { lineage } = old;
  const root = lineage.root;
  if (old.metas.get(connectionId) !== change.previous.meta) return null;
  if (next.meta.connectionId !== connectionId) return null;
  if ((next.meta.netbiosName ?? null) !== (change.previous.meta.netbiosName ?? null)) return null;
  if (!sameDomains(lineage.connectionDomains, patch.connectionDomains)) return null;

  // What goes: the old positions of removed and changed records.
  const oldN = old.principals.length;
  const dropped = new Uint8Array(oldN);
  const droppedList: number[] = [];
  const drop = (id: string): boolean => {
    const at = old.indexOf(id);
    if (at === undefined) return true;
    if ((old.principals[at] as PrincipalRecord).connectionId !== connectionId) return false;
    if (dropped[at] === 0) {
      dropped[at] = 1;
      droppedList.push(at);
    }
    return true;
  };
  for (const id of change.removed) if (!drop(id)) return null;
  const seen = new Set<string>();
  for (const p of change.upserted) {
    if (p.connectionId !== connectionId || seen.has(p.id) || !drop(p.id)) return null;
    seen.add(p.id);
  }
  let leavingOverlay = 0;
  for (const at of droppedList) {
    if (lineage.overlay.has((old.principals[at] as PrincipalRecord).id)) leavingOverlay++;
  }
  const dead = lineage.dead + droppedList.length - leavingOverlay;
  const overlaySize = lineage.overlay.size - leavingOverlay + change.upserted.length;
  if (dead + overlaySize > Math.min(PATCH_LIMIT, Math.max(64, oldN / 10))) return null;

  // The display order: one merge of the kept positions and the inserted records.
  const inserted = change.upserted.map((p) => ({ p, name: sortName(p.displayName) }));
  inserted.sort((a, b) => compareKeys(a.name, a.p.id, b.name, b.p.id));
  droppedList.sort((a, b) => a - b);
  const { principals, sortNames, fromOld, remap, insertedAt, kindLists, connectionLists } = patchOrder(
    old,
    droppedList,
    inserted,
  );

  // Lookup by id.
  const rank = new Int32Array(lineage.rank.length);
  for (let r = 0; r < rank.length; r++) {
    const at = lineage.rank[r] as number;
    rank[r] = at < 0 ? -1 : (remap[at] as number);
  }
  const overlay = new Map<string, number>();
  for (const [id, at] of lineage.overlay) {
    const now = remap[at] as number;
    if (now >= 0) overlay.set(id, now);
  }
  for (const p of insertedAt) overlay.set((principals[p] as PrincipalRecord).id, p);
  const indexOf = (id: string): number | undefined => {
    const at = overlay.get(id);
    if (at !== undefined) return at;
    const r = root.positionOf.get(id);
    if (r === undefined) return undefined;
    const p = rank[r] as number;
    return p < 0 ? undefined : p;
  };
  const order = performance.now();

  // Autocomplete: the root's index beside one over the overlay.
  const overlayRecords: PrincipalRecord[] = [];
  const overlayNames: string[] = [];
  for (const at of overlay.values()) {
    overlayRecords.push(principals[at] as PrincipalRecord);
    overlayNames.push(sortNames[at] as string);
  }
  const overlayIndex = buildAutocompleteHere({
    principals: overlayRecords,
    foldedNames: overlayNames,
    connectionDomain: (c) => patch.connectionDomains.get(c),
  });
  const suggester = new LayeredAutocomplete(root.index, rank, overlayIndex);
  const autocomplete = performance.now();

  // Membership: groups that may list a record new to the view, besides those the graph finds.
  const unresolved = (memberId: string, group: number) =>
    noteUnresolved(root, memberId, (principals[group] as PrincipalRecord).id);
  const alsoResolve: number[] = [];
  for (const { p } of inserted) {
    if (old.indexOf(p.id) !== undefined) continue;
    for (const groupId of root.unresolved.get(p.id) ?? []) {
      const g = indexOf(groupId);
      if (g !== undefined && (principals[g] as PrincipalRecord).memberIds.includes(p.id)) alsoResolve.push(g);
    }
  }
  const graph = MembershipGraph.patch(
    old.graph,
    old.principals,
    principals,
    indexOf,
    fromOld,
    remap,
    alsoResolve,
    unresolved,
  );
  const membership = performance.now();

  // Duplicates: the values touched, old and new.
  const metas = new Map(old.metas);
  metas.set(connectionId, next.meta);
  const netbios = (c: string) => metas.get(c)?.netbiosName ?? null;
  const touched = new Map<string, readonly [DuplicateKind, string]>();
  const touch = (p: PrincipalRecord, name: string) => {
    for (const value of duplicateValues(p, name, netbios)) touched.set(valueKey(value[0], value[1]), value);
  };
  for (const at of droppedList) touch(old.principals[at] as PrincipalRecord, old.sortNames[at] as string);
  for (const { p, name } of inserted) touch(p, name);
  const live = (p: PrincipalRecord) => {
    const at = indexOf(p.id);
    return at !== undefined && principals[at] === p;
  };
  let overlayAccounts: Map<string, PrincipalRecord[]> | null = null;
  const holdersOf = (kind: DuplicateKind, key: string): PrincipalRecord[] => {
    let found: PrincipalRecord[];
    if (kind === 'EMAIL_ADDRESS') {
      found = suggester.ownerSuggestions(key).map((s) => s.principal);
    } else if (kind === 'KERBEROS_NAME' || kind === 'NTLM_NAME') {
      overlayAccounts ??= accountsOf(overlayRecords, overlayNames, netbios);
      found = root.accounts(kind, key).filter(live);
      found.push(...(overlayAccounts.get(valueKey(kind, key)) ?? []));
    } else {
      return sameName(principals, sortNames, kindLists[NAME_KINDS[kind]], key);
    }
    const positions = found.map((p) => indexOf(p.id) as number).sort((a, b) => a - b);
    return positions.map((at) => principals[at] as PrincipalRecord);
  };
  const { findings, keys: findingKeys } = patchFindings(
    old.findings,
    old.findingKeys,
    touched,
    holdersOf,
    netbios,
  );

  const counts = new Map(old.counts);
  counts.set(
    connectionId,
    recount(
      old.counts.get(connectionId),
      droppedList.map((at) => old.principals[at] as PrincipalRecord),
      change.upserted,
    ),
  );
  const searchTexts =
    old.searchTexts === null ? null : patchTexts(old.searchTexts, principals, sortNames, fromOld);
  const ended = performance.now();
  return {
    build: 'patched',
    metas,
    counts,
    principals,
    sortNames,
    indexOf,
    kindLists,
    connectionLists,
    suggester,
    graph,
    findings,
    findingKeys,
    timings: {
      order: order - started,
      autocomplete: autocomplete - order,
      membership: membership - autocomplete,
      duplicates: ended - membership,
      total: ended - started,
    },
    lineage: { root, rank, overlay, dead, connectionDomains: patch.connectionDomains },
    searchTexts,
  };
}

/** Notes a member id naming nothing (a hint: see ViewRoot.unresolved). */
export function noteUnresolved(root: ViewRoot, memberId: string, groupId: string): void {
  const groups = root.unresolved.get(memberId);
  if (groups === undefined) root.unresolved.set(memberId, [groupId]);
  else if (!groups.includes(groupId)) groups.push(groupId);
}

/** What list() searches in for one principal (directory-view.ts). */
export function searchText(p: PrincipalRecord, name: string): string {
  const parts = [name, ...p.emails.map(fold)];
  if (p.samAccountName) parts.push(fold(p.samAccountName));
  if (p.userPrincipalName) parts.push(fold(p.userPrincipalName));
  // A separator no query contains (searches are trimmed text) keeps fields apart.
  return parts.join('\u0000');
}

const NAME_KINDS: Readonly<Record<'USER_NAME' | 'GROUP_NAME' | 'CONTACT_NAME', PrincipalKind>> = {
  USER_NAME: 'USER',
  GROUP_NAME: 'GROUP',
  CONTACT_NAME: 'CONTACT',
};

/** The principals of the kind list whose sort name is `key`: one run of the display order. */
function sameName(
  principals: readonly PrincipalRecord[],
  sortNames: readonly string[],
  list: Int32Array,
  key: string,
): PrincipalRecord[] {
  let j = lowerBound(list.length, (i) => (sortNames[list[i] as number] as string) < key);
  const out: PrincipalRecord[] = [];
  for (; j < list.length && sortNames[list[j] as number] === key; j++) {
    out.push(principals[list[j] as number] as PrincipalRecord);
  }
  return out;
}

/** The Kerberos and NTLM names of the records, by valueKey. */
function accountsOf(
  records: readonly PrincipalRecord[],
  names: readonly string[],
  netbios: (c: string) => string | null,
): Map<string, PrincipalRecord[]> {
  const map = new Map<string, PrincipalRecord[]>();
  records.forEach((p, i) => {
    if (p.kind !== 'USER') return;
    for (const [kind, key] of duplicateValues(p, names[i] as string, netbios, true)) {
      const k = valueKey(kind, key);
      const own = map.get(k);
      if (own) own.push(p);
      else map.set(k, [p]);
    }
  });
  return map;
}

/** The counts of a connection's records, some of them replaced by others. */
function recount(
  before: SnapshotCounts | undefined,
  gone: readonly PrincipalRecord[],
  come: readonly PrincipalRecord[],
): SnapshotCounts {
  const counts = { users: 0, groups: 0, contacts: 0, addresses: 0, ...before };
  const tally = (p: PrincipalRecord, sign: number) => {
    if (p.kind === 'USER') counts.users += sign;
    else if (p.kind === 'GROUP') counts.groups += sign;
    else counts.contacts += sign;
    counts.addresses += sign * p.emails.length;
  };
  for (const p of gone) tally(p, -1);
  for (const p of come) tally(p, 1);
  return counts;
}

function patchTexts(
  before: readonly string[],
  principals: readonly PrincipalRecord[],
  sortNames: readonly string[],
  fromOld: Int32Array,
): string[] {
  return principals.map((p, i) => {
    const o = fromOld[i] as number;
    return o >= 0 ? (before[o] as string) : searchText(p, sortNames[i] as string);
  });
}

function sameDomains(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [c, d] of a) if (b.get(c) !== d) return false;
  return true;
}
