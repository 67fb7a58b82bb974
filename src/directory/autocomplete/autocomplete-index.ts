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
 * sorting. Past the cap (a one-letter prefix over a large directory, and only
 * when the address tiers above gave fewer than `first` results) the answer
 * is still only real matches of that tier, best ranked among the first
 * CANDIDATE_CAP in key order.
 *
 * Memory: suggestions are typed arrays plus the address strings the
 * snapshot already holds (folded copies only where folding changes them);
 * keys are shared by all owners of a word.
 *
 * The build is in index-halves.ts (build-autocomplete.ts says which thread
 * builds what); assemble() takes its result.
 */
import { PRINCIPAL_KINDS, type PrincipalKind, type PrincipalRecord } from '../../model/principal.js';
import { lowerBound } from '../binary-search.js';
import { fold, nameQuery } from '../fold.js';
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
} from './index-halves.js';

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

const DEFAULT_SUGGESTIONS = 10;
/** Most suggestions ranked per name or account tier of one query. */
export const CANDIDATE_CAP = 5000;

export interface Shard {
  readonly domain: number;
  readonly kind: number;
  /** Per address class: ascending suggestion numbers. */
  readonly addresses: readonly Int32Array[];
  /** [enabled owners, disabled owners]. */
  readonly names: readonly KeyedRun[];
  readonly accounts: readonly KeyedRun[];
}

export class AutocompleteIndex {
  /** Every key of each source, sorted (mayMatch). */
  private keysBySource: Readonly<Record<QueryTier['source'], readonly string[]>> | null = null;

  private constructor(
    private readonly principals: readonly PrincipalRecord[],
    /** Per suggestion, in rule-5 order: owner, spelling, folded address, class. */
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

  /** The index of no principals. */
  static empty(): AutocompleteIndex {
    return AutocompleteIndex.assemble([], [], buildHalves(autocompleteSources([], [], () => null)));
  }

  /**
   * The index over `principals` from its two halves (index-halves.ts), built
   * from the principals in the same order. The halves' typed arrays are taken
   * over, not copied.
   */
  static assemble(
    principals: readonly PrincipalRecord[],
    domains: AutocompleteSources['domains'],
    halves: AutocompleteHalves,
  ): AutocompleteIndex {
    const { addresses, keys } = halves;
    const n = addresses.suggOwner.length;
    const suggOwner = addresses.suggOwner;
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
      addresses.ownerBest,
      shards,
      new Map(domains),
    );
  }

  /**
   * Every folded address that more than one principal has, with their
   * numbers (positions in the build's input) ascending: runs of equal keys
   * in the sorted suggestions (one principal has a folded address once).
   * Duplicate detection takes its address duplicates from here instead of
   * hashing every address again.
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
    const suggFolded = this.suggFolded;
    const first = lowerBound(suggFolded.length, (s) => (suggFolded[s] as string) < folded);
    for (let s = first; suggFolded[s] === folded; s++) {
      out.push(this.principals[this.suggOwner[s] as number] as PrincipalRecord);
    }
    return out;
  }

  /** The suggestions for what the user typed, best first (see the module comment). */
  suggest(prefix: string, options: SuggestOptions = {}): AddressSuggestion[] {
    const query = suggestQuery(prefix, options);
    if (query === null) return [];
    const shards = this.selectShards(options);
    if (shards.length === 0) return [];
    return this.suggestIn(query, shards, null);
  }

  /** The suggestions of the query in these shards, leaving out owners p with `live[p] < 0`. */
  suggestIn(query: SuggestQuery, shards: readonly Shard[], live: Int32Array | null): AddressSuggestion[] {
    const picked = new Picked(query.limit);
    for (const tier of tiersOf(query)) {
      if (picked.full) break;
      for (const s of this.tierPicks(tier, query, shards, picked.taken, picked.room, live)) picked.add(s);
    }
    return picked.list.map((s) => this.suggestion(s));
  }

  /** Suggestion s as served. */
  suggestion(s: number): AddressSuggestion {
    return {
      address: this.suggAddress[s] as string,
      principal: this.principals[this.suggOwner[s] as number] as PrincipalRecord,
    };
  }

  /**
   * For an answer layered over several indexes (layered-autocomplete.ts):
   * the shards a query reads, or null when it reads none.
   */
  shardsFor(options: SuggestOptions): readonly Shard[] | null {
    const shards = this.selectShards(options);
    return shards.length === 0 ? null : shards;
  }

  /**
   * The best `room` suggestions of one tier, best first, leaving out those
   * in `taken` and those whose owner p has `live[p] < 0` (owners another
   * layer answers for); `live` null: every owner.
   */
  tierPicks(
    tier: QueryTier,
    query: SuggestQuery,
    shards: readonly Shard[],
    taken: ReadonlySet<number>,
    room: number,
    live: Int32Array | null,
  ): number[] {
    if (room <= 0) return [];
    if (tier.source === 'addresses') {
      return this.mergeAddresses(shards, tier.exact, taken, room, live, query.address, tier.cls);
    }
    const text = tier.source === 'names' ? query.words : query.address;
    return this.pickKeyed(shards, tier.exact, taken, room, live, tier.source, text);
  }

  /** Compares two suggestions of an address tier, each of its own index: rule 5 (folded address, spelling, owner id). */
  static compareAddresses(a: AutocompleteIndex, s: number, b: AutocompleteIndex, t: number): number {
    const fa = a.suggFolded[s] as string;
    const fb = b.suggFolded[t] as string;
    if (fa !== fb) return fa < fb ? -1 : 1;
    const sa = a.suggAddress[s] as string;
    const sb = b.suggAddress[t] as string;
    if (sa !== sb) return sa < sb ? -1 : 1;
    const ia = (a.principals[a.suggOwner[s] as number] as PrincipalRecord).id;
    const ib = (b.principals[b.suggOwner[t] as number] as PrincipalRecord).id;
    return ia < ib ? -1 : ia > ib ? 1 : 0;
  }

  /** Compares two suggestions of a name or account tier, each of its own index: class, then rule 5. */
  static compareKeyed(a: AutocompleteIndex, s: number, b: AutocompleteIndex, t: number): number {
    const ca = a.suggClass[s] as number;
    const cb = b.suggClass[t] as number;
    if (ca !== cb) return ca - cb;
    return AutocompleteIndex.compareAddresses(a, s, b, t);
  }

  /**
   * The suggestions of the folded address, in rule-5 order (spelling, then
   * owner id), leaving out owners p with `live[p] < 0`.
   */
  addressSuggestions(folded: string, live: Int32Array | null = null): number[] {
    const out: number[] = [];
    if (folded.length === 0) return out;
    const suggFolded = this.suggFolded;
    const first = lowerBound(suggFolded.length, (s) => (suggFolded[s] as string) < folded);
    for (let s = first; suggFolded[s] === folded; s++) {
      if (live === null || (live[this.suggOwner[s] as number] as number) >= 0) out.push(s);
    }
    return out;
  }

  /**
   * Which tiers of the query may find anything here at all: by addresses,
   * name keys, account keys (some start with what the query matches them
   * by). A layered answer skips the tiers of a small overlay that cannot
   * add anything, with a binary search each. The sorted keys are made on
   * the first call; meant for small indexes.
   */
  mayMatch(query: SuggestQuery): Readonly<Record<QueryTier['source'], boolean>> {
    if (this.keysBySource === null) {
      const names = new Set<string>();
      const accounts = new Set<string>();
      for (const shard of this.shards) {
        for (const run of shard.names) for (const key of run.keys) names.add(key);
        for (const run of shard.accounts) for (const key of run.keys) accounts.add(key);
      }
      // suggFolded is sorted already (rule 5 starts with it).
      this.keysBySource = {
        addresses: this.suggFolded,
        names: [...names].sort(),
        accounts: [...accounts].sort(),
      };
    }
    const { addresses, names, accounts } = this.keysBySource;
    return {
      addresses: startsAny(addresses, query.address),
      names: startsAny(names, query.words),
      accounts: startsAny(accounts, query.address),
    };
  }

  /** The principal number (position in the build's input) of suggestion s's owner. */
  ownerOf(s: number): number {
    return this.suggOwner[s] as number;
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
    exact: boolean,
    taken: ReadonlySet<number>,
    room: number,
    live: Int32Array | null,
    query: string,
    cls: number,
  ): number[] {
    const folded = this.suggFolded;
    const out: number[] = [];
    const runs: Int32Array[] = [];
    const pos: number[] = [];
    for (const shard of shards) {
      const run = shard.addresses[cls] as Int32Array;
      let i = lowerBound(run.length, (r) => (folded[run[r] as number] as string) < query);
      // The exact matches lead the prefix range; the exact tier took them.
      if (!exact) while (i < run.length && folded[run[i] as number] === query) i++;
      runs.push(run);
      pos.push(i);
    }
    const matches = (s: number): boolean => {
      const f = folded[s] as string;
      return exact ? f === query : f.startsWith(query);
    };
    while (out.length < room) {
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
      if (best < 0) break;
      pos[bestRun] = (pos[bestRun] as number) + 1;
      if (taken.has(best)) continue;
      if (live !== null && (live[this.suggOwner[best] as number] as number) < 0) continue;
      out.push(best);
    }
    return out;
  }

  /** The name or account matches of one tier: collect up to the cap, then select the best. */
  private pickKeyed(
    shards: readonly Shard[],
    exact: boolean,
    taken: ReadonlySet<number>,
    room: number,
    live: Int32Array | null,
    source: KeySourceName,
    query: string,
  ): number[] {
    const need = room;
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
      const at = lowerBound(best.length, (i) => score(best[i] as number) < sc);
      if (best[at] === s) return;
      best.splice(at, 0, s);
      if (best.length > need) best.pop();
    };
    const addKey = (run: KeyedRun, k: number): void => {
      for (let j = run.offsets[k] as number; j < (run.offsets[k + 1] as number); j++) {
        const p = run.owners[j] as number;
        // Owners are sorted by their best score: once the selection is full
        // and this owner cannot beat its worst, no later owner of the key can.
        if (best.length === need && (this.ownerBest[p] as number) >= score(best[need - 1] as number)) return;
        if (live !== null && (live[p] as number) < 0) continue;
        for (let o = this.ownerOffsets[p] as number; o < (this.ownerOffsets[p + 1] as number); o++) {
          consider(this.ownerSuggs[o] as number);
        }
      }
    };
    // Enabled owners first, so that a capped range keeps them.
    for (let slot = 0; slot < 2 && collected < CANDIDATE_CAP; slot++) {
      for (const shard of shards) {
        const run = shard[source][slot] as KeyedRun;
        const keys = run.keys;
        let k = lowerBound(keys.length, (i) => (keys[i] as string) < query);
        if (exact) {
          if (keys[k] === query) addKey(run, k);
          continue;
        }
        if (keys[k] === query) k++;
        while (k < keys.length && (keys[k] as string).startsWith(query) && collected < CANDIDATE_CAP) {
          addKey(run, k);
          k++;
        }
      }
    }
    return best;
  }
}

/** Whether some of the sorted keys start with q (a non-empty q). */
function startsAny(keys: readonly string[], q: string): boolean {
  if (q.length === 0) return false;
  const at = lowerBound(keys.length, (i) => (keys[i] as string) < q);
  return at < keys.length && (keys[at] as string).startsWith(q);
}

/** What a query asks, normalized once for every index it reads. */
export interface SuggestQuery {
  readonly limit: number;
  /** fold(prefix.trim()): what addresses and account names are matched by. */
  readonly address: string;
  /** nameQuery(prefix): what name words are matched by. */
  readonly words: string;
}

/** The query, or null when it asks for nothing. */
export function suggestQuery(prefix: string, options: SuggestOptions): SuggestQuery | null {
  const limit = Math.min(Math.max(0, Math.floor(options.first ?? DEFAULT_SUGGESTIONS)), CANDIDATE_CAP);
  const address = fold(prefix.trim());
  const words = nameQuery(prefix);
  if (limit === 0 || (address.length === 0 && words.length === 0)) return null;
  return { limit, address, words };
}

/** One tier of a query: exact or prefix matches of one address class, of names or of account names. */
export interface QueryTier {
  readonly exact: boolean;
  readonly source: 'addresses' | KeySourceName;
  /** The address class, for address tiers. */
  readonly cls: number;
}

function tierList(addresses: boolean, names: boolean): readonly QueryTier[] {
  const tiers: QueryTier[] = [];
  for (const exact of [true, false]) {
    if (addresses)
      for (let cls = 0; cls < CLASS_COUNT; cls++) tiers.push({ exact, source: 'addresses', cls });
    if (names) tiers.push({ exact, source: 'names', cls: 0 });
    if (addresses) tiers.push({ exact, source: 'accounts', cls: 0 });
  }
  return tiers;
}

/** The tier lists, made once: [address and names, addresses only, names only]. */
const TIERS = [tierList(true, true), tierList(true, false), tierList(false, true)] as const;

/** The tiers of a query in rank order (rules 1 and 2, and 3-4 for addresses). */
export function tiersOf(query: SuggestQuery): readonly QueryTier[] {
  if (query.words.length === 0) return TIERS[1];
  return query.address.length === 0 ? TIERS[2] : TIERS[0];
}

/** The suggestions picked for one query, best first, each once, up to its limit. */
class Picked {
  readonly list: number[] = [];
  readonly taken = new Set<number>();

  constructor(private readonly limit: number) {}

  get full(): boolean {
    return this.list.length >= this.limit;
  }

  /** How many more fit. */
  get room(): number {
    return this.limit - this.list.length;
  }

  add(s: number): void {
    if (this.taken.has(s)) return;
    this.taken.add(s);
    this.list.push(s);
  }
}
