import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { foldKey, isCleanText, sameFoldedKey } from '../../src/model/text.js';

describe('foldKey', () => {
  it('makes Müller, MÜLLER and a decomposed Mu\u0308ller equal', () => {
    const key = foldKey('Müller');
    expect(foldKey('MÜLLER')).toBe(key);
    expect(foldKey('Mu\u0308ller')).toBe(key);
    expect(foldKey('mu\u0308LLER')).toBe(key);
  });

  it('keeps different names different', () => {
    expect(foldKey('Müller')).not.toBe(foldKey('Muller'));
    expect(foldKey('Jane Doe')).not.toBe(foldKey('Jane  Doe'));
  });

  it('folds ß to ss, so Straße equals STRASSE', () => {
    expect(foldKey('Straße')).toBe(foldKey('STRASSE'));
    expect(foldKey('Straße')).toBe('strasse');
  });

  it('folds compatibility forms (ligatures, full-width letters)', () => {
    expect(foldKey('\ufb01le')).toBe('file');
    expect(foldKey('\uff2a\uff41\uff4e\uff45')).toBe('jane');
  });

  it('lower-cases addresses for comparison', () => {
    expect(foldKey('Jane.Doe@Corp.TEST')).toBe('jane.doe@corp.test');
  });
});

describe('isCleanText', () => {
  it('accepts ordinary text including astral characters', () => {
    expect(isCleanText('Jane Doe')).toBe(true);
    expect(isCleanText('Müller 😀 漢字')).toBe(true);
    expect(isCleanText('')).toBe(true);
  });

  it('refuses lone surrogates', () => {
    expect(isCleanText('a\ud800')).toBe(false);
    expect(isCleanText('\udc00b')).toBe(false);
    expect(isCleanText('\ude00\ud83d')).toBe(false);
  });

  it('refuses NUL', () => {
    expect(isCleanText('a\u0000b')).toBe(false);
  });
});

describe('sameFoldedKey', () => {
  // Strings close to each other: the same text with some letters' case swapped, sometimes
  // decomposed or with a character changed, over ASCII and a few letters that fold specially.
  const alphabet = fc.constantFrom(...'aAbBzZ09@.-_ ~ßẞſKKµÅÅüÜ\u0308ﬁİı'.split(''));
  const text = fc.array(alphabet, { maxLength: 8 }).map((cs) => cs.join(''));
  const variant = (s: string) =>
    fc
      .tuple(fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }), fc.boolean())
      .map(([swap, decompose]) => {
        const swapped = [...s]
          .map((c, i) => (swap[i] ? (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) : c))
          .join('');
        return decompose ? swapped.normalize('NFD') : swapped;
      });

  it('answers exactly whether the fold keys are equal', () => {
    fc.assert(
      fc.property(
        text.chain((a) => fc.tuple(fc.constant(a), fc.oneof(variant(a), text))),
        ([a, b]) => {
          expect(sameFoldedKey(a, b)).toBe(foldKey(a) === foldKey(b));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('compares printable ASCII case-insensitively', () => {
    expect(sameFoldedKey('Jane.Doe@Corp.TEST', 'jane.doe@corp.test')).toBe(true);
    expect(sameFoldedKey('jane.doe@corp.test', 'jane.doe@corp.tes')).toBe(false);
    expect(sameFoldedKey('a@b[c', 'a@b{c')).toBe(false);
  });
});
