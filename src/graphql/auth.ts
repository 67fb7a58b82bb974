/** Bearer tokens and roles. Tokens are compared in constant time. */
import { createHash, timingSafeEqual } from 'node:crypto';

export type Role = 'ADMIN' | 'READER';

export interface TokenSet {
  readonly adminToken: string;
  readonly readerToken: string | null;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function same(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** The role a `Bearer …` header value grants, or null. */
export function roleFor(authorization: string | undefined | null, tokens: TokenSet): Role | null {
  if (!authorization) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!m?.[1]) return null;
  const token = m[1];
  if (same(token, tokens.adminToken)) return 'ADMIN';
  if (tokens.readerToken && same(token, tokens.readerToken)) return 'READER';
  return null;
}
