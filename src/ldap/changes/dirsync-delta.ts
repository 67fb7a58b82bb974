/**
 * What one DirSync answer says changed, as plain data. Pure: entries in,
 * delta out.
 *
 * A DirSync entry carries only the attributes changed since the cookie
 * (plus objectGUID, instanceType, and parentGUID when the object is new or
 * moved). With INCREMENTAL_VALUES a linked attribute comes as the values
 * added (`member;range=1-1`) and removed (`member;range=0-0`), not whole;
 * a removal whose both ends changed between two reads may not come at all
 * (Samba skips a removed link to an object deleted since: seen here, and
 * dirsync.c's "inactive link still point to an existing object"). Deleted
 * objects come as tombstones: `isDeleted: TRUE`, the DN under
 * `CN=Deleted Objects` with a `\0ADEL:<guid>` RDN, most attributes gone.
 *
 * ldapts adds every requested attribute the server did not send as `[]`, so
 * "not sent" and "sent empty" (Samba sends a cleared attribute without
 * values) look the same: the partial attributes here say what was seen, and
 * a full entry must be read again to know an object's state.
 */
import type { Entry } from 'ldapts';
import { decodeObjectGuid } from '../guid.js';

export interface DirSyncChangedObject {
  /** objectGUID in AD's string form (RawEntry.guid). */
  readonly guid: string;
  /** The object's DN now. */
  readonly dn: string;
  /**
   * Attributes sent with at least one value, by lower-cased name (member
   * excepted): the changed ones. objectGUID, instanceType and parentGUID,
   * which DirSync always adds, are left out.
   */
  readonly attributes: ReadonlyMap<string, readonly string[]>;
  /** Member DNs added since the cookie (INCREMENTAL_VALUES: `member;range=1-1`). */
  readonly membersAdded: readonly string[];
  /** Member DNs removed since the cookie (INCREMENTAL_VALUES: `member;range=0-0`). */
  readonly membersRemoved: readonly string[];
  /** The whole member list, when it came whole (no INCREMENTAL_VALUES); null when not sent. */
  readonly members: readonly string[] | null;
}

export interface DirSyncDelta {
  /** Objects added or changed, in the order the server sent them (one per guid, the last kept). */
  readonly changed: readonly DirSyncChangedObject[];
  /** Objects deleted (tombstones), by guid. */
  readonly deletedGuids: readonly string[];
  /** Entries without a usable objectGUID: not reported (a server that sends them is odd). */
  readonly skipped: number;
}

/** Attributes DirSync adds to every entry for its own bookkeeping, not changes. */
const BOOKKEEPING = new Set(['objectguid', 'instancetype', 'parentguid']);

type Value = Entry[string];

function strings(raw: Value): string[] {
  const list = Array.isArray(raw) ? raw : [raw];
  const out: string[] = [];
  for (const value of list) {
    const text = typeof value === 'string' ? value : value.toString('utf8');
    if (text.length > 0) out.push(text);
  }
  return out;
}

function firstBufferOrString(raw: Value): Buffer | string | null {
  const list = Array.isArray(raw) ? raw : [raw];
  return list.length > 0 ? (list[0] as Buffer | string) : null;
}

/** `member;range=1-1` → added, `member;range=0-0` → removed; anything else is no incremental value. */
function incrementalKind(key: string): { attribute: string; added: boolean } | null {
  const match = /^(.+);range=(\d+)-(\d+)$/i.exec(key);
  if (!match) return null;
  const [, attribute = '', start, end] = match;
  if (start === '1' && end === '1') return { attribute, added: true };
  if (start === '0' && end === '0') return { attribute, added: false };
  return null;
}

function isTombstone(entry: Entry): boolean {
  for (const key in entry) {
    if (key.toLowerCase() !== 'isdeleted') continue;
    if (strings(entry[key] as Value).some((v) => v.toUpperCase() === 'TRUE')) return true;
  }
  return false;
}

/**
 * The delta of one DirSync answer. `memberAttributes`: the linked
 * attributes read as membership (the schema's `member`), matched
 * case-insensitively.
 */
export function dirSyncDelta(
  entries: readonly Entry[],
  memberAttributes: readonly string[] = ['member'],
): DirSyncDelta {
  const members = new Set(memberAttributes.map((name) => name.toLowerCase()));
  const changed = new Map<string, DirSyncChangedObject>();
  const deleted = new Set<string>();
  let skipped = 0;
  for (const entry of entries) {
    let guid: string | null = null;
    for (const key in entry) {
      if (key.toLowerCase() !== 'objectguid') continue;
      const raw = firstBufferOrString(entry[key] as Value);
      guid = raw === null ? null : decodeObjectGuid(raw);
      if (guid) break;
    }
    if (!guid) {
      skipped++;
      continue;
    }
    if (isTombstone(entry)) {
      changed.delete(guid);
      deleted.add(guid);
      continue;
    }
    const attributes = new Map<string, readonly string[]>();
    const added: string[] = [];
    const removed: string[] = [];
    let whole: string[] | null = null;
    for (const key in entry) {
      if (key === 'dn') continue;
      const lower = key.toLowerCase();
      if (BOOKKEEPING.has(lower)) continue;
      const values = strings(entry[key] as Value);
      const incremental = incrementalKind(key);
      if (incremental && members.has(incremental.attribute.toLowerCase())) {
        for (const value of values) (incremental.added ? added : removed).push(value);
        continue;
      }
      if (values.length === 0) continue;
      if (members.has(lower)) {
        whole = whole ?? [];
        for (const value of values) whole.push(value);
        continue;
      }
      attributes.set(lower, values);
    }
    // A re-added object (deleted, then restored from the recycle bin) is no longer deleted.
    deleted.delete(guid);
    changed.delete(guid);
    changed.set(guid, {
      guid,
      dn: entry.dn,
      attributes,
      membersAdded: added,
      membersRemoved: removed,
      members: whole,
    });
  }
  return { changed: [...changed.values()], deletedGuids: [...deleted], skipped };
}
