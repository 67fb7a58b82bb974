import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { accountKeys, nameKeys } from '../../src/directory/autocomplete-build.js';
import { BoundedCache } from '../../src/directory/bounded-cache.js';
import {
  DirectoryInputError,
  decodeCursor,
  encodeCursor,
  pageSize,
  sortName,
} from '../../src/directory/cursor.js';
import { fold, foldedWords, nameQuery, nameWords } from '../../src/directory/fold.js';
import type { PrincipalRecord } from '../../src/model/principal.js';

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
    expect(cache.size).toBe(2);
    cache.set('a', [1]); // replacing re-weighs
    cache.set('d', [1, 2]);
    expect(cache.size).toBe(3);
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
      expect(() => decodeCursor(bad)).toThrow(DirectoryInputError);
    }
    expect(new DirectoryInputError('x').code).toBe('BAD_USER_INPUT');
  });

  it('checks page sizes', () => {
    expect(pageSize(undefined, 50)).toBe(50);
    expect(pageSize(0, 50)).toBe(0);
    expect(() => pageSize(-1, 50)).toThrow(DirectoryInputError);
    expect(() => pageSize(Number.NaN, 50)).toThrow(DirectoryInputError);
  });
});

describe('name and account keys', () => {
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
        expect(nameKeys(n, sortName(n))).toEqual(nameKeys(n));
      }),
      { numRuns: 5000 },
    );
  });

  it('indexes each word and each run of words to the end', () => {
    expect(nameKeys('Anna B. Müller').sort()).toEqual(
      ['anna', 'anna b müller', 'b', 'b müller', 'müller'].sort(),
    );
    expect(nameKeys('Solo')).toEqual(['solo']);
    expect(nameKeys('')).toEqual([]);
  });

  it('gives the account keys of the definition: sAMAccountName, then a different UPN local part, none empty', () => {
    const reference = (p: PrincipalRecord): string[] => {
      const keys: string[] = [];
      if (p.samAccountName) keys.push(fold(p.samAccountName.trim()));
      if (p.userPrincipalName) {
        const upn = p.userPrincipalName.trim();
        const at = upn.lastIndexOf('@');
        const local = fold(at > 0 ? upn.slice(0, at) : upn);
        if (!keys.includes(local)) keys.push(local);
      }
      return keys.filter((k) => k.length > 0);
    };
    const text = fc
      .array(fc.constantFrom(...'aA @.ßSS\u00a0'.split('')), { maxLength: 6 })
      .map((c) => c.join(''));
    fc.assert(
      fc.property(fc.option(text), fc.option(text), (sam, upn) => {
        const p = { samAccountName: sam, userPrincipalName: upn } as PrincipalRecord;
        expect(accountKeys(p)).toEqual(reference(p));
      }),
      { numRuns: 3000 },
    );
  });

  it('takes the sAMAccountName and the local part of the userPrincipalName', () => {
    const base = { samAccountName: 'JDoe', userPrincipalName: 'john.doe@corp.test' } as PrincipalRecord;
    expect(accountKeys(base)).toEqual(['jdoe', 'john.doe']);
    expect(accountKeys({ ...base, userPrincipalName: 'JDOE@corp.test' })).toEqual(['jdoe']);
    expect(accountKeys({ ...base, samAccountName: null, userPrincipalName: null })).toEqual([]);
  });
});
