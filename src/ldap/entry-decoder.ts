/**
 * Turns an ldapts search entry into a RawEntry. ldapts hands one value as a
 * string, several as an array, a requested but missing attribute as `[]`,
 * and names attributes as the server spells them, so every lookup here is
 * case-insensitive and tolerant of all three shapes.
 */
import type { Entry } from 'ldapts';
import type { PrincipalKind } from '../model/principal.js';
import { decodeObjectGuid, normalizeEntryUuid } from './guid.js';
import { perName } from './per-name.js';
import type { SchemaMap } from './schema-map.js';
import type { RawEntry } from './types.js';

export type AttributeValue = string | Buffer;

type RawValue = AttributeValue | readonly AttributeValue[];

/**
 * The entry's attributes by lower-cased name, as ldapts gave them (no copies:
 * a sync decodes millions). Two parallel arrays rather than a Map: an entry
 * has a dozen attributes and a sync makes one of these per entry, so a hash
 * table each would be garbage made per entry; the lower-cased names are the
 * shared instances of lowerCased, so a lookup compares references.
 */
export class EntryValues {
  private readonly names: string[] = [];
  private readonly values: RawValue[] = [];
  /** Attributes of the current entry: the first `count` slots (the arrays are reused across entries). */
  private count = 0;

  constructor(entry?: Entry) {
    if (entry) this.load(entry);
  }

  /**
   * Makes this instance describe another entry. decodeEntry decodes one entry
   * at a time through one instance, so a sync makes no arrays per entry here.
   */
  load(entry: Entry): this {
    let i = 0;
    for (const key in entry) {
      if (key === 'dn') continue;
      this.names[i] = lowerCased(key);
      this.values[i] = entry[key] as RawValue;
      i++;
    }
    this.count = i;
    return this;
  }

  /** The values under `name` in any spelling; the same attribute under two spellings (rare) merged in order. */
  private lookup(name: string): RawValue | undefined {
    const lower = lowerCased(name);
    let found: RawValue | undefined;
    for (let i = 0; i < this.count; i++) {
      if (this.names[i] !== lower) continue;
      const raw = this.values[i] as RawValue;
      found = found === undefined ? raw : [...asList(found), ...asList(raw)];
    }
    return found;
  }

  raw(name: string): readonly AttributeValue[] {
    const raw = this.lookup(name);
    return raw === undefined ? [] : asList(raw);
  }

  strings(name: string): readonly string[] {
    const raw = this.raw(name);
    if (raw.length === 0) return NO_STRINGS;
    const out: string[] = [];
    for (const value of raw) {
      const text = typeof value === 'string' ? value : value.toString('utf8');
      if (text.length > 0) out.push(text);
    }
    return out;
  }

  first(name: string): string | null {
    const raw = this.lookup(name);
    if (raw === undefined) return null;
    // The common case, one text value, without a list.
    if (typeof raw === 'string') return raw.length > 0 ? raw.trim() || null : null;
    for (const value of asList(raw)) {
      const text = typeof value === 'string' ? value : value.toString('utf8');
      if (text.length > 0) return text.trim() || null;
    }
    return null;
  }
}

const NO_STRINGS: readonly string[] = Object.freeze([]);
/** One instance for every decodeEntry call: decoding is synchronous, so it is never shared. */
const SCRATCH = new EntryValues();

/** Lower-cased once per attribute name, so that the same name gives the same string instance. */
const lowerCased = perName((name) => name.toLowerCase());

function asList(raw: RawValue): readonly AttributeValue[] {
  return typeof raw === 'string' || Buffer.isBuffer(raw) ? [raw] : raw;
}

/** objectGUID (binary or text) or entryUUID, whichever of the schema's id attributes comes first. */
export function decodeId(values: EntryValues, idAttributes: readonly string[]): string | null {
  for (const name of idAttributes) {
    for (const value of values.raw(name)) {
      const id =
        name.toLowerCase() === 'entryuuid' && typeof value === 'string'
          ? normalizeEntryUuid(value)
          : decodeObjectGuid(value);
      if (id) return id;
    }
  }
  return null;
}

/** The value of the first RDN: `CN=Doe\, Jane,OU=…` → `Doe, Jane`. Used when no name attribute is set. */
export function firstRdnValue(dn: string): string {
  const equals = dn.indexOf('=');
  if (equals < 0) return dn;
  // Hex escapes (`\c3\a9`) are UTF-8 bytes that may span several escapes: collect bytes, decode once.
  const bytes: number[] = [];
  for (let i = equals + 1; i < dn.length; i++) {
    // Whole code points, so astral characters are not split into lone surrogates.
    const ch = String.fromCodePoint(dn.codePointAt(i) ?? 0);
    if (ch === '\\' && i + 1 < dn.length) {
      const hex = dn.slice(i + 1, i + 3);
      if (/^[0-9a-f]{2}$/i.test(hex)) {
        bytes.push(Number.parseInt(hex, 16));
        i += 2;
      } else {
        bytes.push(...Buffer.from(dn[i + 1] ?? '', 'utf8'));
        i += 1;
      }
      continue;
    }
    if (ch === ',' || ch === '+') break;
    bytes.push(...Buffer.from(ch, 'utf8'));
    i += ch.length - 1;
  }
  return Buffer.from(bytes).toString('utf8').trim();
}

function parseInteger(value: string | null): number | null {
  if (value === null || !/^-?\d+$/.test(value)) return null;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : null;
}

/** Null when the entry has no usable identity (the reader skips and counts it). */
export function decodeEntry(
  entry: Entry,
  kind: PrincipalKind,
  schema: SchemaMap,
  memberDns: readonly string[],
): RawEntry | null {
  const values = SCRATCH.load(entry);
  const guid = decodeId(values, schema.idAttributes);
  if (guid === null) return null;
  let displayName: string | null = null;
  for (const name of schema.displayName) {
    displayName = values.first(name);
    if (displayName) break;
  }
  return {
    kind,
    guid,
    dn: entry.dn,
    displayName: displayName ?? firstRdnValue(entry.dn),
    mail: values.first(schema.mail),
    proxyAddresses: values.strings(schema.proxyAddresses),
    samAccountName: kind === 'CONTACT' ? null : values.first(schema.samAccountName),
    userPrincipalName: kind === 'USER' ? values.first(schema.userPrincipalName) : null,
    userAccountControl: kind === 'USER' ? parseInteger(values.first(schema.userAccountControl)) : null,
    memberDns: kind === 'GROUP' ? memberDns : NO_STRINGS,
  };
}
