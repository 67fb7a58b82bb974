/**
 * Comparison keys for names and addresses. Directory data arrives in any
 * Unicode form and case: "Müller", "MÜLLER" and "Mu\u0308ller" must compare
 * equal for duplicate detection, autocomplete and lookups alike.
 */

/**
 * Normalizes (NFKC) and case-folds. JavaScript has no full case folding;
 * upper-then-lower approximates it (ß → SS → ss, ſ → S → s) and a final NFC
 * recomposes what case mapping decomposed.
 */
export function foldKey(value: string): string {
  // Printable ASCII is invariant under every normalization form, and its upper-then-lower mapping
  // is toLowerCase: the same result, far cheaper (a sync folds every name and address).
  if (!NOT_PRINTABLE_ASCII.test(value)) return value.toLowerCase();
  return value.normalize('NFKC').toUpperCase().toLowerCase().normalize('NFC');
}

const NOT_PRINTABLE_ASCII = /[^ -~]/;

/** foldKey(a) === foldKey(b), without making either key when both are printable ASCII (the common case). */
export function sameFoldedKey(a: string, b: string): boolean {
  if (a === b) return true;
  if (NOT_PRINTABLE_ASCII.test(a) || NOT_PRINTABLE_ASCII.test(b)) return foldKey(a) === foldKey(b);
  // ASCII lower-casing keeps the length.
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x >= 65 && x <= 90) x += 32;
    if (y >= 65 && y <= 90) y += 32;
    if (x !== y) return false;
  }
  return true;
}

/** True for text a client may send: no lone surrogates, no NUL. */
export function isCleanText(value: string): boolean {
  return value.isWellFormed() && !value.includes('\u0000');
}
