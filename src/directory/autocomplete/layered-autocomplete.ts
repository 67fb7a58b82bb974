/**
 * Autocomplete over a patched directory view (directory-view-patch.ts): the
 * index of the last whole build (the base), whose owners since changed or
 * removed are left out, with a small index over the records changed or
 * added since (the overlay). The two hold disjoint owners, so the answer
 * the one index over all of them would give is, tier by tier, the best of
 * both tiers' picks merged by the same ranking key (autocomplete-index.ts:
 * class where the tier ranks by it, then folded address, spelling, owner
 * id). Each tier costs its two lookups, the overlay's over a few hundred
 * records, and a merge of at most `first` picks each: a query costs little
 * more than on the base alone.
 *
 * The one difference from a whole build: a name or account tier that
 * reaches CANDIDATE_CAP (a one-letter prefix over a large directory, with
 * fewer address matches than asked for) ranks the first CANDIDATE_CAP of
 * each layer in key order, not of the whole, so it may pick other real
 * matches than the whole build's index would.
 */
import type { PrincipalRecord } from '../../model/principal.js';
import { fold } from '../fold.js';
import {
  type AddressSuggestion,
  AutocompleteIndex,
  type QueryTier,
  type SuggestOptions,
  suggestQuery,
  tiersOf,
} from './autocomplete-index.js';

/** What a directory view asks of its autocomplete, whole or layered. */
export interface Suggester {
  /** The principals receiving mail at this address (folded comparison), by spelling, then owner id. */
  owners(address: string): PrincipalRecord[];
  suggest(prefix: string, options?: SuggestOptions): AddressSuggestion[];
}

export class LayeredAutocomplete implements Suggester {
  constructor(
    private readonly base: AutocompleteIndex,
    /** Per base principal number: negative when the owner is no longer the base's (changed or removed). */
    private readonly live: Int32Array,
    private readonly overlay: AutocompleteIndex,
  ) {}

  owners(address: string): PrincipalRecord[] {
    return this.ownerSuggestions(fold(address.trim())).map((s) => s.principal);
  }

  /** The suggestions of a folded address in both layers, by spelling, then owner id. */
  ownerSuggestions(folded: string): AddressSuggestion[] {
    const a = this.base.addressSuggestions(folded, this.live);
    const b = this.overlay.addressSuggestions(folded);
    return this.merge(a, b, AutocompleteIndex.compareAddresses, a.length + b.length);
  }

  suggest(prefix: string, options: SuggestOptions = {}): AddressSuggestion[] {
    const query = suggestQuery(prefix, options);
    if (query === null) return [];
    const baseShards = this.base.shardsFor(options);
    // Most queries match nothing in the few records changed since the base: then the base answers alone.
    const overlayMay = this.overlay.mayMatch(query);
    const overlayShards =
      overlayMay.addresses || overlayMay.names || overlayMay.accounts
        ? this.overlay.shardsFor(options)
        : null;
    if (overlayShards === null)
      return baseShards === null ? [] : this.base.suggestIn(query, baseShards, this.live);
    const takenBase = new Set<number>();
    const takenOverlay = new Set<number>();
    const out: AddressSuggestion[] = [];
    for (const tier of tiersOf(query)) {
      const room = query.limit - out.length;
      if (room <= 0) break;
      const a = baseShards ? this.base.tierPicks(tier, query, baseShards, takenBase, room, this.live) : [];
      const b = overlayMay[tier.source]
        ? this.overlay.tierPicks(tier, query, overlayShards, takenOverlay, room, null)
        : [];
      const compare = compareOf(tier);
      // Both lists are in the tier's rank order: the merge's first `room` are the union's.
      let i = 0;
      let j = 0;
      while (out.length < query.limit && (i < a.length || j < b.length)) {
        const s = a[i];
        const t = b[j];
        if (t === undefined || (s !== undefined && compare(this.base, s, this.overlay, t) < 0)) {
          takenBase.add(s as number);
          out.push(this.base.suggestion(s as number));
          i++;
        } else {
          takenOverlay.add(t);
          out.push(this.overlay.suggestion(t));
          j++;
        }
      }
    }
    return out;
  }

  private merge(
    a: readonly number[],
    b: readonly number[],
    compare: Compare,
    limit: number,
  ): AddressSuggestion[] {
    const out: AddressSuggestion[] = [];
    let i = 0;
    let j = 0;
    while (out.length < limit && (i < a.length || j < b.length)) {
      const s = a[i];
      const t = b[j];
      if (t === undefined || (s !== undefined && compare(this.base, s, this.overlay, t) < 0)) {
        out.push(this.base.suggestion(s as number));
        i++;
      } else {
        out.push(this.overlay.suggestion(t));
        j++;
      }
    }
    return out;
  }
}

type Compare = (a: AutocompleteIndex, s: number, b: AutocompleteIndex, t: number) => number;

function compareOf(tier: QueryTier): Compare {
  return tier.source === 'addresses' ? AutocompleteIndex.compareAddresses : AutocompleteIndex.compareKeyed;
}
