/**
 * Opaque page cursors. A cursor holds the sort key of the last object
 * returned (folded display name and id), not a position: the next page
 * starts after that key even when a snapshot swap between two requests has
 * added or removed objects, so no object is skipped or repeated because of
 * the swap itself.
 *
 * Bad input from a client (a malformed cursor, a negative page size) is a
 * ValidationError naming the argument, so the API reports BAD_USER_INPUT
 * with `field` and `reason` rather than a masked internal error.
 */
import { ValidationError } from '../model/errors.js';
import { fold } from './fold.js';

interface SortKey {
  /** foldKey of the display name. */
  readonly name: string;
  readonly id: string;
}

const VERSION = 'v1';

export function encodeCursor(key: SortKey): string {
  return Buffer.from(JSON.stringify([VERSION, key.name, key.id]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): SortKey {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw notACursor();
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 3 ||
    parsed[0] !== VERSION ||
    typeof parsed[1] !== 'string' ||
    typeof parsed[2] !== 'string'
  ) {
    throw notACursor();
  }
  return { name: parsed[1], id: parsed[2] };
}

function notACursor(): ValidationError {
  return new ValidationError('after', 'is not a cursor this server issued', 'INVALID_CURSOR');
}

/** Orders principals for every list: folded display name, then id. */
export function compareKeys(aName: string, aId: string, bName: string, bId: string): number {
  if (aName !== bName) return aName < bName ? -1 : 1;
  if (aId !== bId) return aId < bId ? -1 : 1;
  return 0;
}

/** The name principals are sorted by: the folded, trimmed display name. */
export function sortName(displayName: string): string {
  return fold(displayName.trim());
}

/** Checks a page size: a non-negative integer. */
export function pageSize(first: number | null | undefined, fallback: number): number {
  const n = first ?? fallback;
  if (!Number.isInteger(n) || n < 0)
    throw new ValidationError('first', 'must be a non-negative integer', 'OUT_OF_RANGE');
  return n;
}
