/**
 * The pure parts of change tracking: generalized time, the filters that ask
 * for changes since a watermark, and whether a stored watermark may be used
 * against the server bound now. A watermark is valid only on the server it
 * was read from: another DC numbers its changes (USNs) differently, and a DC
 * restored from backup reuses USNs under a new invocationId, so a stored USN
 * would silently skip changes.
 */
import type { Watermark } from './types.js';

/**
 * Seconds re-read before a TIMESTAMP watermark. modifyTimestamp has 1 s
 * resolution and slapd stamps an operation when it starts, not when it
 * commits: an entry stamped just before the watermark may become visible just
 * after it was read. Entries read twice are harmless (the applier replaces by id).
 */
export const TIMESTAMP_OVERLAP_SECONDS = 2;

const GENERALIZED_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:[.,]\d+)?Z$/;

/** A Date (UTC) → `YYYYMMDDHHMMSSZ`, whole seconds (fractions dropped). */
export function formatGeneralizedTime(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError('invalid date');
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return (
    pad(date.getUTCFullYear(), 4) +
    pad(date.getUTCMonth() + 1) +
    pad(date.getUTCDate()) +
    pad(date.getUTCHours()) +
    pad(date.getUTCMinutes()) +
    pad(date.getUTCSeconds()) +
    'Z'
  );
}

/** `YYYYMMDDHHMMSS[.fff]Z` → Date; null for anything else (local times and offsets are not accepted). */
export function parseGeneralizedTime(text: string): Date | null {
  const match = GENERALIZED_TIME.exec(text.trim());
  if (!match) return null;
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[];
  const date = new Date(Date.UTC(y as number, (mo as number) - 1, d, h, mi, s));
  // Date.UTC rolls 20261301 over into the next year: a round trip tells a real time from that.
  return formatGeneralizedTime(date) === text.trim().replace(/[.,]\d+Z$/, 'Z') ? date : null;
}

/**
 * The time of an OpenLDAP CSN (`20261201235349.235429Z#000000#000#000000`),
 * in whole seconds: `20261201235349Z`. Null when the text is not a CSN.
 */
export function csnTime(csn: string): string | null {
  const match = /^(\d{14})(?:\.\d+)?Z#/.exec(csn.trim());
  if (!match) return null;
  const time = `${match[1]}Z`;
  return parseGeneralizedTime(time) ? time : null;
}

/** The later of two generalized times (both valid). */
export function laterTime(a: string, b: string): string {
  // Same fixed-width format: text order is time order.
  return a >= b ? a : b;
}

/** A decimal USN (AD's are 64-bit: beyond 2^53, so never a JS number). */
function usnValue(usn: string): bigint {
  if (!/^\d+$/.test(usn)) throw new RangeError(`not a USN: ${usn}`);
  return BigInt(usn);
}

/** `(uSNChanged>=N+1)`: objects changed after the change numbered N. */
export function usnFilter(usn: string): string {
  return `(uSNChanged>=${usnValue(usn) + 1n})`;
}

/** `(modifyTimestamp>=T-overlap)`: entries stamped at or after the watermark, with the overlap margin. */
export function timestampFilter(time: string, overlapSeconds = TIMESTAMP_OVERLAP_SECONDS): string {
  const date = parseGeneralizedTime(time);
  if (!date) throw new RangeError(`not a generalized time: ${time}`);
  return `(modifyTimestamp>=${formatGeneralizedTime(new Date(date.getTime() - overlapSeconds * 1000))})`;
}

/** Why an incremental read cannot start from `stored` against the server whose watermark is `current`. */
export type WatermarkRefusal =
  | 'KIND_CHANGED'
  | 'OTHER_SERVER'
  | 'INVOCATION_ID_CHANGED'
  | 'USN_WENT_BACKWARDS'
  /** AD: the watermark is older than the forest's tombstoneLifetime (tombstone-lifetime.ts). */
  | 'TOMBSTONE_LIFETIME_PASSED';

export interface WatermarkProblem {
  readonly reason: WatermarkRefusal;
  readonly message: string;
}

function sameServer(a: string, b: string): boolean {
  // DNS names and URLs compare without case.
  return a.toLowerCase() === b.toLowerCase();
}

/**
 * Null when changes since `stored` can be read from the server now bound
 * (`current` is that server's watermark, read just now); else why not. Only
 * USN and TIMESTAMP watermarks are read here; a DIRSYNC one is compared by
 * server and invocationId alone (its cookie is the server's to judge).
 */
export function watermarkProblem(stored: Watermark, current: Watermark): WatermarkProblem | null {
  if (stored.kind !== current.kind) {
    return {
      reason: 'KIND_CHANGED',
      message: `the watermark is of kind ${stored.kind}, the server now offers ${current.kind}`,
    };
  }
  if (!sameServer(stored.server, current.server)) {
    return {
      reason: 'OTHER_SERVER',
      message: `the watermark was read from ${stored.server}, the server now bound is ${current.server}`,
    };
  }
  if (stored.kind !== 'TIMESTAMP' && current.kind !== 'TIMESTAMP') {
    if (stored.invocationId.toLowerCase() !== current.invocationId.toLowerCase()) {
      return {
        reason: 'INVOCATION_ID_CHANGED',
        message: `${current.server}'s invocationId changed from ${stored.invocationId} to ${current.invocationId} (restored from backup?)`,
      };
    }
  }
  if (stored.kind === 'USN' && current.kind === 'USN' && usnValue(current.usn) < usnValue(stored.usn)) {
    return {
      reason: 'USN_WENT_BACKWARDS',
      message: `${current.server}'s highestCommittedUSN ${current.usn} is below the watermark's ${stored.usn}`,
    };
  }
  // A TIMESTAMP watermark's newest change may be older than the stored one (the newest entry was
  // deleted since): nothing is missed by that, and the reader keeps the later of the two.
  return null;
}
