/**
 * The duplicate findings of a patched view (directory-view-patch.ts): only
 * the values the change touched (the old and the new values of every
 * record changed, added or removed) are looked at again, each with every
 * principal holding it now; every other finding is the earlier view's.
 * The result is what scanDuplicates would find over the whole view: the
 * same findings, ids, values and order (kind, then folded value).
 */
import type { DuplicateKind } from '../model/finding.js';
import type { PrincipalRecord } from '../model/principal.js';
import { type DuplicateFinding, findingOf, kindRank } from './duplicate-detection.js';
import { fold } from './fold.js';

/** The principals holding a folded value of a kind, distinct, in display order. */
export type HoldersOf = (kind: DuplicateKind, key: string) => readonly PrincipalRecord[];

export function patchFindings(
  before: readonly DuplicateFinding[],
  touched: ReadonlyMap<string, readonly [DuplicateKind, string]>,
  holdersOf: HoldersOf,
  netbios: (connectionId: string) => string | null | undefined,
): DuplicateFinding[] {
  if (touched.size === 0) return [...before];
  const fresh: { rank: number; key: string; finding: DuplicateFinding }[] = [];
  for (const [kind, key] of touched.values()) {
    const finding = findingOf(kind, key, holdersOf(kind, key), netbios);
    if (finding !== null) fresh.push({ rank: kindRank(kind), key, finding });
  }
  fresh.sort((a, b) => a.rank - b.rank || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  // A finding's folded value is its value folded: every value is a trimmed spelling of it.
  const out: DuplicateFinding[] = [];
  let j = 0;
  for (const f of before) {
    const rank = kindRank(f.kind);
    const key = fold(f.value);
    while (j < fresh.length) {
      const next = fresh[j] as (typeof fresh)[number];
      if (next.rank > rank || (next.rank === rank && next.key >= key)) break;
      out.push(next.finding);
      j++;
    }
    if (!touched.has(valueKey(f.kind, key))) out.push(f);
  }
  for (; j < fresh.length; j++) out.push((fresh[j] as (typeof fresh)[number]).finding);
  return out;
}

/** The key of a value in `touched`. */
export function valueKey(kind: DuplicateKind, key: string): string {
  return `${kind}\u0000${key}`;
}
