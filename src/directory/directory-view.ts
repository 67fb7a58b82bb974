/**
 * The directory cache as GraphQL reads it: every connection's last good
 * snapshot, with the indexes built once when a snapshot is swapped in.
 * A view never changes; swapping a snapshot builds a new view and replaces
 * the reference, so a request that holds a view sees one consistent cache.
 * The new view is built whole (create) or, after an incremental run, patched
 * from the one before (patched, directory-view-patch.ts): the same answers.
 *
 * Principals are numbered in display order (folded display name, then id);
 * every list here (kind lists, members, memberOf) is therefore an ascending
 * Int32Array and pages are binary searches in it.
 *
 * Search in list(): a case-insensitive substring of the display name, any
 * address, the sAMAccountName or the userPrincipalName. Substring rather
 * than prefix because an administrator looking for "mueller" expects
 * "anna.mueller@..." too. It is a filtered scan of the kind's list; its
 * result is memoized so that the following pages do not scan again.
 */
import { setImmediate } from 'node:timers/promises';
import type { DuplicateKind } from '../model/finding.js';
import {
  countSnapshot,
  type PrincipalKind,
  type PrincipalRecord,
  principalId,
  type Snapshot,
  type SnapshotCounts,
  type SnapshotMeta,
} from '../model/principal.js';
import {
  type AddressSuggestion,
  AutocompleteIndex,
  type AutocompleteWorker,
  buildAutocomplete,
  type Suggester,
  type SuggestOptions,
} from './autocomplete/index.js';
import { lowerBound } from './binary-search.js';
import { BoundedCache } from './bounded-cache.js';
import { compareKeys, decodeCursor, encodeCursor, pageSize, sortName } from './cursor.js';
import { patchParts, searchText, type ViewPatch } from './directory-view-patch.js';
import {
  type AccountHolders,
  consequences,
  type DuplicateConsequences,
  type DuplicateFinding,
  type PrincipalConsequences,
  type SharedAddresses,
  scanDuplicates,
} from './duplicate-detection.js';
import { fold, nameQuery } from './fold.js';
import { MembershipGraph } from './membership-graph.js';
import type { BuildTimings, KindLists, ViewParts } from './view-parts.js';

export interface DirectoryViewInput {
  /** One snapshot per connection; a later snapshot of the same connection replaces an earlier one. */
  readonly snapshots: readonly Snapshot[];
  /** The mail domain each connection serves. */
  readonly connectionDomains: ReadonlyMap<string, string>;
}

interface PageInfo {
  readonly endCursor: string | null;
  readonly hasNextPage: boolean;
}

interface Page<T> {
  readonly nodes: readonly T[];
  readonly pageInfo: PageInfo;
  readonly totalCount: number;
}

interface ListOptions {
  readonly connectionId?: string | null;
  readonly search?: string | null;
  /** Page size (default 50). */
  readonly first?: number | null;
  readonly after?: string | null;
}

interface AddressInfo {
  readonly address: string;
  readonly principals: readonly PrincipalRecord[];
  readonly duplicated: boolean;
  readonly personalBackupAllowed: boolean;
  readonly personalListsAllowed: boolean;
}

type BuildStep = Exclude<keyof BuildTimings, 'total'>;

const DEFAULT_LIST_PAGE = 50;
const DEFAULT_MEMBER_PAGE = 100;
const NO_COUNTS: SnapshotCounts = Object.freeze({ users: 0, groups: 0, contacts: 0, addresses: 0 });
const EMPTY = new Int32Array(0);
const NO_OVERLAPS: ReadonlyMap<string, number> = new Map();
/** Principal numbers kept across memoized search results. */
const SEARCH_CACHE_BUDGET = 2_000_000;
/** Suggestions kept across memoized autocomplete answers (about 20,000 prefixes of 10). */
const SUGGESTION_CACHE_BUDGET = 200_000;

let empty: DirectoryView | null = null;

export class DirectoryView {
  readonly findings: readonly DuplicateFinding[];
  readonly timings: BuildTimings;
  /** Built from every snapshot (create), or patched from an earlier view (patched). */
  readonly build: 'whole' | 'patched';
  private readonly principals: readonly PrincipalRecord[];
  private readonly sortNames: readonly string[];
  private readonly indexOf: (id: string) => number | undefined;
  /** Ascending principal numbers per kind, and per connection and kind. */
  private readonly kindLists: KindLists;
  private readonly connectionLists: ReadonlyMap<string, KindLists>;
  private readonly metas: ReadonlyMap<string, SnapshotMeta>;
  private readonly countsByConnection: ReadonlyMap<string, SnapshotCounts>;
  private readonly autocompleteIndex: Suggester;
  private readonly graph: MembershipGraph;
  private readonly duplicateConsequences: DuplicateConsequences;
  private readonly suggestionCache = new BoundedCache<string, AddressSuggestion[]>(
    SUGGESTION_CACHE_BUDGET,
    (l) => l.length + 1,
  );
  private readonly searchCache = new BoundedCache<string, Int32Array>(
    SEARCH_CACHE_BUDGET,
    (l) => l.length + 16,
  );
  private searchTexts: string[] | null;
  private overlapTable: ReadonlyMap<string, ReadonlyMap<string, number>> | null = null;

  private constructor(private readonly parts: ViewParts) {
    this.findings = parts.findings;
    this.timings = parts.timings;
    this.build = parts.build;
    this.principals = parts.principals;
    this.sortNames = parts.sortNames;
    this.indexOf = parts.indexOf;
    this.kindLists = parts.kindLists;
    this.connectionLists = parts.connectionLists;
    this.metas = parts.metas;
    this.countsByConnection = parts.counts;
    this.autocompleteIndex = parts.suggester;
    this.graph = parts.graph;
    this.searchTexts = parts.searchTexts;
    this.duplicateConsequences = consequences(parts.findings);
  }

  /**
   * Builds the view of the snapshots. Its autocomplete index is built on
   * `worker` as well when it is large (autocomplete/build-autocomplete.ts);
   * this thread meanwhile sorts, builds the membership graph and compares
   * names, and yields between these steps so that other work gets through:
   * requests served from the current view, and during a sync the snapshot
   * being written, whose chunks wait for this thread to hand them to SQLite.
   */
  static async create(input: DirectoryViewInput, worker?: AutocompleteWorker): Promise<DirectoryView> {
    const started = performance.now();
    const spent: Record<BuildStep, number> = { order: 0, autocomplete: 0, membership: 0, duplicates: 0 };
    const step = <T>(name: BuildStep, work: () => T): T => {
      const t = performance.now();
      const result = work();
      spent[name] += performance.now() - t;
      return result;
    };

    const collected = step('order', () => collect(input));
    const indexing = step('autocomplete', () =>
      buildAutocomplete(
        {
          principals: collected.all,
          foldedNames: collected.names,
          connectionDomain: (c) => input.connectionDomains.get(c),
        },
        worker,
      ),
    );
    // Handled at once: should a step below throw, the index's outcome is no unhandled rejection.
    indexing.catch(() => {});
    await setImmediate();
    const order = step('order', () => displayOrder(collected));
    await setImmediate();
    const unresolved = new Map<string, string[]>();
    const graph = step('membership', () =>
      MembershipGraph.build(order.principals, order.indexOf, (memberId, g) => {
        const groupId = (order.principals[g] as PrincipalRecord).id;
        const groups = unresolved.get(memberId);
        if (groups === undefined) unresolved.set(memberId, [groupId]);
        else groups.push(groupId);
      }),
    );
    await setImmediate();
    // The names are folded for the display order already; the addresses come with the index.
    const netbios = (c: string) => collected.metas.get(c)?.netbiosName ?? null;
    const scan = step('duplicates', () => scanDuplicates(order.principals, netbios, order.sortNames));
    const waiting = performance.now();
    const index = await indexing;
    spent.autocomplete += performance.now() - waiting;
    const findings = step('duplicates', () =>
      scan.findings(inDisplayOrder(index.sharedAddresses(), order.rank)),
    );

    const timings = { ...spent, total: performance.now() - started };
    return new DirectoryView(
      wholeParts({
        collected,
        order,
        index,
        graph,
        findings,
        timings,
        unresolved,
        connectionDomains: input.connectionDomains,
        accounts: scan.accountHolders(),
      }),
    );
  }

  /**
   * This view with one connection's snapshot replaced by `patch.next`, which
   * an incremental run derived from the snapshot this view holds for it
   * (`patch.change` says how): what create() would build over the new
   * snapshots, patched in a time that follows the change
   * (directory-view-patch.ts). Null when it cannot be patched, or would
   * better be built whole: then create() builds it.
   */
  patched(patch: ViewPatch): DirectoryView | null {
    const parts = patchParts({ ...this.parts, searchTexts: this.searchTexts }, patch);
    return parts === null ? null : new DirectoryView(parts);
  }

  /**
   * The view of an empty cache, before the first snapshot is loaded: what
   * create() builds of no snapshots, at once (a unit test holds the two alike).
   */
  static empty(): DirectoryView {
    if (empty === null) {
      const collected = collect({ snapshots: [], connectionDomains: new Map() });
      const order = displayOrder(collected);
      empty = new DirectoryView(
        wholeParts({
          collected,
          order,
          index: AutocompleteIndex.empty(),
          graph: MembershipGraph.build(order.principals, order.indexOf),
          findings: [],
          timings: { order: 0, autocomplete: 0, membership: 0, duplicates: 0, total: 0 },
          unresolved: new Map(),
          connectionDomains: new Map(),
          accounts: () => [],
        }),
      );
    }
    return empty;
  }

  /** Principals held, across connections. */
  get size(): number {
    return this.principals.length;
  }

  connectionIds(): string[] {
    return [...this.metas.keys()];
  }

  /** The metadata of the connection's snapshot in this view (run, time, NetBIOS name, counts as synced). */
  snapshotMeta(connectionId: string): SnapshotMeta | null {
    return this.metas.get(connectionId) ?? null;
  }

  /** Counts of what this view holds for the connection (zeros when it holds none). */
  counts(connectionId: string): SnapshotCounts {
    return this.countsByConnection.get(connectionId) ?? NO_COUNTS;
  }

  byId(id: string): PrincipalRecord | null {
    const i = this.indexOf(id);
    return i === undefined ? null : (this.principals[i] as PrincipalRecord);
  }

  /** Every principal receiving mail at the address (folded comparison), sorted by address spelling then id. */
  byEmail(address: string): PrincipalRecord[] {
    return this.autocompleteIndex.owners(address);
  }

  /** One page of one kind, in display order; see the module comment for search. */
  list(kind: PrincipalKind, options: ListOptions = {}): Page<PrincipalRecord> {
    const first = pageSize(options.first, DEFAULT_LIST_PAGE);
    const base = options.connectionId
      ? (this.connectionLists.get(options.connectionId)?.[kind] ?? EMPTY)
      : this.kindLists[kind];
    const query = options.search ? fold(options.search.trim()) : '';
    const list =
      query.length > 0 ? this.search(base, `${kind}\u0000${options.connectionId ?? ''}`, query) : base;
    return this.page(list, first, options.after ?? null);
  }

  /**
   * Suggestions are memoized per view (a view never changes): people type
   * the same short prefixes over and over, and those are the dearest to rank.
   */
  autocomplete(prefix: string, options: SuggestOptions = {}): AddressSuggestion[] {
    const key = [
      options.first ?? '',
      options.kinds ? [...options.kinds].sort().join(',') : '',
      options.domain ? fold(options.domain.trim()) : '',
      fold(prefix.trim()),
      nameQuery(prefix),
    ].join('\u0000');
    const cached = this.suggestionCache.get(key);
    if (cached !== undefined) return cached;
    const result = this.autocompleteIndex.suggest(prefix, options);
    this.suggestionCache.set(key, result);
    return result;
  }

  /** Groups the principal belongs to, in display order; transitive follows nesting. Unknown id: none. */
  memberOf(id: string, transitive = false): PrincipalRecord[] {
    const i = this.indexOf(id);
    if (i === undefined) return [];
    return this.records(this.graph.parents(i, transitive));
  }

  /** A page of the group's members, in display order. Unknown id or not a group: an empty page. */
  members(
    groupId: string,
    transitive = false,
    first: number | null = DEFAULT_MEMBER_PAGE,
    after: string | null = null,
  ): Page<PrincipalRecord> {
    const size = pageSize(first, DEFAULT_MEMBER_PAGE);
    const g = this.indexOf(groupId);
    const list = g === undefined ? EMPTY : this.graph.members(g, transitive);
    return this.page(list, size, after);
  }

  /** Whether any principal receiving mail at the address is a member of the group, directly or nested. */
  isMember(address: string, groupId: string): boolean {
    const g = this.indexOf(groupId);
    if (g === undefined) return false;
    return this.byEmail(address).some((p) => this.graph.isMember(this.indexOf(p.id) as number, g));
  }

  /** Findings, optionally of one kind and/or involving one connection. */
  findingsFor(
    filter: { kind?: DuplicateKind | null; connectionId?: string | null } = {},
  ): DuplicateFinding[] {
    return this.findings.filter(
      (f) =>
        (!filter.kind || f.kind === filter.kind) &&
        (!filter.connectionId ||
          f.principalIds.some((id) => this.byId(id)?.connectionId === filter.connectionId)),
    );
  }

  /**
   * The other connections of this view that read some of the same directory
   * objects as this one (the same objectGUID/entryUUID under both: their
   * search bases overlap), each with how many, by connection id. Computed on
   * the first call only: most views are never asked.
   */
  overlaps(connectionId: string): ReadonlyMap<string, number> {
    if (this.overlapTable === null) {
      this.overlapTable = overlapsOf(this.principals, this.connectionLists, this.indexOf);
    }
    return this.overlapTable.get(connectionId) ?? NO_OVERLAPS;
  }

  consequencesFor(id: string): PrincipalConsequences {
    return this.duplicateConsequences.forPrincipal(id);
  }

  /** What the cache knows of the address; null when no object receives mail at it. */
  addressInfo(address: string): AddressInfo | null {
    const principals = this.byEmail(address);
    if (principals.length === 0) return null;
    return { address, principals, ...this.duplicateConsequences.addressInfo(address) };
  }

  private records(list: Int32Array): PrincipalRecord[] {
    return Array.from(list, (i) => this.principals[i] as PrincipalRecord);
  }

  private page(list: Int32Array, first: number, after: string | null): Page<PrincipalRecord> {
    let start = 0;
    if (after) {
      const key = decodeCursor(after);
      // The first principal that sorts after the cursor's.
      start = lowerBound(list.length, (j) => {
        const i = list[j] as number;
        const id = (this.principals[i] as PrincipalRecord).id;
        return compareKeys(this.sortNames[i] as string, id, key.name, key.id) <= 0;
      });
    }
    const slice = list.subarray(start, start + first);
    const nodes = this.records(slice);
    const last = slice.length > 0 ? (slice[slice.length - 1] as number) : -1;
    return {
      nodes,
      pageInfo: {
        endCursor:
          last < 0
            ? null
            : encodeCursor({
                name: this.sortNames[last] as string,
                id: (this.principals[last] as PrincipalRecord).id,
              }),
        hasNextPage: start + slice.length < list.length,
      },
      totalCount: list.length,
    };
  }

  private search(base: Int32Array, scope: string, query: string): Int32Array {
    const key = `${scope}\u0000${query}`;
    const cached = this.searchCache.get(key);
    if (cached !== undefined) return cached;
    const texts = this.searchTextsOnce();
    const found = base.filter((i) => (texts[i] as string).includes(query));
    this.searchCache.set(key, found);
    return found;
  }

  /** Built on the first search only: most views are never searched. */
  private searchTextsOnce(): string[] {
    if (this.searchTexts === null) {
      this.searchTexts = this.principals.map((p, i) => searchText(p, this.sortNames[i] as string));
    }
    return this.searchTexts;
  }
}

/** The first step of a build: the latest snapshot per connection, each id once. */
interface Collected {
  readonly metas: ReadonlyMap<string, SnapshotMeta>;
  readonly counts: ReadonlyMap<string, SnapshotCounts>;
  /** Every principal, in snapshot order, and each one's fold(displayName.trim()). */
  readonly all: readonly PrincipalRecord[];
  readonly names: readonly string[];
  /** Id → position in `all`. */
  readonly positionOf: ReadonlyMap<string, number>;
}

function collect(input: DirectoryViewInput): Collected {
  const latest = new Map<string, Snapshot>();
  for (const snapshot of input.snapshots) latest.set(snapshot.meta.connectionId, snapshot);
  // An id seen twice keeps its first record. One hash table for both the
  // deduplication and the lookup by id (its positions are translated through
  // the display order's `rank`).
  const positionOf = new Map<string, number>();
  const all: PrincipalRecord[] = [];
  const counts = new Map<string, SnapshotCounts>();
  for (const [connectionId, snapshot] of latest) {
    const own: PrincipalRecord[] = [];
    for (const p of snapshot.principals) {
      if (positionOf.has(p.id)) continue;
      positionOf.set(p.id, all.length);
      own.push(p);
      all.push(p);
    }
    counts.set(connectionId, countSnapshot(own));
  }
  return {
    metas: new Map([...latest].map(([id, s]) => [id, s.meta])),
    counts,
    all,
    names: all.map((p) => sortName(p.displayName)),
    positionOf,
  };
}

/** The second step: the principals in display order (folded display name, then id), and the lists. */
interface DisplayOrder {
  readonly principals: readonly PrincipalRecord[];
  readonly sortNames: readonly string[];
  /** Position in `Collected.all` (and in the autocomplete index) → display position. */
  readonly rank: Int32Array;
  /** Id → display position. */
  readonly indexOf: (id: string) => number | undefined;
  readonly kindLists: Readonly<Record<PrincipalKind, Int32Array>>;
  readonly connectionLists: ReadonlyMap<string, Readonly<Record<PrincipalKind, Int32Array>>>;
}

function displayOrder(collected: Collected): DisplayOrder {
  const { all, names } = collected;
  const order = Array.from({ length: all.length }, (_, i) => i);
  order.sort((a, b) =>
    compareKeys(
      names[a] as string,
      (all[a] as PrincipalRecord).id,
      names[b] as string,
      (all[b] as PrincipalRecord).id,
    ),
  );
  const principals = order.map((i) => all[i] as PrincipalRecord);
  const sortNames = order.map((i) => names[i] as string);
  const rank = new Int32Array(all.length);
  for (let i = 0; i < order.length; i++) rank[order[i] as number] = i;
  const byKind = kindLists();
  const byConnection = new Map<string, Record<PrincipalKind, number[]>>();
  for (let i = 0; i < principals.length; i++) {
    const p = principals[i] as PrincipalRecord;
    byKind[p.kind].push(i);
    let own = byConnection.get(p.connectionId);
    if (own === undefined) {
      own = kindLists();
      byConnection.set(p.connectionId, own);
    }
    own[p.kind].push(i);
  }
  return {
    principals,
    sortNames,
    rank,
    indexOf: (id) => {
      const at = collected.positionOf.get(id);
      return at === undefined ? undefined : rank[at];
    },
    kindLists: freezeLists(byKind),
    connectionLists: new Map([...byConnection].map(([c, lists]) => [c, freezeLists(lists)])),
  };
}

function kindLists(): Record<PrincipalKind, number[]> {
  return { USER: [], GROUP: [], CONTACT: [] };
}

function freezeLists(lists: Record<PrincipalKind, number[]>): Record<PrincipalKind, Int32Array> {
  return {
    USER: Int32Array.from(lists.USER),
    GROUP: Int32Array.from(lists.GROUP),
    CONTACT: Int32Array.from(lists.CONTACT),
  };
}

/** The index's shared addresses, its principal numbers (positions in `Collected.all`) made display positions. */
function* inDisplayOrder(shared: SharedAddresses, rank: Int32Array): Generator<[string, number[]]> {
  for (const [key, positions] of shared) {
    yield [key, positions.map((at) => rank[at] as number).sort((a, b) => a - b)];
  }
}

/**
 * Per connection, the other connections holding some of its objects (the
 * same objectGUID/entryUUID, as the directory spells it: one directory
 * spells an object's id one way), with how many objects each pair shares.
 * For each pair, the smaller connection's objects are looked up by id in
 * the larger one: no table of every GUID, and no cost beyond the lookups
 * when no connections overlap.
 */
function overlapsOf(
  principals: readonly PrincipalRecord[],
  connectionLists: ReadonlyMap<string, Readonly<Record<PrincipalKind, Int32Array>>>,
  indexOf: (id: string) => number | undefined,
): Map<string, Map<string, number>> {
  const sizeOf = (lists: Readonly<Record<PrincipalKind, Int32Array>>) =>
    lists.USER.length + lists.GROUP.length + lists.CONTACT.length;
  const connections = [...connectionLists].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const table = new Map<string, Map<string, number>>();
  const note = (a: string, b: string, shared: number) => {
    let own = table.get(a);
    if (own === undefined) {
      own = new Map();
      table.set(a, own);
    }
    own.set(b, shared);
  };
  for (let x = 0; x < connections.length; x++) {
    for (let y = x + 1; y < connections.length; y++) {
      const [a, aLists] = connections[x] as [string, Readonly<Record<PrincipalKind, Int32Array>>];
      const [b, bLists] = connections[y] as [string, Readonly<Record<PrincipalKind, Int32Array>>];
      const [small, other] = sizeOf(aLists) <= sizeOf(bLists) ? [aLists, b] : [bLists, a];
      let shared = 0;
      for (const list of [small.USER, small.GROUP, small.CONTACT]) {
        for (const i of list) {
          const guid = (principals[i] as PrincipalRecord).guid;
          if (guid && indexOf(principalId(other, guid)) !== undefined) shared++;
        }
      }
      if (shared > 0) {
        note(a, b, shared);
        note(b, a, shared);
      }
    }
  }
  return table;
}

/** What a whole build is made of. */
interface WholeBuild {
  readonly collected: Collected;
  readonly order: DisplayOrder;
  readonly index: AutocompleteIndex;
  readonly graph: MembershipGraph;
  readonly findings: readonly DuplicateFinding[];
  readonly timings: BuildTimings;
  readonly unresolved: Map<string, string[]>;
  readonly connectionDomains: ReadonlyMap<string, string>;
  readonly accounts: AccountHolders;
}

/** The parts of a whole build, which is its own root. */
function wholeParts(build: WholeBuild): ViewParts {
  const { collected, order } = build;
  return {
    build: 'whole',
    metas: collected.metas,
    counts: collected.counts,
    principals: order.principals,
    sortNames: order.sortNames,
    indexOf: order.indexOf,
    kindLists: order.kindLists,
    connectionLists: order.connectionLists,
    suggester: build.index,
    graph: build.graph,
    findings: build.findings,
    findingKeys: null,
    timings: build.timings,
    lineage: {
      root: {
        principals: collected.all,
        positionOf: collected.positionOf,
        index: build.index,
        accounts: build.accounts,
        unresolved: build.unresolved,
      },
      rank: order.rank,
      overlay: new Map(),
      dead: 0,
      connectionDomains: build.connectionDomains,
    },
    searchTexts: null,
  };
}
