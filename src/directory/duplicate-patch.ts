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
// A finding's folded value is its value folded: every value is a trimmed spelling of it.
import { fold } from './fold.js';

/** The principals holding a folded value of a kind, distinct, in display order. */
export type HoldersOf = (kind: DuplicateKind, key: string) => readonly PrincipalRecord[];

/** Findings, and each one's folded value. */
export interface KeyedFindings {
  readonly findings: readonly DuplicateFinding[];
  readonly keys: readonly string[];
}

/** `keys`: each finding's folded value, when known (else folded here: a finding's value folded is it). */
export function patchFindings(
  before: readonly DuplicateFinding[],
  beforeKeys: readonly string[] | null,
  touched: ReadonlyMap<string, readonly [DuplicateKind, string]>,
  holdersOf: HoldersOf,
  netbios: (connectionId: string) => string | null | undefined,
): KeyedFindings {
  const oldKeys = beforeKeys ?? before.map((f) => fold(f.value));
  if (touched.size === 0) return { findings: before, keys: oldKeys };
  const fresh: { rank: number; key: string; finding: DuplicateFinding }[] = [];
  for (const [kind, key] of touched.values()) {
    const finding = findingOf(kind, key, holdersOf(kind, key), netbios);
    if (finding !== null) fresh.push({ rank: kindRank(kind), key, finding });
  }
  fresh.sort((a, b) => a.rank - b.rank || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const out: DuplicateFinding[] = [];
  const keys: string[] = [];
  let j = 0;
  const takeFresh = () => {
    const next = fresh[j++] as (typeof fresh)[number];
    out.push(next.finding);
    keys.push(next.key);
  };
  before.forEach((f, i) => {
    const rank = kindRank(f.kind);
    const key = oldKeys[i] as string;
    while (j < fresh.length) {
      const next = fresh[j] as (typeof fresh)[number];
      if (next.rank > rank || (next.rank === rank && next.key >= key)) break;
      takeFresh();
    }
    if (!touched.has(valueKey(f.kind, key))) {
      out.push(f);
      keys.push(key);
    }
  });
  while (j < fresh.length) takeFresh();
  return { findings: out, keys };
}

/** The key of a value in `touched`. */
export function valueKey(kind: DuplicateKind, key: string): string {
  return `${kind}\u0000${key}`;
}
