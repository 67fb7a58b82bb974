import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { CANDIDATE_CAP, type SuggestOptions } from '../../src/directory/autocomplete/index.js';
import type { DirectoryView } from '../../src/directory/directory-view.js';
import { fold } from '../../src/directory/fold.js';
import type { PrincipalKind, PrincipalRecord } from '../../src/model/principal.js';
import { foldKey } from '../../src/model/text.js';
import { viewOf } from '../support/directory-views.js';
import { principal } from '../support/principals.js';

const domains = new Map([
  ['c1', 'corp.test'],
  ['c2', 'other.test'],
]);
function index(principals: PrincipalRecord[]): Promise<DirectoryView> {
  return viewOf(principals, { domains });
}
function addresses(view: DirectoryView, prefix: string, options?: SuggestOptions): string[] {
  return view.autocomplete(prefix, options).map((s) => s.address);
}

describe('autocomplete matching', () => {
  const anna = principal({
    displayName: 'Müller, Anna',
    emails: ['anna.mueller@corp.test', 'am@corp.test'],
    samAccountName: 'amueller',
    userPrincipalName: 'a.mueller.upn@corp.test',
  });
  const john = principal({ displayName: 'John Doe', emails: ['jd@corp.test'], samAccountName: 'jdoe' });
  const sales = principal({ kind: 'GROUP', displayName: 'Sales (EMEA)', emails: ['sales@corp.test'] });
  const partner = principal({ kind: 'CONTACT', displayName: "Pat O'Brien", emails: ['pat@partner.example'] });
  const remote = principal({ connectionId: 'c2', displayName: 'Anna Other', emails: ['anna@other.test'] });
  let idx: DirectoryView;
  beforeAll(async () => {
    idx = await index([anna, john, sales, partner, remote]);
  });

  it('finds the start of an address, case-insensitively', () => {
    expect(addresses(idx, 'ANNA.M')).toEqual(['anna.mueller@corp.test']);
    expect(addresses(idx, 'sales@')).toEqual(['sales@corp.test']);
  });

  it('finds the start of any word of the display name, punctuation included', () => {
    expect(addresses(idx, 'mül')).toEqual(['anna.mueller@corp.test', 'am@corp.test']);
    expect(addresses(idx, 'emea')).toEqual(['sales@corp.test']);
    expect(addresses(idx, 'brie')).toEqual(['pat@partner.example']);
    expect(addresses(idx, 'doe')).toEqual(['jd@corp.test']);
  });

  it('finds a run of name words, however they are separated', () => {
    expect(addresses(idx, 'müller, an')).toEqual(['anna.mueller@corp.test', 'am@corp.test']);
    expect(addresses(idx, 'John  D')).toEqual(['jd@corp.test']);
    expect(addresses(idx, 'john x')).toEqual([]);
  });

  it('indexes the first twelve words of a name', async () => {
    const long = principal({
      displayName: 'a b c d e f g h i j k twelfth thirteenth',
      emails: ['l@corp.test'],
    });
    const view = await index([long]);
    expect(addresses(view, 'twelfth')).toEqual(['l@corp.test']);
    expect(addresses(view, 'k twelfth')).toEqual(['l@corp.test']);
    expect(addresses(view, 'thirteenth')).toEqual([]);
  });

  it('finds the start of the sAMAccountName and of the userPrincipalName local part', () => {
    expect(addresses(idx, 'jdo')).toEqual(['jd@corp.test']);
    expect(addresses(idx, 'amuel')).toEqual(['anna.mueller@corp.test', 'am@corp.test']);
    expect(addresses(idx, 'a.mueller.up')).toEqual(['anna.mueller@corp.test', 'am@corp.test']);
  });

  it('scopes by kind and by domain', () => {
    // All three are exact name-word matches: primaries alphabetically ('.' < '@'), then the alias.
    expect(addresses(idx, 'anna')).toEqual(['anna.mueller@corp.test', 'anna@other.test', 'am@corp.test']);
    expect(addresses(idx, 'anna', { domain: 'corp.test' })).toEqual([
      'anna.mueller@corp.test',
      'am@corp.test',
    ]);
    expect(addresses(idx, 'anna', { domain: 'OTHER.TEST' })).toEqual(['anna@other.test']);
    expect(addresses(idx, 'anna', { domain: 'unknown.test' })).toEqual([]);
    expect(addresses(idx, 's', { kinds: ['GROUP'] })).toEqual(['sales@corp.test']);
    expect(addresses(idx, 'p', { kinds: ['USER', 'GROUP'] })).toEqual([]);
    expect(addresses(idx, 'p', { kinds: ['CONTACT'] })).toEqual(['pat@partner.example']);
    expect(addresses(idx, 'p', { kinds: [] })).toEqual(['pat@partner.example']);
  });

  it('returns the owner with each address, each suggestion once', () => {
    const found = idx.autocomplete('a', { first: 50 });
    expect(found.find((s) => s.address === 'am@corp.test')?.principal).toBe(anna);
    const keys = found.map((s) => `${s.address} ${s.principal.id}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('honours first and ignores empty prefixes', () => {
    expect(idx.autocomplete('a', { first: 1 })).toHaveLength(1);
    expect(idx.autocomplete('a', { first: 0 })).toEqual([]);
    expect(idx.autocomplete('   ')).toEqual([]);
    expect(idx.autocomplete('')).toEqual([]);
  });

  it('looks up the owners of an address', () => {
    expect(idx.byEmail('AM@CORP.TEST')).toEqual([anna]);
    expect(idx.byEmail('nobody@corp.test')).toEqual([]);
  });
});

describe('autocomplete ranking', () => {
  it('ranks the owners of a shared key however the directory lists them', async () => {
    // Reading a key's owners stops at the first that cannot beat the answer so far: that is only
    // right when they are kept best first, not in the order the directory listed them.
    const idx = await index([
      principal({ displayName: 'Smith Beta', emails: ['u50@corp.test'], samAccountName: 'smith.b' }),
      principal({ displayName: 'Smith Gamma', emails: ['u90@corp.test'], samAccountName: 'smith.g' }),
      principal({ displayName: 'Smith Alpha', emails: ['u00@corp.test'], samAccountName: 'smith.a' }),
      principal({ displayName: 'Smith Delta', emails: ['u20@corp.test'], enabled: false }),
    ]);
    expect(addresses(idx, 'smith', { first: 1 })).toEqual(['u00@corp.test']);
    expect(addresses(idx, 'smith', { first: 2 })).toEqual(['u00@corp.test', 'u50@corp.test']);
    expect(addresses(idx, 'smith', { first: 4 })).toEqual([
      'u00@corp.test',
      'u50@corp.test',
      'u90@corp.test',
      'u20@corp.test',
    ]);
    expect(addresses(idx, 'smith.', { first: 1 })).toEqual(['u00@corp.test']);
  });

  it('puts exact matches before prefix matches', async () => {
    const idx = await index([
      principal({ displayName: 'Annabel', emails: ['anna@corp.test'] }),
      principal({ displayName: 'Ann Smith', emails: ['smith@corp.test'] }),
      principal({ displayName: 'Zed', emails: ['ann@corp.test'] }),
      principal({ displayName: 'Yves', emails: ['yves@corp.test'], samAccountName: 'ann' }),
    ]);
    // Exact name word, exact account name; then the address prefixes ("ann@..." only starts with "ann").
    expect(addresses(idx, 'ann')).toEqual([
      'smith@corp.test',
      'yves@corp.test',
      'ann@corp.test',
      'anna@corp.test',
    ]);
    // The whole address typed: exact address before the prefix matches of other tiers.
    expect(addresses(idx, 'ann@corp.test')).toEqual(['ann@corp.test']);
  });

  it('puts address matches before name matches before account matches', async () => {
    const idx = await index([
      principal({ displayName: 'X', emails: ['zz@corp.test'], samAccountName: 'bobby' }),
      principal({ displayName: 'Bobby Tables', emails: ['tables@corp.test'] }),
      principal({ displayName: 'Y', emails: ['bobby.b@corp.test'] }),
    ]);
    expect(addresses(idx, 'bob')).toEqual(['bobby.b@corp.test', 'tables@corp.test', 'zz@corp.test']);
  });

  it('puts primary addresses before aliases, then enabled before disabled, then alphabetical', async () => {
    const idx = await index([
      principal({
        displayName: 'P1',
        primaryEmail: 'bob.z@corp.test',
        emails: ['bob.a@corp.test', 'bob.z@corp.test'],
      }),
      principal({ displayName: 'P2', emails: ['bob.b@corp.test'] }),
      principal({ displayName: 'P3', emails: ['bob.c@corp.test', 'bob.0@corp.test'], enabled: false }),
      principal({ displayName: 'P4', emails: ['bob.d@corp.test', 'bob.1@corp.test'] }),
    ]);
    expect(addresses(idx, 'bob')).toEqual([
      'bob.b@corp.test', // primary, enabled
      'bob.d@corp.test',
      'bob.z@corp.test',
      'bob.c@corp.test', // primary, disabled
      'bob.1@corp.test', // alias, enabled
      'bob.a@corp.test',
      'bob.0@corp.test', // alias, disabled
    ]);
  });

  it('orders name matches by the same rules', async () => {
    const idx = await index([
      principal({ displayName: 'Carl Zeta', emails: ['zeta@corp.test', 'a-zeta@corp.test'] }),
      principal({ displayName: 'Carl Alpha', emails: ['alpha@corp.test'], enabled: false }),
      principal({ displayName: 'Carla Beta', emails: ['beta@corp.test'] }),
    ]);
    expect(addresses(idx, 'carl')).toEqual([
      'zeta@corp.test', // exact word "carl", primary, enabled
      'alpha@corp.test', // exact word, primary, disabled
      'a-zeta@corp.test', // exact word, alias
      'beta@corp.test', // prefix of "carla"
    ]);
  });
});

describe('autocomplete and Unicode', () => {
  const composed = principal({ displayName: 'Anna Müller', emails: ['a1@corp.test'] });
  const upper = principal({ displayName: 'BERND MÜLLER', emails: ['b1@corp.test'] });
  const decomposed = principal({ displayName: 'Carl Mu\u0308ller', emails: ['c1@corp.test'] });
  const strauss = principal({ displayName: 'Johann Strauß', emails: ['straß@corp.test'] });
  let idx: DirectoryView;
  beforeAll(async () => {
    idx = await index([composed, upper, decomposed, strauss]);
  });

  it('matches composed, upper-case and decomposed spellings of each other', () => {
    const all = ['a1@corp.test', 'b1@corp.test', 'c1@corp.test'];
    expect(addresses(idx, 'müller')).toEqual(all);
    expect(addresses(idx, 'MÜLLER')).toEqual(all);
    expect(addresses(idx, 'Mu\u0308l')).toEqual(all);
  });

  it('folds ß to ss', () => {
    expect(addresses(idx, 'STRAUSS')).toEqual(['straß@corp.test']);
    expect(addresses(idx, 'strass@')).toEqual(['straß@corp.test']);
  });

  it('folds exactly as foldKey does', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        expect(fold(s)).toBe(foldKey(s));
      }),
      { numRuns: 2000 },
    );
    for (const s of ['Ǆ', 'ﬁ', 'İstanbul', 'ΣΑΣ', 'K', '\u0001A']) expect(fold(s)).toBe(foldKey(s));
  });
});

describe('autocomplete at scale', () => {
  it('answers from a capped candidate set when a name range is huge', async () => {
    const many: PrincipalRecord[] = [];
    for (let i = 0; i < CANDIDATE_CAP * 2; i++) {
      many.push(principal({ displayName: `Zora${i} Q`, emails: [`u${i}@corp.test`] }));
    }
    const idx = await index(many);
    const found = idx.autocomplete('zor', { first: 20 });
    expect(found).toHaveLength(20);
    for (const s of found) expect(fold(s.principal.displayName).startsWith('zor')).toBe(true);
  });
});

// A reference ranker that scans everything, written from the rules alone.
function reference(principals: PrincipalRecord[], prefix: string, options: SuggestOptions): string[] {
  const q = foldKey(prefix.trim());
  const words = (text: string) =>
    foldKey(text)
      .split(/[\s\p{P}]+/u)
      .filter((w) => w.length > 0);
  const nq = words(prefix).join(' ');
  const rows: { key: (string | number)[]; label: string }[] = [];
  for (const p of principals) {
    if (options.kinds && options.kinds.length > 0 && !options.kinds.includes(p.kind)) continue;
    if (options.domain && foldKey(domains.get(p.connectionId) ?? '') !== foldKey(options.domain)) continue;
    const w = words(p.displayName).slice(0, 12);
    const nameKeys = [...w, ...w.map((_, i) => w.slice(i).join(' ')).filter((_, i) => w.length - i >= 2)];
    // sAMAccountName, and the userPrincipalName up to its last "@" (all of it without one).
    const upn = p.userPrincipalName?.trim() ?? '';
    const at = upn.lastIndexOf('@');
    const accountKeys = [p.samAccountName?.trim() ?? '', at > 0 ? upn.slice(0, at) : upn]
      .map(foldKey)
      .filter((k) => k.length > 0);
    const seen = new Set<string>();
    for (const address of p.emails) {
      const fa = foldKey(address);
      if (seen.has(fa)) continue;
      seen.add(fa);
      let tier = Number.POSITIVE_INFINITY;
      const consider = (keys: string[], query: string, source: number) => {
        if (query.length === 0) return;
        if (keys.some((k) => k === query)) tier = Math.min(tier, source);
        else if (keys.some((k) => k.startsWith(query))) tier = Math.min(tier, 3 + source);
      };
      consider([fa], q, 0);
      consider(nameKeys, nq, 1);
      consider(accountKeys, q, 2);
      if (tier === Number.POSITIVE_INFINITY) continue;
      const primary = p.primaryEmail !== null && foldKey(p.primaryEmail) === fa;
      rows.push({
        key: [tier, primary ? 0 : 1, p.enabled ? 0 : 1, fa, address, p.id],
        label: `${address} ${p.id}`,
      });
    }
  }
  rows.sort((a, b) => {
    for (let i = 0; i < a.key.length; i++) {
      const x = a.key[i] as string | number;
      const y = b.key[i] as string | number;
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  });
  return rows.slice(0, options.first ?? 10).map((r) => r.label);
}

describe('autocomplete against a reference', () => {
  it('ranks like a full scan would', async () => {
    const syllable = fc.constantFrom('an', 'na', 'Mü', 'mu\u0308', 'ß', 'ss', 'b', 'o', '.', '-');
    const text = fc.array(syllable, { minLength: 1, maxLength: 4 }).map((a) => a.join(''));
    // Now and then more words than are indexed (12), or spaces around an account name.
    const words = fc.oneof(
      { weight: 4, arbitrary: fc.array(text, { minLength: 1, maxLength: 3 }) },
      { weight: 1, arbitrary: fc.array(text, { minLength: 11, maxLength: 14 }) },
    );
    const padded = fc.tuple(fc.constantFrom('', ' '), text, fc.constantFrom('', ' ')).map((t) => t.join(''));
    const upn = fc
      .array(fc.constantFrom('an', 'Mü', 'ß', 'b', '.', '@', ' ', '@x.test'), { minLength: 1, maxLength: 4 })
      .map((a) => a.join(''));
    const record = fc.record({
      kind: fc.constantFrom<PrincipalKind>('USER', 'GROUP', 'CONTACT'),
      connectionId: fc.constantFrom('c1', 'c2'),
      words,
      separator: fc.constantFrom(' ', ', ', '  '),
      locals: fc.array(text, { minLength: 0, maxLength: 3 }),
      primary: fc.boolean(),
      enabled: fc.boolean(),
      sam: fc.option(padded, { nil: null }),
      upn: fc.option(upn, { nil: null }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(record, { maxLength: 25 }),
        fc.oneof({ weight: 5, arbitrary: text }, { weight: 1, arbitrary: upn }),
        fc.integer({ min: 1, max: 15 }),
        fc.option(fc.constantFrom<PrincipalKind[]>(['USER'], ['GROUP', 'CONTACT']), { nil: undefined }),
        fc.option(fc.constantFrom('corp.test', 'other.test'), { nil: undefined }),
        async (records, typed, first, kinds, domain) => {
          const principals = records.map((r, i) => {
            const emails = r.locals.map((l) => `${l}@x${i % 2}.test`);
            return principal({
              kind: r.kind,
              connectionId: r.connectionId,
              guid: `g${i}`,
              displayName: r.words.join(r.separator),
              emails,
              primaryEmail: r.primary ? (emails[0] ?? null) : null,
              enabled: r.enabled,
              samAccountName: r.sam,
              userPrincipalName: r.upn,
            });
          });
          const options = { first, kinds, domain };
          const got = (await index(principals))
            .autocomplete(typed, options)
            .map((s) => `${s.address} ${s.principal.id}`);
          expect(got).toEqual(reference(principals, typed, options));
        },
      ),
      { numRuns: 1000 },
    );
  });
});
