/**
 * The autocomplete index behind the Sender and Recipient fields: every
 * address of every user, group and contact is one suggestion, found by the
 * start of the address, the start of any word of the owner's display name,
 * or the start of its account name.
 *
 * Ranking, best first (each rule breaks the ties of the one before):
 *   1. exact before prefix: the whole address, a whole name word (or the
 *      rest of the name from that word on) or the whole account name
 *      equals what was typed;
 *   2. by what matched: address, then display name, then account name
 *      (what the user sees is the address; a name or an account is a
 *      way of reaching it);
 *   3. the primary address before aliases;
 *   4. enabled before disabled owners;
 *   5. alphabetically by folded address, then spelling, then owner id.
 *
 * Nothing is scanned per query. Suggestions are numbered in rule-5 order,
 * and split into shards by (domain, kind) so that the domain and kind
 * filters only choose shards. Each shard holds, per address class (rules 3
 * and 4), the ascending suggestion numbers, which is at once the order of
 * their folded addresses (binary search for the prefix range) and the rank
 * order (a k-way merge of the chosen shards takes the best `first` in
 * O(first + shards) after O(shards · log n) searches).
 *
 * Name words and account names are kept per owner, as sorted unique keys
 * with posting lists of owners (one owner's words are stored once, not once
 * per address). Each posting list is sorted by the owner's best suggestion,
 * so a tier stops reading a key as soon as the next owner cannot beat the
 * `first` best found so far: an exact name word shared by thousands ("a",
 * "smith") costs about as much as a rare one. Across the keys of a prefix
 * range key order is not rank order, so a prefix tier reads at most
 * CANDIDATE_CAP suggestions and selects the best `first` among them without
 * sorting. Past the cap (a one-letter prefix over 100,000 names, and only
 * when the address tiers above gave fewer than `first` results) the answer
 * is still only real matches of that tier, best ranked among the first
 * CANDIDATE_CAP in key order.
 *
 * Memory: suggestions are typed arrays plus the address strings the
 * snapshot already holds (folded copies only where folding changes them);
 * keys are shared by all owners of a word.
 *
 * The build itself is in autocomplete-build.ts: it can run on a worker
 * thread, and assemble() takes its result.
 */
import { PRINCIPAL_KINDS, type PrincipalKind, type PrincipalRecord } from '../model/principal.js';
import {
  type AutocompleteHalves,
  type AutocompleteSources,
  autocompleteSources,
  buildHalves,
  CLASS_COUNT,
  type KeyedRun,
  type KeySourceName,
  NO_RUNS,
  tierScore,
} from './autocomplete-build.js';
import { fold, lowerBound, nameQuery } from './fold.js';

export interface AddressSuggestion {
  readonly address: string;
  readonly principal: PrincipalRecord;
}

export interface SuggestOptions {
  /** How many suggestions (default 10, at most CANDIDATE_CAP). */
  readonly first?: number;
  /** Only these kinds; null, undefined or empty: every kind. */
  readonly kinds?: readonly PrincipalKind[] | null;
  /** Only owners whose connection serves this mail domain (compared folded). */
  readonly domain?: string | null;
}

/** Maps a connection id to the mail domain it serves. */
export type ConnectionDomain = (connectionId: string) => string | null | undefined;

export const DEFAULT_SUGGESTIONS = 10;
/** Most suggestions ranked per name or account tier of one query. */
export const CANDIDATE_CAP = 5000;

interface Shard {
  readonly domain: number;
  readonly kind: number;
  /** Per address class: ascending suggestion numbers. */
  readonly addresses: readonly Int32Array[];
  /** [enabled owners, disabled owners]. */
  readonly names: readonly KeyedRun[];
  readonly accounts: readonly KeyedRun[];
}

export class AutocompleteIndex {
  private constructor(
    private readonly principals: readonly PrincipalRecord[],
    /** Per suggestion, in rank-5 order: owner, spelling, folded address, class. */
    private readonly suggOwner: Int32Array,
    private readonly suggAddress: readonly string[],
    private readonly suggFolded: readonly string[],
    private readonly suggClass: Uint8Array,
    /** Suggestions of principal p: ownerSuggs[ownerOffsets[p] .. ownerOffsets[p + 1]). */
    private readonly ownerOffsets: Int32Array,
    private readonly ownerSuggs: Int32Array,
    /** Per principal: the best tier score of its suggestions (see pickKeyed); postings are sorted by it. */
    private readonly ownerBest: Float64Array,
    private readonly shards: readonly Shard[],
    private readonly domains: ReadonlyMap<string, number>,
  ) {}

  static empty(): AutocompleteIndex {
    return AutocompleteIndex.build([], () => null);
  }

  /** Builds on this thread (autocomplete-builder.ts builds a large one on two). */
  static build(
    principals: readonly PrincipalRecord[],
    connectionDomain: ConnectionDomain,
  ): AutocompleteIndex {
    const sources = autocompleteSources(principals, connectionDomain);
    return AutocompleteIndex.assemble(principals, sources.domains, buildHalves(sources), null);
  }

  /**
   * The index over `principals` from its two halves (autocomplete-build.ts).
   * `numbering`, when the halves were built from the principals in another
   * order: the number here of the halves' principal p. The halves' typed
   * arrays are taken over, not copied.
   */
  static assemble(
    principals: readonly PrincipalRecord[],
    domains: AutocompleteSources['domains'],
    halves: AutocompleteHalves,
    numbering: Int32Array | null,
  ): AutocompleteIndex {
    const { addresses, keys } = halves;
    const n = addresses.suggOwner.length;
    const suggOwner = addresses.suggOwner;
    let ownerBest = addresses.ownerBest;
    if (numbering !== null) {
      for (let s = 0; s < n; s++) suggOwner[s] = numbering[suggOwner[s] as number] as number;
      for (const shard of keys.shards) {
        for (const run of [...shard.names, ...shard.accounts]) {
          const owners = run.owners;
          for (let j = 0; j < owners.length; j++) owners[j] = numbering[owners[j] as number] as number;
        }
      }
      ownerBest = new Float64Array(principals.length);
      for (let p = 0; p < numbering.length; p++) {
        ownerBest[numbering[p] as number] = addresses.ownerBest[p] as number;
      }
    }
    const suggAddress = new Array<string>(n);
    const suggFolded = new Array<string>(n);
    for (let s = 0; s < n; s++) {
      const owner = principals[suggOwner[s] as number] as PrincipalRecord;
      const address = owner.emails[addresses.suggEmail[s] as number] as string;
      suggAddress[s] = address;
      suggFolded[s] = addresses.suggFolded[s] ?? address;
    }

    // Each principal's suggestions, ascending.
    const ownerOffsets = new Int32Array(principals.length + 1);
    for (let s = 0; s < n; s++) {
      const at = (suggOwner[s] as number) + 1;
      ownerOffsets[at] = (ownerOffsets[at] as number) + 1;
    }
    for (let p = 0; p < principals.length; p++) {
      ownerOffsets[p + 1] = (ownerOffsets[p + 1] as number) + (ownerOffsets[p] as number);
    }
    const ownerSuggs = new Int32Array(n);
    const fill = ownerOffsets.slice(0, principals.length);
    for (let s = 0; s < n; s++) {
      const p = suggOwner[s] as number;
      ownerSuggs[fill[p] as number] = s;
      fill[p] = (fill[p] as number) + 1;
    }

    // Shards: the address lists, with the keys of the same shard.
    const keyed = new Map(keys.shards.map((k) => [k.shard, k]));
    const shards: Shard[] = [...addresses.shards]
      .sort(([a], [b]) => a - b)
      .map(([shard, lists]) => ({
        domain: Math.floor(shard / PRINCIPAL_KINDS.length),
        kind: shard % PRINCIPAL_KINDS.length,
        addresses: lists,
        names: keyed.get(shard)?.names ?? NO_RUNS,
        accounts: keyed.get(shard)?.accounts ?? NO_RUNS,
      }));

    return new AutocompleteIndex(
      principals,
      suggOwner,
      suggAddress,
      suggFolded,
      addresses.suggClass,
      ownerOffsets,
      ownerSuggs,
      ownerBest,
      shards,
      new Map(domains),
    );
  }

  /** Number of suggestions (distinct addresses per owner) indexed. */
  get size(): number {
    return this.suggOwner.length;
  }

  /**
   * Every folded address that more than one principal has, with their
   * numbers ascending: runs of equal keys in the sorted suggestions (one
   * principal has a folded address once). Duplicate detection takes its
   * address duplicates from here instead of hashing every address again.
   */
  *sharedAddresses(): Generator<readonly [key: string, principals: number[]]> {
    const folded = this.suggFolded;
    for (let start = 0; start < folded.length; ) {
      const key = folded[start] as string;
      let end = start + 1;
      while (end < folded.length && folded[end] === key) end++;
      if (end - start > 1) {
        const owners = Array.from(this.suggOwner.subarray(start, end)).sort((a, b) => a - b);
        yield [key, owners];
      }
      start = end;
    }
  }

  /** The principals receiving mail at this address (folded comparison), by owner id. */
  owners(address: string): PrincipalRecord[] {
    const folded = fold(address.trim());
    const out: PrincipalRecord[] = [];
    if (folded.length === 0) return out;
    for (let s = lowerBound(this.suggFolded, folded); this.suggFolded[s] === folded; s++) {
      out.push(this.principals[this.suggOwner[s] as number] as PrincipalRecord);
    }
    return out;
  }

  /** The suggestions for what the user typed, best first (see the module comment). */
  suggest(prefix: string, options: SuggestOptions = {}): AddressSuggestion[] {
    const limit = Math.min(Math.max(0, Math.floor(options.first ?? DEFAULT_SUGGESTIONS)), CANDIDATE_CAP);
    const addressQuery = fold(prefix.trim());
    const wordQuery = nameQuery(prefix);
    if (limit === 0 || (addressQuery.length === 0 && wordQuery.length === 0)) return [];
    const shards = this.selectShards(options);
    if (shards.length === 0) return [];

    const picked: number[] = [];
    const taken = new Set<number>();
    for (const exact of [true, false]) {
      if (addressQuery.length > 0) {
        for (let cls = 0; cls < CLASS_COUNT && picked.length < limit; cls++) {
          this.mergeAddresses(shards, cls, addressQuery, exact, limit, picked, taken);
        }
      }
      if (wordQuery.length > 0 && picked.length < limit) {
        this.pickKeyed(shards, 'names', wordQuery, exact, limit, picked, taken);
      }
      if (addressQuery.length > 0 && picked.length < limit) {
        this.pickKeyed(shards, 'accounts', addressQuery, exact, limit, picked, taken);
      }
      if (picked.length >= limit) break;
    }
    return picked.map((s) => ({
      address: this.suggAddress[s] as string,
      principal: this.principals[this.suggOwner[s] as number] as PrincipalRecord,
    }));
  }

  private selectShards(options: SuggestOptions): Shard[] {
    let domain = -1;
    if (options.domain !== undefined && options.domain !== null) {
      const d = this.domains.get(fold(options.domain.trim()));
      if (d === undefined) return [];
      domain = d;
    }
    const kinds =
      options.kinds && options.kinds.length > 0 ? options.kinds.map((k) => PRINCIPAL_KINDS.indexOf(k)) : null;
    return this.shards.filter(
      (s) => (domain < 0 || s.domain === domain) && (kinds === null || kinds.includes(s.kind)),
    );
  }

  /** The address matches of one class, merged across shards in rank order. */
  private mergeAddresses(
    shards: readonly Shard[],
    cls: number,
    query: string,
    exact: boolean,
    limit: number,
    picked: number[],
    taken: Set<number>,
  ): void {
    const folded = this.suggFolded;
    const runs: Int32Array[] = [];
    const pos: number[] = [];
    for (const shard of shards) {
      const run = shard.addresses[cls] as Int32Array;
      let i = this.lowerBoundRun(run, query);
      // The exact matches lead the prefix range; the exact tier took them.
      if (!exact) while (i < run.length && folded[run[i] as number] === query) i++;
      runs.push(run);
      pos.push(i);
    }
    const matches = (s: number): boolean => {
      const f = folded[s] as string;
      return exact ? f === query : f.startsWith(query);
    };
    while (picked.length < limit) {
      let best = -1;
      let bestRun = -1;
      for (let r = 0; r < runs.length; r++) {
        const run = runs[r] as Int32Array;
        const i = pos[r] as number;
        if (i >= run.length) continue;
        const s = run[i] as number;
        if (!matches(s)) {
          pos[r] = run.length;
          continue;
        }
        if (best < 0 || s < best) {
          best = s;
          bestRun = r;
        }
      }
      if (best < 0) return;
      pos[bestRun] = (pos[bestRun] as number) + 1;
      if (!taken.has(best)) {
        taken.add(best);
        picked.push(best);
      }
    }
  }

  /** The name or account matches of one tier: collect up to the cap, then select the best. */
  private pickKeyed(
    shards: readonly Shard[],
    source: KeySourceName,
    query: string,
    exact: boolean,
    limit: number,
    picked: number[],
    taken: Set<number>,
  ): void {
    const need = limit - picked.length;
    const n = this.suggOwner.length;
    // Rank within a tier: class (rules 3 and 4), then suggestion number (rule 5).
    const score = (s: number): number => tierScore(this.suggClass[s] as number, s, n);
    // The best `need` candidates so far, ascending by score, without repeats.
    const best: number[] = [];
    let collected = 0;
    const consider = (s: number): void => {
      collected++;
      if (taken.has(s)) return;
      const sc = score(s);
      if (best.length === need && sc >= score(best[need - 1] as number)) return;
      let lo = 0;
      let hi = best.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (score(best[mid] as number) < sc) lo = mid + 1;
        else hi = mid;
      }
      if (best[lo] === s) return;
      best.splice(lo, 0, s);
      if (best.length > need) best.pop();
    };
    const addKey = (run: KeyedRun, k: number): void => {
      for (let j = run.offsets[k] as number; j < (run.offsets[k + 1] as number); j++) {
        const p = run.owners[j] as number;
        // Owners are sorted by their best score: once the selection is full
        // and this owner cannot beat its worst, no later owner of the key can.
        if (best.length === need && (this.ownerBest[p] as number) >= score(best[need - 1] as number)) return;
        for (let o = this.ownerOffsets[p] as number; o < (this.ownerOffsets[p + 1] as number); o++) {
          consider(this.ownerSuggs[o] as number);
        }
      }
    };
    // Enabled owners first, so that a capped range keeps them.
    for (let slot = 0; slot < 2 && collected < CANDIDATE_CAP; slot++) {
      for (const shard of shards) {
        const run = shard[source][slot] as KeyedRun;
        let k = lowerBound(run.keys, query);
        if (exact) {
          if (run.keys[k] === query) addKey(run, k);
          continue;
        }
        if (run.keys[k] === query) k++;
        while (
          k < run.keys.length &&
          (run.keys[k] as string).startsWith(query) &&
          collected < CANDIDATE_CAP
        ) {
          addKey(run, k);
          k++;
        }
      }
    }
    for (const s of best) {
      taken.add(s);
      picked.push(s);
    }
  }

  private lowerBoundRun(run: Int32Array, key: string): number {
    let lo = 0;
    let hi = run.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.suggFolded[run[mid] as number] as string) < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
