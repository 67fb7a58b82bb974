/**
 * The test-data generator is pure and exact: same options, same data;
 * sizes as asked; duplicates only where planted, and recorded.
 */
import { describe, expect, it } from 'vitest';
import {
  allEntries,
  type Dataset,
  type DirectoryEntry,
  duplicateKey,
  expectedAddresses,
  expectedPrimaryEmail,
  expectedTransitiveMembers,
  type GeneratorOptions,
  generateDirectory,
} from '../../scripts/directories/generator.js';
import {
  guidFromBytes,
  guidToBytes,
  sidFromBytes,
  sidToBytes,
} from '../../scripts/directories/identifiers.js';
import { datasetToLdif } from '../../scripts/directories/ldif.js';
import { FIRST_NAMES, LAST_NAMES } from '../../scripts/directories/names.js';
import { datasetOperations } from '../../scripts/directories/samba-data.js';
import { SHARED_SAMBA_DATASET, SHARED_SLAPD_DATASET } from '../setup/datasets.js';

const BASE: GeneratorOptions = { users: 300, groups: 20, contacts: 40, seed: 42, baseDn: 'dc=corp,dc=test' };
const DUPLICATES = {
  userNames: 4,
  groupNames: 3,
  contactNames: 2,
  kerberosNames: 2,
  ntlmNames: 2,
  emailAddresses: 8,
};

type Kind = 'names' | 'kerberos' | 'ntlm' | 'email';

/** Every value shared by more than one entry, per kind, grouped by duplicateKey. */
function findDuplicates(
  dataset: Dataset,
  kind: Kind,
  entries: Iterable<DirectoryEntry>,
): Map<string, Set<string>> {
  const byKey = new Map<string, Set<string>>();
  for (const entry of entries) {
    let keys: string[] = [];
    if (kind === 'names') keys = [entry.displayName];
    if (kind === 'kerberos' && entry.kind === 'user') keys = [entry.userPrincipalName];
    if (kind === 'ntlm' && entry.kind === 'user') keys = [entry.sAMAccountName];
    if (kind === 'email') keys = expectedAddresses(entry);
    for (const key of new Set(keys.map(duplicateKey))) {
      const set = byKey.get(key) ?? new Set<string>();
      set.add(entry.guid);
      byKey.set(key, set);
    }
  }
  void dataset;
  return new Map([...byKey].filter(([, guids]) => guids.size > 1));
}

function plantedMap(planted: Dataset['planted'][keyof Dataset['planted']]): Map<string, Set<string>> {
  return new Map(planted.map((p) => [p.key, new Set(p.entries.map((e) => e.guid))]));
}

describe('generateDirectory', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const a = generateDirectory({ ...BASE, duplicates: DUPLICATES });
    const b = generateDirectory({ ...BASE, duplicates: DUPLICATES });
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    const c = generateDirectory({ ...BASE, seed: 43, duplicates: DUPLICATES });
    expect(c.users.map((u) => u.guid)).not.toEqual(a.users.map((u) => u.guid));
  });

  it('makes exactly the sizes asked, from 10 entries up', () => {
    const tiny = generateDirectory({ users: 5, groups: 3, contacts: 2, seed: 1, baseDn: 'dc=corp,dc=test' });
    expect([tiny.users.length, tiny.groups.length, tiny.contacts.length]).toEqual([5, 3, 2]);
    for (const group of tiny.groups) expect(group.members.length).toBeGreaterThan(0);
    const empty = generateDirectory({ users: 0, groups: 1, contacts: 0, seed: 1, baseDn: 'dc=corp,dc=test' });
    expect(empty.groups[0]?.members.length).toBe(1);
  });

  it('gives unique GUIDs, DNs, account names and (unplanted) names', () => {
    const dataset = generateDirectory({ ...BASE, users: 5000, groups: 200, contacts: 500 });
    const entries = [...allEntries(dataset)];
    expect(new Set(entries.map((e) => e.guid)).size).toBe(entries.length);
    expect(new Set(entries.map((e) => e.dn.toLowerCase())).size).toBe(entries.length);
    for (const kind of ['names', 'kerberos', 'ntlm', 'email'] as const) {
      for (const list of [dataset.users, dataset.groups, dataset.contacts]) {
        expect(findDuplicates(dataset, kind, list), kind).toEqual(new Map());
      }
    }
    expect(findDuplicates(dataset, 'email', entries)).toEqual(new Map());
    const sams = [...dataset.users, ...dataset.groups].map((e) => e.sAMAccountName.toLowerCase());
    expect(new Set(sams).size).toBe(sams.length);
    for (const sam of sams) expect(sam.length).toBeLessThanOrEqual(20);
  });

  it('records planted duplicates exactly: nothing more, nothing less', () => {
    const dataset = generateDirectory({ ...BASE, duplicates: DUPLICATES });
    const { planted } = dataset;
    expect(planted.userNames).toHaveLength(4);
    expect(planted.groupNames).toHaveLength(3);
    expect(planted.contactNames).toHaveLength(2);
    expect(planted.kerberosNames).toHaveLength(2);
    expect(planted.ntlmNames).toHaveLength(2);
    expect(planted.emailAddresses).toHaveLength(8);
    expect(findDuplicates(dataset, 'names', dataset.users)).toEqual(plantedMap(planted.userNames));
    expect(findDuplicates(dataset, 'names', dataset.groups)).toEqual(plantedMap(planted.groupNames));
    expect(findDuplicates(dataset, 'names', dataset.contacts)).toEqual(plantedMap(planted.contactNames));
    expect(findDuplicates(dataset, 'kerberos', dataset.users)).toEqual(plantedMap(planted.kerberosNames));
    expect(findDuplicates(dataset, 'ntlm', dataset.users)).toEqual(plantedMap(planted.ntlmNames));
    expect(findDuplicates(dataset, 'email', allEntries(dataset))).toEqual(plantedMap(planted.emailAddresses));
    // Every fourth name duplicate involves three objects.
    expect(planted.userNames[3]?.entries).toHaveLength(3);
  });

  it('plants case-only and normalization-only variants, mail against proxies, across kinds', () => {
    const { planted } = generateDirectory({ ...BASE, duplicates: DUPLICATES });
    const spellings = [...planted.userNames, ...planted.emailAddresses].map((p) => p.spellings);
    expect(spellings.some(([a, b]) => a !== b && a?.toLowerCase() === b?.toLowerCase())).toBe(true);
    expect(spellings.some(([a, b]) => a !== b && a?.normalize('NFC') === b?.normalize('NFC'))).toBe(true);
    const kinds = planted.emailAddresses.map((p) => p.entries.map((e) => e.kind).join('-'));
    expect(new Set(kinds)).toEqual(new Set(['user-user', 'user-contact', 'group-user']));
    for (const p of [...planted.userNames, ...planted.emailAddresses]) {
      expect(new Set(p.spellings.map(duplicateKey))).toEqual(new Set([p.key]));
    }
  });

  it('builds a large group above 1,500 members, a 3-level chain and a cycle', () => {
    const dataset = generateDirectory({ ...BASE, users: 1700 });
    const large = dataset.groups.find((g) => g.dn === dataset.structure.largeGroup);
    expect(large?.members).toHaveLength(1600);
    const [a, b, c] = dataset.structure.chain;
    const group = (dn: string | undefined) => dataset.groups.find((g) => g.dn === dn);
    expect(group(a)?.members).toContain(b);
    expect(group(b)?.members).toContain(c);
    expect(expectedTransitiveMembers(dataset, a ?? '')).toEqual(
      new Set([...(group(a)?.members ?? []), ...(group(b)?.members ?? []), ...(group(c)?.members ?? [])]),
    );
    const [x, , z] = dataset.structure.cycle;
    expect(group(z)?.members).toContain(x);
    expect(expectedTransitiveMembers(dataset, x ?? '').has(x ?? '')).toBe(true);
    // Bounded by the number of users.
    expect(generateDirectory(BASE).groups[0]?.members).toHaveLength(300);
  });

  it('disables the requested share of users with userAccountControl 514', () => {
    const dataset = generateDirectory({ ...BASE, users: 1000, disabledShare: 0.25 });
    expect(dataset.users.filter((u) => u.userAccountControl === 514)).toHaveLength(250);
    expect(dataset.users.filter((u) => u.userAccountControl === 512)).toHaveLength(750);
  });

  it('includes non-ASCII, decomposed and DN-escaped names and non-mail proxies', () => {
    const dataset = generateDirectory({ ...BASE, users: 5000 });
    const names = dataset.users.map((u) => u.displayName);
    expect(names.some((n) => n.includes('Müller'))).toBe(true);
    expect(names.some((n) => n.includes('Mu\u0308ller'))).toBe(true);
    expect(names.some((n) => n.includes('Ærøskøbing'))).toBe(true);
    expect(names.some((n) => n.includes('山田'))).toBe(true);
    const escaped = dataset.users.find((u) => u.cn.includes(','));
    expect(escaped?.dn).toContain('Smith\\, Jr.');
    const proxies = dataset.users.flatMap((u) => u.proxyAddresses);
    expect(proxies.some((p) => p.startsWith('X500:'))).toBe(true);
    expect(proxies.some((p) => p.startsWith('sip:'))).toBe(true);
  });

  it('computes expected addresses: mail plus smtp proxies, case-insensitively deduplicated', () => {
    const entry = {
      mail: 'anna@corp.test',
      proxyAddresses: ['SMTP:ANNA@corp.test', 'smtp:a.m@corp.test', 'X500:/o=x', 'sip:anna@corp.test'],
    };
    expect(expectedAddresses(entry)).toEqual(['anna@corp.test', 'a.m@corp.test']);
    expect(expectedPrimaryEmail({ mail: null, proxyAddresses: ['smtp:b@x', 'SMTP:a@x'] })).toBe('a@x');
  });

  it('generates 100k users, 10k groups and 20k contacts in seconds', () => {
    const started = performance.now();
    const dataset = generateDirectory({
      users: 100_000,
      groups: 10_000,
      contacts: 20_000,
      seed: 'bench',
      baseDn: 'dc=corp,dc=test',
      duplicates: DUPLICATES,
    });
    const elapsed = performance.now() - started;
    expect(dataset.users).toHaveLength(100_000);
    expect(new Set(dataset.users.map((u) => u.dn.toLowerCase())).size).toBe(100_000);
    expect(elapsed).toBeLessThan(10_000);
  }, 30_000);

  it('keeps the shared slapd and Samba datasets disjoint', () => {
    const slapd = generateDirectory(SHARED_SLAPD_DATASET);
    const samba = generateDirectory(SHARED_SAMBA_DATASET);
    const keys = (dataset: Dataset) =>
      new Set(
        [...allEntries(dataset)].flatMap((e) => [
          `${e.kind}:${duplicateKey(e.displayName)}`,
          ...expectedAddresses(e).map((a) => `@${duplicateKey(a)}`),
          ...(e.kind === 'contact' ? [] : [`sam:${duplicateKey(e.sAMAccountName)}`]),
          e.guid,
        ]),
      );
    const slapdKeys = keys(slapd);
    expect([...keys(samba)].filter((key) => slapdKeys.has(key))).toEqual([]);
  });
});

describe('word lists and identifiers', () => {
  it('lists distinct names after folding', () => {
    for (const list of [FIRST_NAMES, LAST_NAMES]) {
      expect(new Set(list.map(duplicateKey)).size).toBe(list.length);
      for (const name of list) expect(name).toBe(name.normalize('NFC'));
    }
  });

  it("round-trips GUIDs in AD's byte order and SIDs", () => {
    const bytes = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
    expect(guidFromBytes(bytes)).toBe('03020100-0504-0706-0809-0a0b0c0d0e0f');
    expect(guidToBytes('03020100-0504-0706-0809-0a0b0c0d0e0f')).toEqual(bytes);
    expect(sidFromBytes(sidToBytes('S-1-5-21-1-2-3-1104'))).toBe('S-1-5-21-1-2-3-1104');
  });
});

describe('loaders', () => {
  it('writes LDIF with base64 for binary and non-ASCII values', () => {
    const dataset = generateDirectory({ ...BASE, users: 200 });
    const ldif = datasetToLdif(dataset, { memberOf: true });
    expect(ldif).toMatch(/^objectGUID:: /m);
    expect(ldif).toMatch(/^memberOf: /m);
    expect(ldif).not.toMatch(/^[a-zA-Z]+: .*[^\x00-\x7f]/m);
    const entries = ldif.trim().split('\n\n');
    expect(entries).toHaveLength(4 + 200 + 20 + 40);
  });

  it('turns a dataset into Samba operations, nested group members last', () => {
    const dataset = generateDirectory({ ...BASE, baseDn: 'DC=corp,DC=test' });
    const operations = [...datasetOperations(dataset)];
    const modifies = operations.filter((op) => op.op === 'modify-add');
    expect(modifies.length).toBeGreaterThan(0);
    expect(operations.findIndex((op) => op.op === 'modify-add')).toBeGreaterThan(
      operations.findLastIndex((op) => op.op === 'add'),
    );
  });
});
