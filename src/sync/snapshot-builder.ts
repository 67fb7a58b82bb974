/**
 * Turns what a sync read into a snapshot: addresses computed, disabled
 * accounts marked, group members resolved from DNs to the ids of objects
 * the same snapshot holds. Pure; the engine feeds it page by page so that
 * building overlaps reading.
 */
import { computeEmails } from '../ldap/index.js';
import type { RawEntry } from '../ldap/types.js';
import { dnKey } from '../model/dn.js';
import {
  countSnapshot,
  type PrincipalRecord,
  principalId,
  type Snapshot,
  type SnapshotMeta,
} from '../model/principal.js';

const ACCOUNTDISABLE = 0x2;
/** DNs whose spelling varies between servers' renderings: escapes, quotes, multi-valued RDNs. */
const ESCAPED_DN = /[\\"+]/;
/** Shared by every object without members: one empty array per object would be 130,000 of them. */
const NONE: readonly string[] = Object.freeze([]);

/** A record whose member ids are filled in once every entry is known. */
export type BuildingRecord = PrincipalRecord & { memberIds: readonly string[] };

/**
 * One entry's record, members not yet resolved (none). Shared with the
 * incremental applier (src/sync/incremental) so that a changed entry becomes
 * exactly the record a full build makes of it.
 */
export function recordOf(connectionId: string, id: string, e: RawEntry): BuildingRecord {
  const { primaryEmail, emails } = computeEmails(e.mail, e.proxyAddresses);
  return {
    id,
    connectionId,
    guid: e.guid,
    kind: e.kind,
    dn: e.dn,
    displayName: e.displayName,
    primaryEmail,
    emails,
    samAccountName: e.samAccountName,
    userPrincipalName: e.userPrincipalName,
    enabled:
      e.kind !== 'USER' || e.userAccountControl === null || (e.userAccountControl & ACCOUNTDISABLE) === 0,
    memberIds: NONE,
  };
}

/**
 * Member DN → id, over `idByDn` (ids by DN exactly as the server spelled
 * it). As spelled first; then among entries whose DN has an escape, quotes
 * or a multi-valued RDN, by dnKey (OpenLDAP spells a DN's escaped comma
 * `\2C` and a member value `\,`); only then among all entries by dnKey
 * (another case or spacing, or a member outside the snapshot, which is
 * looked up once per resolver at most in each tier). `idByDn` must not
 * change while the resolver is in use.
 */
export function memberResolver(idByDn: ReadonlyMap<string, string>): (dn: string) => string | undefined {
  let escaped: Map<string, string> | null = null;
  let all: Map<string, string> | null = null;
  const keyed = (onlyEscaped: boolean): Map<string, string> => {
    const index = new Map<string, string>();
    for (const [dn, id] of idByDn) if (!onlyEscaped || ESCAPED_DN.test(dn)) index.set(dnKey(dn), id);
    return index;
  };
  return (dn) => {
    const exact = idByDn.get(dn);
    if (exact !== undefined) return exact;
    const key = dnKey(dn);
    escaped ??= keyed(true);
    const found = escaped.get(key);
    if (found !== undefined) return found;
    all ??= keyed(false);
    return all.get(key);
  };
}

/** A group's member ids: in member order, first occurrence kept, and how many DNs named nothing. */
export function resolveMemberIds(
  memberDns: readonly string[],
  resolve: (dn: string) => string | undefined,
): { readonly ids: readonly string[]; readonly unresolved: number } {
  const seen = new Set<string>();
  let unresolved = 0;
  for (const dn of memberDns) {
    const id = resolve(dn);
    if (id === undefined) unresolved++;
    else seen.add(id);
  }
  // A Set iterates in insertion order; the spread is exactly sized.
  return { ids: [...seen], unresolved };
}

export class SnapshotBuilder {
  /** Records so far, and each one's member DNs at the same position (parallel arrays: no wrapper per entry). */
  private readonly pending: BuildingRecord[] = [];
  private readonly pendingMemberDns: (readonly string[])[] = [];
  /**
   * Ids by DN exactly as the server spelled it. Servers send most member
   * values in the spelling of the member's own DN, so build() finds them
   * here. Keying every DN (dnKey) while reading cost a sync of 130,000
   * objects about a tenth of its reading time; build() keys DNs only when a
   * member is not found as spelled (see memberResolver).
   */
  private readonly idByDn = new Map<string, string>();
  private readonly seenIds = new Set<string>();
  /** Entries dropped because another entry of the run already had their id (a server bug or a move mid-run). */
  duplicateIds = 0;
  /** Member DNs that name nothing the snapshot holds (outside the search base, or filtered out). */
  unresolvedMembers = 0;

  constructor(private readonly connectionId: string) {}

  add(entries: readonly RawEntry[]): void {
    for (const e of entries) {
      const id = principalId(this.connectionId, e.guid);
      if (this.seenIds.has(id)) {
        this.duplicateIds++;
        continue;
      }
      this.seenIds.add(id);
      this.idByDn.set(e.dn, id);
      this.pending.push(recordOf(this.connectionId, id, e));
      this.pendingMemberDns.push(e.kind === 'GROUP' ? e.memberDns : NONE);
    }
  }

  private built = 0;

  /** Entries kept so far (after build: in the snapshot). */
  get size(): number {
    return this.pending.length + this.built;
  }

  build(meta: Omit<SnapshotMeta, 'counts'>): Snapshot {
    // Records are completed in place: a copy of 100k records would double the peak memory of a sync.
    const principals: PrincipalRecord[] = new Array(this.pending.length);
    const resolve = memberResolver(this.idByDn);
    for (let i = 0; i < this.pending.length; i++) {
      const record = this.pending[i] as BuildingRecord;
      const memberDns = this.pendingMemberDns[i] as readonly string[];
      if (memberDns.length > 0) {
        const { ids, unresolved } = resolveMemberIds(memberDns, resolve);
        this.unresolvedMembers += unresolved;
        record.memberIds = ids;
      }
      principals[i] = record;
    }
    this.built = principals.length;
    this.pending.length = 0;
    this.pendingMemberDns.length = 0;
    this.idByDn.clear();
    this.seenIds.clear();
    return { meta: { ...meta, counts: countSnapshot(principals) }, principals };
  }
}
