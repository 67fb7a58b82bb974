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

const digests = new WeakMap<TokenSet, { admin: Buffer; reader: Buffer | null }>();

/** The role a `Bearer …` header value grants, or null. */
export function roleFor(authorization: string | undefined | null, tokens: TokenSet): Role | null {
  if (!authorization) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!m?.[1]) return null;
  // The configured tokens' digests are computed once per token set, not on every request.
  let known = digests.get(tokens);
  if (!known) {
    known = {
      admin: digest(tokens.adminToken),
      reader: tokens.readerToken ? digest(tokens.readerToken) : null,
    };
    digests.set(tokens, known);
  }
  const presented = digest(m[1]);
  if (timingSafeEqual(presented, known.admin)) return 'ADMIN';
  if (known.reader && timingSafeEqual(presented, known.reader)) return 'READER';
  return null;
}
