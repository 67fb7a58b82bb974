/**
 * A synthetic directory the size the design targets, for benchmarks: users
 * with 2-3 addresses and realistic (partly non-ASCII) names, nested groups
 * (fan-out 10, one group of 2,000 direct members, two cycles), contacts,
 * two connections in two domains, and 1% duplicated names, UPNs and
 * addresses.
 */
import { countSnapshot, type PrincipalRecord, type Snapshot } from '../../src/model/principal.js';

const FIRST = [
  'Anna',
  'Bernd',
  'Carla',
  'David',
  'Eva',
  'Frank',
  'Greta',
  'Hans',
  'Ida',
  'Jonas',
  'Karin',
  'Lukas',
  'Maria',
  'Niklas',
  'Olga',
  'Paul',
  'Quirin',
  'Rosa',
  'Stefan',
  'Tanja',
  'Uwe',
  'Vera',
  'Walter',
  'Xenia',
  'Yusuf',
  'Zoe',
  'José',
  'Søren',
  'Łukasz',
  'Zoë',
  'John',
  'Joan',
  'Jolene',
  'Johanna',
  'Mehmet',
  'Ana',
];
const LAST = [
  'Müller',
  'Schmidt',
  'Schneider',
  'Fischer',
  'Weber',
  'Meyer',
  'Wagner',
  'Becker',
  'Schulz',
  'Hoffmann',
  'Straße',
  'Smith',
  'Johnson',
  'Brown',
  'Garcia',
  'Martínez',
  "O'Brien",
  'Nguyen',
  'Kowalski',
  'Andersen',
  'Dubois',
  'Rossi',
  'Yilmaz',
  'Novak',
  'Horvat',
  'Jansen',
  'Peeters',
  'Lindqvist',
  'Virtanen',
  'Papadopoulos',
];

function ascii(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[^\x20-\x7e]/g, '')
    .replace(/[^A-Za-z]/g, '')
    .toLowerCase();
}

function makeSnapshot(connectionId: string, netbios: string, principals: PrincipalRecord[]): Snapshot {
  return {
    meta: {
      connectionId,
      runId: `bench-${connectionId}`,
      createdAt: new Date().toISOString(),
      netbiosName: netbios,
      counts: countSnapshot(principals),
    },
    principals,
  };
}

export function generateDirectory(USERS: number): { snapshots: Snapshot[]; domains: Map<string, string> } {
  const GROUPS = Math.max(10, Math.round(USERS / 10));
  const CONTACTS = Math.round(USERS / 20);
  const conn = (i: number) => (i % 5 === 4 ? 'c2' : 'c1');
  const domainOf: Record<string, string> = { c1: 'corp.test', c2: 'east.corp.test' };
  const users: PrincipalRecord[] = [];
  for (let i = 0; i < USERS; i++) {
    const connectionId = conn(i);
    const domain = domainOf[connectionId] as string;
    const first = FIRST[i % FIRST.length] as string;
    const initial = String.fromCharCode(65 + (Math.floor(i / FIRST.length) % 26));
    const last = LAST[Math.floor(i / (FIRST.length * 26)) % LAST.length] as string;
    const local = `${ascii(first)}.${ascii(last)}${i}`;
    const emails = [`${local}@${domain}`, `${ascii(first)[0]}${ascii(last)}${i}@${domain}`];
    if (i % 2 === 0) emails.push(`${ascii(first)}${i}@mail.${domain}`);
    let displayName =
      `${first} ${initial}. ${last} ${Math.floor(i / (FIRST.length * 26 * LAST.length)) || ''}`.trim();
    let upn = `${local}@${domain}`;
    let sam = `${ascii(first).slice(0, 3)}${ascii(last).slice(0, 4)}${i}`;
    const previous = users[i - 1];
    if (previous && i % 100 === 99) {
      // 1%: the name, the UPN and (as an alias, in upper case) the primary
      // address of the user before, who is in the other connection: the
      // same sAMAccountName there is no NTLM duplicate (other NetBIOS name).
      displayName = previous.displayName;
      upn = previous.userPrincipalName as string;
      emails.push((previous.primaryEmail as string).toUpperCase());
      sam = previous.samAccountName as string;
    }
    // 0.1%: the sAMAccountName of a user in the same NetBIOS domain.
    if (previous && i % 1000 === 998) sam = (previous.samAccountName as string).toUpperCase();
    users.push({
      id: `${connectionId}:u${i}`,
      connectionId,
      guid: `u${i}`,
      kind: 'USER',
      dn: `CN=${displayName},OU=Staff,DC=corp,DC=test`,
      displayName,
      primaryEmail: emails[0] as string,
      emails,
      samAccountName: sam,
      userPrincipalName: upn,
      enabled: i % 37 !== 0,
      memberIds: [],
    });
  }
  // Groups: a tree of fan-out 10 (five levels for 10,000), users in 1-3 groups,
  // group 1 with 2,000 direct members, and two cycles.
  const groupMembers: string[][] = Array.from({ length: GROUPS }, () => []);
  const groupConn = (g: number) => (g % 5 === 4 ? 'c2' : 'c1');
  for (let g = 1; g < GROUPS; g++) {
    const parent = Math.floor((g - 1) / 10);
    if (groupConn(parent) === groupConn(g)) groupMembers[parent]?.push(`${groupConn(g)}:g${g}`);
  }
  for (let i = 0; i < USERS; i++) {
    const u = users[i] as PrincipalRecord;
    const count = 1 + (i % 3);
    for (let k = 0; k < count; k++) {
      let g = (i * 7919 + k * 104729) % GROUPS;
      if (groupConn(g) !== u.connectionId) g = (g + 1) % GROUPS;
      if (groupConn(g) === u.connectionId) groupMembers[g]?.push(u.id);
    }
    if (i < 2000 && u.connectionId === 'c1') groupMembers[1]?.push(u.id);
  }
  groupMembers[50]?.push('c1:g5'); // g5 ⊃ g50 ⊃ g5
  groupMembers[3]?.push('c1:g3'); // a group in itself
  const groups: PrincipalRecord[] = groupMembers.map((memberIds, g) => {
    const connectionId = groupConn(g);
    const name = g === 0 ? 'All Staff' : `Team ${LAST[g % LAST.length]} ${g}`;
    return {
      id: `${connectionId}:g${g}`,
      connectionId,
      guid: `g${g}`,
      kind: 'GROUP',
      dn: `CN=${name},OU=Groups,DC=corp,DC=test`,
      displayName: g % 500 === 499 ? `Team ${LAST[(g - 1) % LAST.length]} ${g - 1}` : name,
      primaryEmail: `team${g}@${domainOf[connectionId]}`,
      emails: [`team${g}@${domainOf[connectionId]}`],
      samAccountName: `team${g}`,
      userPrincipalName: null,
      enabled: true,
      memberIds: [...new Set(memberIds)],
    };
  });
  const contacts: PrincipalRecord[] = [];
  for (let c = 0; c < CONTACTS; c++) {
    const name = `${FIRST[(c * 7) % FIRST.length]} ${LAST[(c * 11) % LAST.length]} (Partner ${c})`;
    contacts.push({
      id: `c1:k${c}`,
      connectionId: 'c1',
      guid: `k${c}`,
      kind: 'CONTACT',
      dn: `CN=${name},OU=Contacts,DC=corp,DC=test`,
      displayName: name,
      primaryEmail: `partner${c}@partner${c % 50}.example`,
      emails: [`partner${c}@partner${c % 50}.example`],
      samAccountName: null,
      userPrincipalName: null,
      enabled: true,
      memberIds: [],
    });
  }
  const all = [...users, ...groups, ...contacts];
  const snapshots = ['c1', 'c2'].map((c) =>
    makeSnapshot(
      c,
      c === 'c1' ? 'CORP' : 'EAST',
      all.filter((p) => p.connectionId === c),
    ),
  );
  return { snapshots, domains: new Map(Object.entries(domainOf)) };
}

/**
 * A connection `connectionId` whose search base overlaps `of`'s: it reads
 * the first `share` of that snapshot's users again (the same GUIDs under
 * other ids), as an OU connection beside a domain connection does.
 */
export function overlappingSnapshot(of: Snapshot, connectionId: string, share: number): Snapshot {
  const users = of.principals.filter((p) => p.kind === 'USER');
  const again = users.slice(0, Math.round(users.length * share)).map((p) => ({
    ...p,
    id: [connectionId, p.guid].join(':'),
    connectionId,
    memberIds: [],
  }));
  return makeSnapshot(connectionId, of.meta.netbiosName ?? 'CORP', again);
}
