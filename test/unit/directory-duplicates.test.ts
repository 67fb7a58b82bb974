import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AutocompleteIndex } from '../../src/directory/autocomplete-index.js';
import { sortName } from '../../src/directory/cursor.js';
import {
  consequences,
  consequenceText,
  DUPLICATE_KINDS,
  type DuplicateFinding,
  detectDuplicates,
  diffFindings,
  findingId,
} from '../../src/directory/duplicate-detection.js';
import type { PrincipalRecord } from '../../src/model/principal.js';

let seq = 0;
function principal(fields: Partial<PrincipalRecord>): PrincipalRecord {
  const connectionId = fields.connectionId ?? 'c1';
  const guid = fields.guid ?? `g${String(++seq).padStart(4, '0')}`;
  return {
    id: `${connectionId}:${guid}`,
    connectionId,
    guid,
    kind: 'USER',
    dn: `CN=${guid}`,
    displayName: `Name ${guid}`,
    primaryEmail: fields.emails?.[0] ?? null,
    emails: [],
    samAccountName: null,
    userPrincipalName: null,
    enabled: true,
    memberIds: [],
    ...fields,
  };
}

const netbios = new Map<string, string | null>([
  ['c1', 'CORP'],
  ['c2', 'OTHER'],
  ['c3', 'corp'],
]);
const kindsOf = (findings: DuplicateFinding[]) => findings.map((f) => f.kind);

describe('duplicate detection', () => {
  it('finds nothing in clean data', () => {
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
    expect(detectDuplicates(clean, netbios)).toEqual([]);
  });

  it('finds user, group and contact names, each among their own kind', () => {
    const a = principal({ displayName: 'Anna Müller' });
    const b = principal({ displayName: 'ANNA MU\u0308LLER', connectionId: 'c2' });
    const g1 = principal({ kind: 'GROUP', displayName: 'Sales' });
    const g2 = principal({ kind: 'GROUP', displayName: 'sales ' });
    const k1 = principal({ kind: 'CONTACT', displayName: 'Straße' });
    const k2 = principal({ kind: 'CONTACT', displayName: 'STRASSE' });
    const findings = detectDuplicates([a, b, g1, g2, k1, k2], netbios);
    expect(kindsOf(findings)).toEqual(['USER_NAME', 'GROUP_NAME', 'CONTACT_NAME']);
    expect(findings[0]).toEqual({
      id: findingId('USER_NAME', 'anna müller'),
      kind: 'USER_NAME',
      value: 'Anna Müller',
      principalIds: [a.id, b.id].sort(),
    });
    expect(findings[1]?.principalIds).toEqual([g1.id, g2.id].sort());
    expect(findings[2]?.principalIds).toEqual([k1.id, k2.id].sort());
  });

  it('finds Kerberos names across connections', () => {
    const a = principal({ userPrincipalName: 'anna@corp.test' });
    const b = principal({ connectionId: 'c2', userPrincipalName: 'Anna@CORP.test' });
    const findings = detectDuplicates([a, b], netbios);
    expect(kindsOf(findings)).toEqual(['KERBEROS_NAME']);
    expect(findings[0]?.value).toBe('anna@corp.test');
  });

  it('finds NTLM names only within one NetBIOS domain', () => {
    const a = principal({ connectionId: 'c1', samAccountName: 'jdoe' });
    const b = principal({ connectionId: 'c2', samAccountName: 'jdoe' });
    expect(detectDuplicates([a, b], netbios)).toEqual([]);
    // c3 is another connection of the CORP NetBIOS domain (spelled in lower case).
    const c = principal({ connectionId: 'c3', samAccountName: 'JDoe' });
    const findings = detectDuplicates([a, b, c], netbios);
    expect(kindsOf(findings)).toEqual(['NTLM_NAME']);
    expect(findings[0]?.value).toBe('CORP\\jdoe');
    expect(findings[0]?.principalIds).toEqual([a.id, c.id].sort());
    // Without a known NetBIOS name there is no NTLM name to compare.
    expect(detectDuplicates([a, c], new Map())).toEqual([]);
  });

  it('finds addresses, mail against proxy addresses, case- and Unicode-only differences', () => {
    const mail = principal({ emails: ['info@corp.test'] });
    const proxy = principal({
      kind: 'GROUP',
      primaryEmail: 'g@corp.test',
      emails: ['g@corp.test', 'INFO@corp.test'],
    });
    const contact = principal({ kind: 'CONTACT', emails: ['müller@corp.test'] });
    const decomposed = principal({ emails: ['MU\u0308LLER@corp.test'] });
    const findings = detectDuplicates([mail, proxy, contact, decomposed], netbios);
    expect(findings.map((f) => [f.kind, f.value, f.principalIds])).toEqual([
      ['EMAIL_ADDRESS', 'info@corp.test', [mail.id, proxy.id].sort()],
      ['EMAIL_ADDRESS', 'müller@corp.test', [contact.id, decomposed.id].sort()],
    ]);
  });

  it('does not count one object twice', () => {
    const twice = principal({ emails: ['x@corp.test', 'X@CORP.TEST'] });
    expect(detectDuplicates([twice], netbios)).toEqual([]);
    // The same directory object read by two connections with overlapping search bases.
    const here = principal({ guid: 'same', connectionId: 'c1', displayName: 'Dup', emails: ['d@corp.test'] });
    const there = principal({
      guid: 'SAME',
      connectionId: 'c3',
      displayName: 'Dup',
      emails: ['d@corp.test'],
    });
    expect(detectDuplicates([here, there], netbios)).toEqual([]);
    const other = principal({ displayName: 'dup' });
    const findings = detectDuplicates([here, there, other], netbios);
    expect(findings.map((f) => f.principalIds)).toEqual([[here.id, there.id, other.id].sort()]);
  });

  it('lists every object involved and keeps ids stable', () => {
    const three = [1, 2, 3].map(() => principal({ displayName: 'Same' }));
    const [finding] = detectDuplicates(three.slice().reverse(), netbios);
    expect(finding?.principalIds).toEqual(three.map((p) => p.id).sort());
    expect(finding?.id).toMatch(/^[0-9a-f]{40}$/);
    expect(detectDuplicates(three, netbios)[0]?.id).toBe(finding?.id);
  });

  it('finds every kind at once and in a stable order', () => {
    const a = principal({ displayName: 'N', userPrincipalName: 'u@x', samAccountName: 's', emails: ['e@x'] });
    const b = principal({ displayName: 'n', userPrincipalName: 'U@X', samAccountName: 'S', emails: ['E@X'] });
    const g1 = principal({ kind: 'GROUP', displayName: 'G' });
    const g2 = principal({ kind: 'GROUP', displayName: 'g' });
    const c1 = principal({ kind: 'CONTACT', displayName: 'C' });
    const c2 = principal({ kind: 'CONTACT', displayName: 'c' });
    expect(kindsOf(detectDuplicates([a, b, g1, g2, c1, c2], netbios))).toEqual([...DUPLICATE_KINDS]);
  });
});

describe('duplicate detection from keys already computed', () => {
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
        guid: fc.constantFrom('g1', 'g2', 'g3', 'g4', 'g5', 'g6', 'g7', 'g8'),
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

  it('finds exactly what it finds on its own', () => {
    fc.assert(
      fc.property(principals, (list) => {
        const index = AutocompleteIndex.build(list, () => 'x.test');
        const known = {
          names: list.map((p) => sortName(p.displayName)),
          sharedAddresses: index.sharedAddresses(),
        };
        expect(detectDuplicates(list, netbios, known)).toEqual(detectDuplicates(list, netbios));
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
  const table = consequences(detectDuplicates(Object.values(kinds), netbios));
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

  it('combines several findings on one principal', () => {
    const a = principal({ kind: 'GROUP', displayName: 'X', emails: ['x@corp.test'] });
    const b = principal({ kind: 'GROUP', displayName: 'x' });
    const c = principal({ userPrincipalName: 'p@corp.test' });
    const d = principal({ userPrincipalName: 'p@corp.test', displayName: 'Other' });
    const t = consequences(detectDuplicates([a, b, c, d], netbios));
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
  it('reports added, changed and resolved findings', () => {
    const a = principal({ displayName: 'A' });
    const b = principal({ displayName: 'a' });
    const c = principal({ displayName: 'A' });
    const g1 = principal({ kind: 'GROUP', displayName: 'G' });
    const g2 = principal({ kind: 'GROUP', displayName: 'G' });
    const before = detectDuplicates([a, b, g1, g2], netbios);
    const after = detectDuplicates([a, b, c], netbios);
    const diff = diffFindings(before, after);
    expect(diff.added.map((f) => f.principalIds)).toEqual([[a.id, b.id, c.id].sort()]);
    expect(diff.resolved).toEqual([before[1]?.id]);
    expect(diffFindings(after, after)).toEqual({ added: [], resolved: [] });
  });
});
