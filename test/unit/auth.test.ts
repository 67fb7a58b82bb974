import { describe, expect, it } from 'vitest';
import { roleFor, type TokenSet } from '../../src/graphql/auth.js';

const ADMIN = 'admin-token-0123456789abcdef';
const READER = 'reader-token-0123456789abcdef';
const tokens: TokenSet = { adminToken: ADMIN, readerToken: READER };

describe('roleFor', () => {
  it('grants the admin role to the admin token', () => {
    expect(roleFor(`Bearer ${ADMIN}`, tokens)).toBe('ADMIN');
  });

  it('grants the reader role to the reader token', () => {
    expect(roleFor(`Bearer ${READER}`, tokens)).toBe('READER');
  });

  it.each(['bearer', 'BEARER', 'BeArEr'])('accepts the scheme spelled %s', (scheme) => {
    expect(roleFor(`${scheme} ${ADMIN}`, tokens)).toBe('ADMIN');
  });

  it('tolerates extra spaces around the token', () => {
    expect(roleFor(`Bearer    ${READER}  `, tokens)).toBe('READER');
  });

  it.each([
    ['a wrong token', 'Bearer wrong-token-0123456789abcdef'],
    ['a token differing in case', `Bearer ${ADMIN.toUpperCase()}`],
    ['a prefix of the token', `Bearer ${ADMIN.slice(0, -1)}`],
    ['the token with a suffix', `Bearer ${ADMIN}x`],
    ['no scheme', ADMIN],
    ['another scheme', `Basic ${ADMIN}`],
    ['no token', 'Bearer'],
    ['a blank token', 'Bearer   '],
    ['two tokens', `Bearer ${ADMIN} ${READER}`],
    ['a leading space', ` Bearer ${ADMIN}`],
    ['no space after the scheme', `Bearer${ADMIN}`],
    ['an empty header', ''],
  ])('grants nothing for %s', (_what, header) => {
    expect(roleFor(header, tokens)).toBeNull();
  });

  it('grants nothing without a header', () => {
    expect(roleFor(undefined, tokens)).toBeNull();
    expect(roleFor(null, tokens)).toBeNull();
  });

  it('has no reader role when no reader token is configured', () => {
    const adminOnly: TokenSet = { adminToken: ADMIN, readerToken: null };
    expect(roleFor(`Bearer ${READER}`, adminOnly)).toBeNull();
    expect(roleFor(`Bearer ${ADMIN}`, adminOnly)).toBe('ADMIN');
  });
});
