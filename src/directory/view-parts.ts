/**
 * What a directory view is made of, built whole (DirectoryView.create) or
 * patched from an earlier view (directory-view-patch.ts): the two produce
 * the same parts, and the view answers from them alike.
 */
import type { PrincipalKind, PrincipalRecord, SnapshotCounts, SnapshotMeta } from '../model/principal.js';
import type { AutocompleteIndex, Suggester } from './autocomplete/index.js';
import type { AccountHolders, DuplicateFinding } from './duplicate-detection.js';
import type { MembershipGraph } from './membership-graph.js';

export type KindLists = Readonly<Record<PrincipalKind, Int32Array>>;

/** Milliseconds each step of the build took on this thread, for logs and benchmarks. */
export interface BuildTimings {
  /** Collecting the snapshots and sorting them into display order. */
  readonly order: number;
  /** Starting the autocomplete index, and waiting for it at the end. */
  readonly autocomplete: number;
  readonly membership: number;
  readonly duplicates: number;
  /** From start to end, the yields between the steps included. */
  readonly total: number;
}

/** The last whole build, which patched views answer from beside what changed since. */
export interface ViewRoot {
  /** Its principals, numbered as its autocomplete index numbers them. */
  readonly principals: readonly PrincipalRecord[];
  /** Id → number. */
  readonly positionOf: ReadonlyMap<string, number>;
  readonly index: AutocompleteIndex;
  /** The holders of each Kerberos and NTLM name when it was built. */
  readonly accounts: AccountHolders;
  /**
   * Member ids that named no principal, with the ids of groups that listed
   * them: where a principal added later may be a member of an unchanged
   * group. A hint only, kept for the whole lineage and only added to
   * (patches add theirs): every use checks the group's current memberIds.
   */
  readonly unresolved: Map<string, string[]>;
}

/** How a view relates to its root. */
export interface Lineage {
  readonly root: ViewRoot;
  /** Root number → display position here; negative where the root's record is no longer served (changed or gone). */
  readonly rank: Int32Array;
  /** Ids of the records served here that are not the root's (new or changed since), → display position. */
  readonly overlay: ReadonlyMap<string, number>;
  /** How many root records are no longer served. */
  readonly dead: number;
  /** The mail domain of each connection the view was built with. */
  readonly connectionDomains: ReadonlyMap<string, string>;
}

export interface ViewParts {
  /** Built from every snapshot, or patched from an earlier view. */
  readonly build: 'whole' | 'patched';
  readonly metas: ReadonlyMap<string, SnapshotMeta>;
  readonly counts: ReadonlyMap<string, SnapshotCounts>;
  /** In display order (folded display name, then id). */
  readonly principals: readonly PrincipalRecord[];
  readonly sortNames: readonly string[];
  /** Id → display position. */
  readonly indexOf: (id: string) => number | undefined;
  readonly kindLists: KindLists;
  readonly connectionLists: ReadonlyMap<string, KindLists>;
  readonly suggester: Suggester;
  readonly graph: MembershipGraph;
  readonly findings: readonly DuplicateFinding[];
  /** Each finding's folded value, once a patch has known them (a whole build leaves them to the first patch). */
  readonly findingKeys: readonly string[] | null;
  readonly timings: BuildTimings;
  readonly lineage: Lineage;
  /** What list() searches in, per display position, when already known. */
  readonly searchTexts: string[] | null;
}
