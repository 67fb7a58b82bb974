/**
 * An LDAP search filter as an administrator types it, checked when it is
 * entered rather than at the next sync: the same parser that will send it
 * (ldapts's) must read it whole, and nothing in it may be silently changed
 * on the way to the server.
 */
import { FilterParser } from 'ldapts';

/** Why a filter text is refused, or null when it is a filter ldapts sends as written. */
export function filterProblem(text: string): string | null {
  // ldapts closes an unclosed filter itself (`(&(a=b)` is read as `(&(a=b))`); an administrator
  // who left a parenthesis open meant something else, so the parentheses must balance as typed.
  let depth = 0;
  for (const ch of text) {
    if (ch === '(') depth++;
    else if (ch === ')' && --depth < 0) return 'has a ")" without its "("';
  }
  if (!text.startsWith('(') || !text.endsWith(')'))
    return 'must be one filter in parentheses, e.g. (objectClass=user)';
  if (depth !== 0) return `has ${depth} "(" not closed`;
  // ldapts re-encodes a \XX escape of a byte of 0x80 or more as UTF-8 (LAB.md), so the filter
  // would silently match nothing: non-ASCII text must be written as itself.
  const highEscape = /\\([89a-fA-F][0-9a-fA-F])/.exec(text);
  if (highEscape) {
    return `has the escape \\${highEscape[1]} of a non-ASCII byte, which the LDAP client would change: write the character itself`;
  }
  try {
    FilterParser.parseString(text);
  } catch (err) {
    return `is not an LDAP filter: ${(err as Error).message}`;
  }
  return null;
}
