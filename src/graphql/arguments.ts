/** Limits on arguments, each refusal a coded error naming the argument. */
import { isCleanText } from '../model/text.js';
import { badInput, limitExceeded } from './errors.js';

export const LIMITS = {
  /** Largest page of users, groups, contacts or members. */
  pageSize: 500,
  /** Most suggestions one autocomplete call returns. */
  autocomplete: 50,
  prefixLength: 256,
  searchLength: 256,
  addressLength: 512,
  idLength: 512,
  runs: 100,
  /** Query depth and the estimated number of objects a query may produce. */
  depth: 12,
  cost: 50_000,
  /** Times one field may be selected under different aliases in one selection set. */
  aliases: 50,
} as const;

export function checkText(field: string, value: string, max: number): string {
  if (!isCleanText(value)) throw badInput(field, 'is not valid text (NUL or lone surrogate)', 'INVALID_TEXT');
  if (value.length > max)
    throw limitExceeded(`${field}: longer than ${max} characters`, { field, limit: max });
  return value;
}

export function checkOptionalText(
  field: string,
  value: string | null | undefined,
  max: number,
): string | null {
  return value === null || value === undefined ? null : checkText(field, value, max);
}

export function checkCount(
  field: string,
  value: number | null | undefined,
  fallback: number,
  max: number,
): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < 0)
    throw badInput(field, 'must be a whole number of zero or more', 'OUT_OF_RANGE');
  if (n > max) throw limitExceeded(`${field}: at most ${max}`, { field, limit: max });
  return n;
}
