import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lowerBound } from '../../src/directory/binary-search.js';
import { BoundedCache } from '../../src/directory/bounded-cache.js';
import { decodeCursor, encodeCursor, pageSize, sortName } from '../../src/directory/cursor.js';
import { foldedWords, nameQuery, nameWords } from '../../src/directory/fold.js';
import { ValidationError } from '../../src/model/errors.js';

describe('bounded cache', () => {
  it('evicts the least recently used entries beyond its weight budget', () => {
    const cache = new BoundedCache<string, number[]>(5, (v) => v.length);
    cache.set('a', [1, 2]);
    cache.set('b', [1, 2]);
    expect(cache.get('a')).toEqual([1, 2]); // a is now the most recent
    cache.set('c', [1, 2]); // 6 > 5: b goes
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toEqual([1, 2]);
    expect(cache.get('c')).toEqual([1, 2]);
    cache.set('huge', [1, 2, 3, 4, 5, 6]); // heavier than the budget: not kept, nothing evicted
    expect(cache.get('huge')).toBeUndefined();
    expect(cache.get('a')).toEqual([1, 2]);
    expect(cache.get('c')).toEqual([1, 2]);
    cache.set('a', [1]); // replacing re-weighs: 1 + 2 + 2 fits
    cache.set('d', [1, 2]);
    expect(cache.get('a')).toEqual([1]);
    expect(cache.get('c')).toEqual([1, 2]);
    expect(cache.get('d')).toEqual([1, 2]);
  });
});

describe('cursors', () => {
  it('round-trips sort keys, Unicode included', () => {
    const key = { name: 'müller, anna', id: 'c1:{guid}' };
    expect(decodeCursor(encodeCursor(key))).toEqual(key);
  });

  it('rejects anything else', () => {
    for (const bad of [
      '',
      'x',
      Buffer.from('[1,2,3]').toString('base64url'),
      Buffer.from('["v0","a","b"]').toString('base64url'),
    ]) {
      expect(() => decodeCursor(bad)).toThrow(ValidationError);
    }
    expect(() => decodeCursor('x')).toThrow(
      expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'after', reason: 'INVALID_CURSOR' }),
    );
  });

  it('checks page sizes', () => {
    expect(pageSize(undefined, 50)).toBe(50);
    expect(pageSize(0, 50)).toBe(0);
    expect(() => pageSize(-1, 50)).toThrow(
      expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'first', reason: 'OUT_OF_RANGE' }),
    );
    expect(() => pageSize(Number.NaN, 50)).toThrow(ValidationError);
  });
});

describe('name words', () => {
  it('splits names on whitespace and punctuation', () => {
    expect(nameWords("  O'Brien-Smith, Mary_Ann (IT).  ")).toEqual([
      'o',
      'brien',
      'smith',
      'mary',
      'ann',
      'it',
    ]);
    expect(nameQuery('Müller,   An')).toBe('müller an');
    expect(nameQuery(' ,. ')).toBe('');
  });

  it('finds the same words in the folded sort name as in the name itself', () => {
    // Whitespace of every kind, characters NFKC turns into spaces (´ ¨), combining marks, case oddities.
    const ch = fc.constantFrom(
      ...' \u00a0\u3000\u2003\t\n\ufeff\u00b4\u00a8\u0301\u0338=,.-_abAßẞſKµÅİıΣσς\u02bcﬁ①⑴\u2028\u200b'.split(
        '',
      ),
    );
    const name = fc.array(ch, { maxLength: 10 }).map((chars) => chars.join(''));
    fc.assert(
      fc.property(name, (n) => {
        expect(foldedWords(sortName(n))).toEqual(nameWords(n));
      }),
      { numRuns: 5000 },
    );
  });
});

describe('binary search', () => {
  it('finds the first position the predicate does not hold at, in any sorted list', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 20 })),
        fc.integer({ min: -1, max: 21 }),
        (values, key) => {
          const sorted = values.sort((a, b) => a - b);
          const expected = sorted.findIndex((v) => v >= key);
          const at = lowerBound(sorted.length, (i) => (sorted[i] as number) < key);
          expect(at).toBe(expected < 0 ? sorted.length : expected);
        },
      ),
      { numRuns: 2000 },
    );
    expect(lowerBound(0, () => true)).toBe(0);
  });
});
