/**
 * Range retrieval of large multi-valued attributes (AD's "ranged attribute
 * retrieval"). Windows AD returns at most MaxValRange (1,500) values of
 * `member` and names the chunk `member;range=0-1499`; the rest is asked with
 * `member;range=1500-*`-style options until a chunk ends in `*`. Samba and
 * slapd do not split by themselves, but Samba answers explicit range
 * requests like AD, which is how tests exercise this path.
 */
import type { Entry } from 'ldapts';
import type { LdapConnection } from './client.js';

export interface RangeKey {
  /** The attribute name without options, as the server spelled it. */
  readonly attribute: string;
  readonly start: number;
  /** Null when the chunk ends with `*`: it is the last one. */
  readonly end: number | null;
}

const RANGE_OPTION = /;range=(\d+)-(\d+|\*)$/i;

/** `member;range=0-1499` → { attribute: 'member', start: 0, end: 1499 }; `member;range=1500-*` → end null; no range → null. */
export function parseRangeKey(key: string): RangeKey | null {
  const match = RANGE_OPTION.exec(key);
  if (!match) return null;
  const [, start = '', end = ''] = match;
  return {
    attribute: key.slice(0, match.index),
    start: Number(start),
    end: end === '*' ? null : Number(end),
  };
}

/** The option asking `size` values from `start`: `member;range=500-999`. */
export function rangedAttribute(attribute: string, start: number, size: number): string {
  return `${attribute};range=${start}-${start + Math.max(1, size) - 1}`;
}

export interface CollectedValues {
  readonly values: string[];
  /** Where the next ranged request starts, or null when every value is in hand. */
  readonly nextStart: number | null;
}

/**
 * Gathers the values of one attribute from an entry, whether they came plain
 * (`member`) or as a range chunk (`member;range=…`). Keys with no values are
 * ignored: ldapts adds every requested attribute name with `[]`, so a request
 * for `member;range=0-499` answered by `member;range=0-*` leaves an empty
 * `member;range=0-499` key that must not read as "more to come".
 */
export function collectValues(entry: Entry, attribute: string): CollectedValues {
  const wanted = attribute.toLowerCase();
  const values: string[] = [];
  let nextStart: number | null = null;
  let complete = false;
  for (const key in entry) {
    if (key === 'dn') continue;
    const raw = entry[key] as Entry[string];
    if (Array.isArray(raw) && raw.length === 0) continue;
    if (key.toLowerCase() === wanted) {
      appendStrings(values, raw);
      complete = true;
      continue;
    }
    const range = parseRangeKey(key);
    if (!range || range.attribute.toLowerCase() !== wanted) continue;
    appendStrings(values, raw);
    if (range.end === null) complete = true;
    else nextStart = Math.max(nextStart ?? 0, range.end + 1);
  }
  return { values, nextStart: complete ? null : nextStart };
}

export interface RangeReadOptions {
  readonly rangeSize: number;
  /**
   * Values the attribute may have in all (DIRGATE_LDAP_MAX_VALUES), those of
   * the first chunk included, and the error past that: a server that keeps
   * answering new chunks must not grow a list for ever.
   */
  readonly maxValues: number;
  /** Values already in hand from the first chunk. */
  readonly held: number;
  readonly refuse: () => Error;
  readonly signal?: AbortSignal | undefined;
  /** Called once per ranged request sent (tests count them). */
  readonly onRequest?: (() => void) | undefined;
}

/** Safety net against a server that keeps answering the same chunk: 1,000 chunks is 1.5M values on AD. */
const MAX_CHUNKS = 1000;

/**
 * Reads the rest of a ranged attribute from `start` on, with base-scope
 * searches on the entry, until a chunk ends in `*` (or comes back empty).
 */
export async function readRemainingValues(
  connection: LdapConnection,
  dn: string,
  attribute: string,
  start: number,
  options: RangeReadOptions,
): Promise<string[]> {
  const values: string[] = [];
  let next: number | null = start;
  for (let chunk = 0; next !== null && chunk < MAX_CHUNKS; chunk++) {
    options.onRequest?.();
    const result = await connection.search(
      dn,
      {
        scope: 'base',
        filter: '(objectClass=*)',
        attributes: [rangedAttribute(attribute, next, options.rangeSize)],
      },
      options.signal,
    );
    const entry = result.searchEntries[0];
    if (!entry) break;
    const collected = collectValues(entry, attribute);
    if (options.held + values.length + collected.values.length > options.maxValues) throw options.refuse();
    for (const value of collected.values) values.push(value);
    // No values at all: the previous chunk ended exactly at the last value.
    if (collected.values.length === 0) break;
    // A server capping below our size answers a shorter chunk; continue after what it sent.
    next = collected.nextStart !== null && collected.nextStart > next ? collected.nextStart : null;
  }
  return values;
}

/**
 * Appends the values as text. One by one, not push(...values): a spread
 * passes every value as an argument, and a group of 200,000 members (one
 * plain `member` attribute on OpenLDAP or Samba) overflows the stack.
 */
function appendStrings(into: string[], raw: Entry[string]): void {
  if (!Array.isArray(raw)) {
    into.push(typeof raw === 'string' ? raw : raw.toString('utf8'));
    return;
  }
  for (const value of raw) into.push(typeof value === 'string' ? value : value.toString('utf8'));
}
