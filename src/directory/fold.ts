/**
 * Folding helpers shared by the directory indexes. Every comparison in this
 * layer goes through foldKey (model/text.ts); these wrappers only make it
 * cheap enough to run over a whole cache on every snapshot swap and split
 * display names into the words autocomplete matches.
 */
import { foldKey } from '../model/text.js';

// Printable ASCII is invariant under every Unicode normalization form and
// its upper-then-lower mapping equals toLowerCase, so foldKey reduces to
// toLowerCase there, which is much cheaper, and most directory data is
// printable ASCII. Anything else (control characters included) takes the
// full path.
const NOT_PRINTABLE_ASCII = /[^ -~]/;
const ASCII_UPPER = /[A-Z]/;

/**
 * foldKey, with a fast path for printable ASCII. Always returns what foldKey
 * returns, and the very string given when folding does not change it: the
 * indexes then share the snapshot's strings instead of holding copies
 * (toLowerCase allocates even when nothing changes).
 */
export function fold(value: string): string {
  if (NOT_PRINTABLE_ASCII.test(value)) {
    const folded = foldKey(value);
    return folded === value ? value : folded;
  }
  return ASCII_UPPER.test(value) ? value.toLowerCase() : value;
}

// Whitespace and punctuation (",", ".", "-", "_", "(", ")", "'", quotes,
// slashes...) separate the words of a display name.
const WORD_SEPARATORS = /[\s\p{P}]+/u;

/** The folded words of a name, in order, without empty words. */
export function nameWords(name: string): string[] {
  return foldedWords(fold(name));
}

/**
 * nameWords of a name already folded, trimmed or not: trimming removes only
 * whitespace, which separates words anyway (a property test checks the two
 * agree), so the directory view's folded sort names serve here too.
 */
export function foldedWords(folded: string): string[] {
  return folded.split(WORD_SEPARATORS).filter((w) => w.length > 0);
}

/**
 * The folded form a name query is matched in: words joined by single
 * spaces, so that "müller,  an" and "Müller An" look the same as the
 * indexed phrase "müller anna".
 */
export function nameQuery(text: string): string {
  return nameWords(text).join(' ');
}
