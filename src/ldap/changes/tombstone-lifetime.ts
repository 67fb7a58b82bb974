/**
 * Active Directory keeps a deleted object's tombstone only for the forest's
 * tombstoneLifetime (days; 180 when unset, on forests made since Windows
 * Server 2003 SP1). An incremental read from a watermark older than that may
 * miss deletions whose tombstones are gone (and DirSync cookies that old are
 * no longer safe either): the run must be a full one.
 */
import type { Watermark } from '../../model/watermark.js';
import type { LdapConnection } from '../client.js';
import { EntryValues } from '../entry-decoder.js';
import { LdapError } from '../errors.js';
import type { RootDse } from '../root-dse.js';
import { WatermarkRefusedError } from './errors.js';

/** AD's default when the attribute is unset. */
export const DEFAULT_TOMBSTONE_LIFETIME_DAYS = 180;
/**
 * When the configuration partition is not readable: the smallest default AD
 * ever had (Windows 2000/2003 forests), so an unreadable value never lets a
 * too-old watermark through.
 */
export const UNREADABLE_TOMBSTONE_LIFETIME_DAYS = 60;

const DAY_MS = 86_400_000;

/** The forest's tombstoneLifetime in days, from CN=Directory Service,CN=Windows NT,CN=Services,<configNC>. */
export async function readTombstoneLifetimeDays(
  connection: LdapConnection,
  rootDse: RootDse,
  signal?: AbortSignal,
): Promise<number> {
  const config = rootDse.configurationNamingContext;
  if (!config) return UNREADABLE_TOMBSTONE_LIFETIME_DAYS;
  try {
    const result = await connection.search(
      `CN=Directory Service,CN=Windows NT,CN=Services,${config}`,
      { scope: 'base', attributes: ['tombstoneLifetime'] },
      signal,
    );
    const entry = result.searchEntries[0];
    if (!entry) return UNREADABLE_TOMBSTONE_LIFETIME_DAYS;
    const value = new EntryValues(entry).first('tombstoneLifetime');
    if (value === null) return DEFAULT_TOMBSTONE_LIFETIME_DAYS;
    const days = Number(value);
    return Number.isInteger(days) && days > 0 ? days : DEFAULT_TOMBSTONE_LIFETIME_DAYS;
  } catch (err) {
    if (err instanceof LdapError && err.code === 'SEARCH_FAILED') return UNREADABLE_TOMBSTONE_LIFETIME_DAYS;
    throw err;
  }
}

/**
 * Why `watermark` is too old for a lifetime of `days` at `now`, or null when
 * it is not. A watermark without readAt (made before the gateway recorded it)
 * counts as too old: its age is unknown, and a full run costs only time.
 */
export function tombstoneLifetimeProblem(watermark: Watermark, days: number, now: Date): string | null {
  if (!watermark.readAt) return 'the watermark does not say when it was read';
  const readAt = Date.parse(watermark.readAt);
  if (Number.isNaN(readAt)) return `the watermark's read time ${watermark.readAt} is not a time`;
  const ageMs = now.getTime() - readAt;
  if (ageMs < days * DAY_MS) return null;
  return `the watermark was read ${Math.floor(ageMs / DAY_MS)} days ago, beyond the forest's tombstone lifetime of ${days} days`;
}

/**
 * Throws WatermarkRefusedError (TOMBSTONE_LIFETIME_PASSED) when `watermark`
 * is older than the forest's tombstone lifetime. Active Directory only; a
 * no-op elsewhere.
 */
export async function assertWithinTombstoneLifetime(
  connection: LdapConnection,
  rootDse: RootDse,
  watermark: Watermark,
  options: { readonly now?: (() => Date) | undefined; readonly signal?: AbortSignal | undefined } = {},
): Promise<void> {
  if (rootDse.flavour !== 'ACTIVE_DIRECTORY') return;
  const now = (options.now ?? (() => new Date()))();
  // Without a read time there is nothing to compare: refused before asking the server.
  if (watermark.readAt) {
    const days = await readTombstoneLifetimeDays(connection, rootDse, options.signal);
    const problem = tombstoneLifetimeProblem(watermark, days, now);
    if (problem) throw new WatermarkRefusedError('TOMBSTONE_LIFETIME_PASSED', problem, connection.url);
    return;
  }
  throw new WatermarkRefusedError(
    'TOMBSTONE_LIFETIME_PASSED',
    tombstoneLifetimeProblem(watermark, DEFAULT_TOMBSTONE_LIFETIME_DAYS, now) ?? 'too old',
    connection.url,
  );
}
