/**
 * Turns what a sync read into a snapshot: addresses computed, disabled
 * accounts marked, group members resolved from DNs to the ids of objects
 * the same snapshot holds. Pure; the engine feeds it page by page so that
 * building overlaps reading.
 */
import { computeEmails } from '../ldap/addresses.js';
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

interface Pending {
  readonly record: Omit<PrincipalRecord, 'memberIds'>;
  readonly memberDns: readonly string[];
}

export class SnapshotBuilder {
  private readonly pending: Pending[] = [];
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
      this.idByDn.set(dnKey(e.dn), id);
      const { primaryEmail, emails } = computeEmails(e.mail, e.proxyAddresses);
      this.pending.push({
        record: {
          id,
          connectionId: this.connectionId,
          guid: e.guid,
          kind: e.kind,
          dn: e.dn,
          displayName: e.displayName,
          primaryEmail,
          emails,
          samAccountName: e.samAccountName,
          userPrincipalName: e.userPrincipalName,
          enabled:
            e.kind !== 'USER' ||
            e.userAccountControl === null ||
            (e.userAccountControl & ACCOUNTDISABLE) === 0,
        },
        memberDns: e.kind === 'GROUP' ? e.memberDns : [],
      });
    }
  }

  get size(): number {
    return this.pending.length;
  }

  build(meta: Omit<SnapshotMeta, 'counts'>): Snapshot {
    const principals: PrincipalRecord[] = this.pending.map(({ record, memberDns }) => {
      const memberIds: string[] = [];
      const seen = new Set<string>();
      for (const dn of memberDns) {
        const id = this.idByDn.get(dnKey(dn));
        if (id === undefined) this.unresolvedMembers++;
        else if (!seen.has(id)) {
          seen.add(id);
          memberIds.push(id);
        }
      }
      return { ...record, memberIds };
    });
    return { meta: { ...meta, counts: countSnapshot(principals) }, principals };
  }
}
