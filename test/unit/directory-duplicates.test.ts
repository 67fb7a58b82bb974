import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  consequences,
  consequenceText,
  type DuplicateFinding,
  diffFindings,
} from '../../src/directory/duplicate-detection.js';
import { DUPLICATE_KINDS, type DuplicateKind } from '../../src/model/finding.js';
import { ntlmName, type PrincipalRecord } from '../../src/model/principal.js';
import { foldKey } from '../../src/model/text.js';
import { viewOf } from '../support/directory-views.js';
import { principal } from '../support/principals.js';

const netbios = new Map<string, string | null>([
  ['c1', 'CORP'],
  ['c2', 'OTHER'],
  ['c3', 'corp'],
]);
const kindsOf = (findings: readonly DuplicateFinding[]) => findings.map((f) => f.kind);

/** What the gateway finds in the principals: the findings of their directory view. */
async function detect(
  principals: readonly PrincipalRecord[],
  netbiosNames: ReadonlyMap<string, string | null> = netbios,
): Promise<readonly DuplicateFinding[]> {
  return (await viewOf(principals, { netbios: netbiosNames })).findings;
}

/** A finding's id: stable across runs and nodes. */
function findingId(kind: DuplicateKind, foldedValue: string): string {
  return createHash('sha1').update(`${kind}\u0000${foldedValue}`).digest('hex');
}

describe('duplicate detection', () => {
  it('finds nothing in clean data', async () => {
    const clean = [
      principal({
        displayName: 'Anna',
        emails: ['anna@corp.test'],
        samAccountName: 'anna',
        userPrincipalName: 'anna@corp.test',
      }),
      principal({ displayName: 'Bob', emails: ['bob@corp.test', 'robert@corp.test'], samAccountName: 'bob' }),
      principal({ kind: 'GROUP', displayName: 'Anna', emails: ['team@corp.test'], samAccountName: 'anna' }),
      principal({ kind: 'CONTACT', displayName: 'Bob', emails: ['bob@partner.example'] }),
      principal({
        connectionId: 'c2',
        displayName: 'Carl',
        samAccountName: 'anna',
        emails: ['carl@other.test'],
      }),
    ];
    expect(await detect(clean)).toEqual([]);
  });

  it('finds user, group and contact names, each among their own kind', async () => {
    const a = principal({ displayName: 'Anna Müller' });
    const b = principal({ displayName: 'ANNA MU\u0308LLER', connectionId: 'c2' });
    const g1 = principal({ kind: 'GROUP', displayName: 'Sales' });
    const g2 = principal({ kind: 'GROUP', displayName: 'sales ' });
    const k1 = principal({ kind: 'CONTACT', displayName: 'Straße' });
    const k2 = principal({ kind: 'CONTACT', displayName: 'STRASSE' });
    const findings = await detect([a, b, g1, g2, k1, k2]);
    expect(kindsOf(findings)).toEqual(['USER_NAME', 'GROUP_NAME', 'CONTACT_NAME']);
    expect(findings[0]).toEqual({
      id: findingId('USER_NAME', 'anna müller'),
      kind: 'USER_NAME',
      value: 'Anna Müller',
      principalIds: [a.id, b.id].sort(),
      sameObject: false,
    });
    expect(findings[1]?.principalIds).toEqual([g1.id, g2.id].sort());
    expect(findings[2]?.principalIds).toEqual([k1.id, k2.id].sort());
  });

  it('finds Kerberos names across connections', async () => {
    const a = principal({ userPrincipalName: 'anna@corp.test' });
    const b = principal({ connectionId: 'c2', userPrincipalName: 'Anna@CORP.test' });
    const findings = await detect([a, b]);
    expect(kindsOf(findings)).toEqual(['KERBEROS_NAME']);
    expect(findings[0]?.value).toBe('anna@corp.test');
  });

  it('finds NTLM names only within one NetBIOS domain', async () => {
    const a = principal({ connectionId: 'c1', samAccountName: 'jdoe' });
    const b = principal({ connectionId: 'c2', samAccountName: 'jdoe' });
    expect(await detect([a, b])).toEqual([]);
    // c3 is another connection of the CORP NetBIOS domain (spelled in lower case).
    const c = principal({ connectionId: 'c3', samAccountName: 'JDoe' });
    const findings = await detect([a, b, c]);
    expect(kindsOf(findings)).toEqual(['NTLM_NAME']);
    expect(findings[0]?.value).toBe('CORP\\jdoe');
    expect(findings[0]?.principalIds).toEqual([a.id, c.id].sort());
    // Without a known NetBIOS name there is no NTLM name to compare.
    expect(await detect([a, c], new Map())).toEqual([]);
  });

  it('finds addresses, mail against proxy addresses, case- and Unicode-only differences', async () => {
    const mail = principal({ emails: ['info@corp.test'] });
    const proxy = principal({
      kind: 'GROUP',
      primaryEmail: 'g@corp.test',
      emails: ['g@corp.test', 'INFO@corp.test'],
    });
    const contact = principal({ kind: 'CONTACT', emails: ['müller@corp.test'] });
    const decomposed = principal({ emails: ['MU\u0308LLER@corp.test'] });
    const findings = await detect([mail, proxy, contact, decomposed]);
    expect(findings.map((f) => [f.kind, f.value, f.principalIds])).toEqual([
      ['EMAIL_ADDRESS', 'info@corp.test', [mail.id, proxy.id].sort()],
      ['EMAIL_ADDRESS', 'müller@corp.test', [contact.id, decomposed.id].sort()],
    ]);
  });

  it('does not count one object listing a value twice', async () => {
    const twice = principal({ emails: ['x@corp.test', 'X@CORP.TEST'] });
    expect(await detect([twice])).toEqual([]);
  });

  it('counts one object read through two connections as two accounts, in every kind', async () => {
    // The same directory object read by c1 and by c3, both of the CORP NetBIOS domain.
    const account = {
      displayName: 'Dup',
      emails: ['d@corp.test'],
      samAccountName: 'dup',
      userPrincipalName: 'dup@corp.test',
    };
    const here = principal({ guid: 'same', connectionId: 'c1', ...account });
    const there = principal({ guid: 'same', connectionId: 'c3', ...account });
    const group = { kind: 'GROUP' as const, displayName: 'Team', emails: ['team@corp.test'] };
    const contact = { kind: 'CONTACT' as const, displayName: 'Partner' };
    const g = [
      principal({ guid: 'grp', ...group }),
      principal({ guid: 'grp', connectionId: 'c3', ...group }),
    ];
    const k = [
      principal({ guid: 'con', ...contact }),
      principal({ guid: 'con', connectionId: 'c3', ...contact }),
    ];
    const findings = await detect([here, there, ...g, ...k]);
    expect(findings.map((f) => [f.kind, f.value, f.principalIds, f.sameObject])).toEqual([
      ['USER_NAME', 'Dup', [here.id, there.id].sort(), true],
      ['GROUP_NAME', 'Team', g.map((p) => p.id).sort(), true],
      ['CONTACT_NAME', 'Partner', k.map((p) => p.id).sort(), true],
      ['KERBEROS_NAME', 'dup@corp.test', [here.id, there.id].sort(), true],
      ['NTLM_NAME', 'CORP\\dup', [here.id, there.id].sort(), true],
      ['EMAIL_ADDRESS', 'd@corp.test', [here.id, there.id].sort(), true],
      ['EMAIL_ADDRESS', 'team@corp.test', g.map((p) => p.id).sort(), true],
    ]);
    // Their consequences apply to each account.
    const view = await viewOf([here, there], { netbios });
    for (const p of [here, there]) {
      expect(view.consequencesFor(p.id)).toEqual({
        spoofingProtection: false,
        personalBackupAllowed: false,
        personalListsAllowed: false,
      });
    }
    expect(view.addressInfo('d@corp.test')?.duplicated).toBe(true);
  });

  it('says sameObject when any two principals of a finding are one object, and only then', async () => {
    const here = principal({ guid: 'same', connectionId: 'c1', displayName: 'Dup' });
    const there = principal({ guid: 'same', connectionId: 'c3', displayName: 'Dup' });
    const other = principal({ displayName: 'dup' });
    const [mixed] = await detect([here, there, other]);
    expect(mixed?.principalIds).toEqual([here.id, there.id, other.id].sort());
    expect(mixed?.sameObject).toBe(true);
    // Two objects, each read once.
    const [real] = await detect([here, other]);
    expect(real?.sameObject).toBe(false);
    // GUIDs are compared as the directory spells them (one directory spells an object's id one way).
    const spelled = principal({ guid: 'SAME', connectionId: 'c2', displayName: 'Dup' });
    expect((await detect([here, spelled]))[0]?.sameObject).toBe(false);
    // A principal without a GUID is an object of its own.
    const a = principal({ guid: '', connectionId: 'c1', displayName: 'X' });
    const b = principal({ guid: '', connectionId: 'c2', displayName: 'X' });
    expect((await detect([a, b]))[0]?.sameObject).toBe(false);
  });

  it('lists every object involved and keeps ids stable', async () => {
    const three = [1, 2, 3].map(() => principal({ displayName: 'Same' }));
    const [finding] = await detect(three.slice().reverse());
    expect(finding?.principalIds).toEqual(three.map((p) => p.id).sort());
    expect(finding?.id).toMatch(/^[0-9a-f]{40}$/);
    expect((await detect(three))[0]?.id).toBe(finding?.id);
  });

  it('finds every kind at once and in a stable order', async () => {
    const a = principal({ displayName: 'N', userPrincipalName: 'u@x', samAccountName: 's', emails: ['e@x'] });
    const b = principal({ displayName: 'n', userPrincipalName: 'U@X', samAccountName: 'S', emails: ['E@X'] });
    const g1 = principal({ kind: 'GROUP', displayName: 'G' });
    const g2 = principal({ kind: 'GROUP', displayName: 'g' });
    const c1 = principal({ kind: 'CONTACT', displayName: 'C' });
    const c2 = principal({ kind: 'CONTACT', displayName: 'c' });
    expect(kindsOf(await detect([a, b, g1, g2, c1, c2]))).toEqual([...DUPLICATE_KINDS]);
  });
});

// A reference detector written from the rules alone: every value of every principal folded and
// compared, each value spelt as the first principal in display order (folded name, then id) has it.
function reference(principals: readonly PrincipalRecord[]): unknown[] {
  const sortKey = (p: PrincipalRecord) => [foldKey(p.displayName.trim()), p.id] as const;
  const ordered = [...principals].sort((a, b) => {
    const [x, y] = [sortKey(a), sortKey(b)];
    return x[0] !== y[0] ? (x[0] < y[0] ? -1 : 1) : x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0;
  });
  const valuesOf = (kind: DuplicateKind, p: PrincipalRecord): readonly (string | null)[] => {
    switch (kind) {
      case 'USER_NAME':
        return p.kind === 'USER' ? [p.displayName] : [];
      case 'GROUP_NAME':
        return p.kind === 'GROUP' ? [p.displayName] : [];
      case 'CONTACT_NAME':
        return p.kind === 'CONTACT' ? [p.displayName] : [];
      case 'KERBEROS_NAME':
        return p.kind === 'USER' ? [p.userPrincipalName] : [];
      case 'NTLM_NAME':
        return [ntlmName(p, netbios.get(p.connectionId) ?? null)];
      case 'EMAIL_ADDRESS':
        return p.emails;
    }
  };
  const found: unknown[] = [];
  for (const kind of DUPLICATE_KINDS) {
    const byKey = new Map<string, { value: string; principals: PrincipalRecord[] }>();
    for (const p of ordered) {
      const own = new Set<string>();
      for (const raw of valuesOf(kind, p)) {
        const value = raw?.trim() ?? '';
        const key = foldKey(value);
        if (value.length === 0 || own.has(key)) continue;
        own.add(key);
        const group = byKey.get(key);
        if (group) group.principals.push(p);
        else byKey.set(key, { value, principals: [p] });
      }
    }
    for (const key of [...byKey.keys()].sort()) {
      const group = byKey.get(key) as { value: string; principals: PrincipalRecord[] };
      // Two accounts at least: one object through two connections is two (and one object listing
      // a value twice is one). sameObject: two of them have the same directory id.
      const ids = [...new Set(group.principals.map((p) => p.id))].sort();
      if (ids.length < 2) continue;
      const objects = new Set(group.principals.map((p) => (p.guid ? `guid:${p.guid}` : p.id)));
      const sameObject = objects.size < ids.length;
      found.push({ id: findingId(kind, key), kind, value: group.value, principalIds: ids, sameObject });
    }
  }
  return found;
}

describe('duplicate detection against a reference', () => {
  // Few distinct values, in several spellings, so that duplicates are common.
  const name = fc.constantFrom('Anna', ' anna', 'ANNA ', 'Müller', 'Mu\u0308ller', 'ß', 'SS', '  ', 'Bob');
  const address = fc.constantFrom(
    'a@x.test',
    ' A@X.test',
    'b@x.test',
    'Ü@x.test',
    'u\u0308@x.test',
    ' ',
    'ﬁ@x.test',
  );
  const principals = fc
    .array(
      fc.record({
        connectionId: fc.constantFrom('c1', 'c2', 'c3'),
        guid: fc.constantFrom('g1', 'G1', 'g2', 'g3', 'g4', 'g5', 'g6', 'g7', 'g8'),
        kind: fc.constantFrom('USER' as const, 'GROUP' as const, 'CONTACT' as const),
        displayName: name,
        emails: fc.array(address, { maxLength: 3 }),
        samAccountName: fc.option(fc.constantFrom('anna', 'ANNA', 'bob')),
        userPrincipalName: fc.option(fc.constantFrom('anna@x.test', 'Anna@X.test', 'bob@x.test')),
      }),
      { maxLength: 12 },
    )
    .map((rows) => {
      // One record per id, as a view holds them.
      const byId = new Map(rows.map((r) => [`${r.connectionId}:${r.guid}`, principal(r)]));
      return [...byId.values()];
    });

  it('finds what comparing every value with every other finds', async () => {
    await fc.assert(
      fc.asyncProperty(principals, async (list) => {
        expect(await detect(list)).toEqual(reference(list));
      }),
      { numRuns: 300 },
    );
  });
});

describe('duplicate consequences', () => {
  const kinds = {
    user: principal({ displayName: 'Twin', emails: ['t1@corp.test'] }),
    userTwin: principal({ displayName: 'Twin', emails: ['t2@corp.test'] }),
    group: principal({ kind: 'GROUP', displayName: 'Team' }),
    groupTwin: principal({ kind: 'GROUP', displayName: 'TEAM' }),
    contact: principal({ kind: 'CONTACT', displayName: 'Ext' }),
    contactTwin: principal({ kind: 'CONTACT', displayName: 'ext' }),
    upn: principal({ userPrincipalName: 'k@corp.test' }),
    upnTwin: principal({ userPrincipalName: 'K@corp.test' }),
    ntlm: principal({ samAccountName: 'n1' }),
    ntlmTwin: principal({ samAccountName: 'N1' }),
    mail: principal({ emails: ['shared@corp.test'] }),
    mailTwin: principal({ kind: 'CONTACT', emails: ['Shared@Corp.Test'] }),
    clean: principal({ emails: ['clean@corp.test'] }),
  };
  let table: ReturnType<typeof consequences>;
  beforeAll(async () => {
    table = consequences(await detect(Object.values(kinds)));
  });
  const flags = (p: PrincipalRecord) => {
    const c = table.forPrincipal(p.id);
    return [c.spoofingProtection, c.personalBackupAllowed, c.personalListsAllowed];
  };

  it('applies the design table to principals', () => {
    expect(flags(kinds.user)).toEqual([false, false, false]);
    expect(flags(kinds.userTwin)).toEqual([false, false, false]);
    expect(flags(kinds.group)).toEqual([false, true, true]);
    expect(flags(kinds.contactTwin)).toEqual([false, true, true]);
    expect(flags(kinds.upn)).toEqual([true, false, false]);
    expect(flags(kinds.ntlmTwin)).toEqual([true, false, false]);
    // A duplicated address acts on the address, not on its owners.
    expect(flags(kinds.mail)).toEqual([true, true, true]);
    expect(flags(kinds.clean)).toEqual([true, true, true]);
    expect(table.forPrincipal('unknown')).toEqual({
      spoofingProtection: true,
      personalBackupAllowed: true,
      personalListsAllowed: true,
    });
  });

  it('applies the design table to addresses', () => {
    expect(table.addressInfo('SHARED@corp.test')).toEqual({
      duplicated: true,
      personalBackupAllowed: false,
      personalListsAllowed: false,
    });
    expect(table.addressInfo('t1@corp.test')).toEqual({
      duplicated: false,
      personalBackupAllowed: true,
      personalListsAllowed: true,
    });
  });

  it('combines several findings on one principal', async () => {
    const a = principal({ kind: 'GROUP', displayName: 'X', emails: ['x@corp.test'] });
    const b = principal({ kind: 'GROUP', displayName: 'x' });
    const c = principal({ userPrincipalName: 'p@corp.test' });
    const d = principal({ userPrincipalName: 'p@corp.test', displayName: 'Other' });
    const t = consequences(await detect([a, b, c, d]));
    expect(t.forPrincipal(a.id).spoofingProtection).toBe(false);
    expect(t.forPrincipal(c.id)).toEqual({
      spoofingProtection: true,
      personalBackupAllowed: false,
      personalListsAllowed: false,
    });
  });

  it('explains each kind in words', () => {
    for (const kind of DUPLICATE_KINDS) expect(consequenceText(kind).length).toBeGreaterThan(20);
    expect(consequenceText('GROUP_NAME')).toMatch(/spoofing/);
    expect(consequenceText('EMAIL_ADDRESS')).toMatch(/Backup/);
  });
});

describe('finding changes', () => {
  it('reports added, changed and resolved findings', async () => {
    const a = principal({ displayName: 'A' });
    const b = principal({ displayName: 'a' });
    const c = principal({ displayName: 'A' });
    const g1 = principal({ kind: 'GROUP', displayName: 'G' });
    const g2 = principal({ kind: 'GROUP', displayName: 'G' });
    const before = await detect([a, b, g1, g2]);
    const after = await detect([a, b, c]);
    const diff = diffFindings(before, after);
    expect(diff.added.map((f) => f.principalIds)).toEqual([[a.id, b.id, c.id].sort()]);
    expect(diff.resolved).toEqual([before[1]?.id]);
    expect(diffFindings(after, after)).toEqual({ added: [], resolved: [] });
  });
});

describe('overlapping connections', () => {
  it('names the connections that read some of the same objects, with how many', async () => {
    // c1 reads the domain; c2 an OU of it (two of c1's users); c3 a directory of its own.
    const shared = ['u1', 'u2'].map((guid) => principal({ guid, connectionId: 'c1' }));
    const alsoInOu = shared.map((p) => principal({ guid: p.guid, connectionId: 'c2' }));
    const domainOnly = principal({ guid: 'u3', connectionId: 'c1' });
    const elsewhere = principal({ guid: 'other', connectionId: 'c3' });
    const view = await viewOf([...shared, domainOnly, ...alsoInOu, elsewhere]);
    expect([...view.overlaps('c1')]).toEqual([['c2', 2]]);
    expect([...view.overlaps('c2')]).toEqual([['c1', 2]]);
    expect([...view.overlaps('c3')]).toEqual([]);
    expect([...view.overlaps('unknown')]).toEqual([]);
  });

  it('counts each pair of three connections reading one object', async () => {
    const [a, b, c] = ['c1', 'c2', 'c3'].map((connectionId) => principal({ guid: 'one', connectionId }));
    const view = await viewOf([a, b, c] as PrincipalRecord[]);
    expect([...view.overlaps('c2')]).toEqual([
      ['c1', 1],
      ['c3', 1],
    ]);
  });

  it('is gone once one of the connections is (the view without its snapshot)', async () => {
    const p = principal({ guid: 'x', connectionId: 'c1', displayName: 'Same' });
    const q = principal({ guid: 'x', connectionId: 'c2', displayName: 'Same' });
    expect((await viewOf([p, q])).findings.map((f) => f.sameObject)).toEqual([true]);
    const alone = await viewOf([p]);
    expect([...alone.overlaps('c1')]).toEqual([]);
    expect(alone.findings).toEqual([]);
  });
});
