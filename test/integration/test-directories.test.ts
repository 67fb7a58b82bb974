/**
 * The shared test directories are real and hold the generated data: slapd
 * over ldap:// and ldaps://, Samba over LDAPS and StartTLS with our CA,
 * range retrieval of the 1,600-member group, Samba's refusal of plain
 * simple binds, its DNS SRV records, Redis, and private dnsmasq/slapd.
 */
import { Resolver } from 'node:dns/promises';
import { Socket } from 'node:net';
import { Client, type Entry, EqualityFilter, SizeLimitExceededError, StrongAuthRequiredError } from 'ldapts';
import { describe, expect, it } from 'vitest';
import {
  type Dataset,
  type DirectoryEntry,
  datasetFor,
  directories,
  guidFromBytes,
  guidToBytes,
  queryA,
  querySrv,
  sharedCertificates,
  startDnsmasq,
  startSlapd,
} from '../support/directories.js';

const info = directories();
const TIMEOUTS = { timeout: 20_000, connectTimeout: 5_000 };

async function withClient<T>(
  url: string,
  ca: string | null,
  work: (client: Client) => Promise<T>,
): Promise<T> {
  const client = new Client({
    url,
    ...TIMEOUTS,
    ...(ca && url.startsWith('ldaps:') ? { tlsOptions: { ca: [ca] } } : {}),
  });
  try {
    return await work(client);
  } finally {
    await client.unbind().catch(() => {});
  }
}

async function count(client: Client, base: string, filter: string): Promise<number> {
  const { searchEntries } = await client.search(base, {
    scope: 'sub',
    filter,
    attributes: ['1.1'],
    paged: { pageSize: 500 },
  });
  return searchEntries.length;
}

function values(entry: Entry, name: string): string[] {
  const value = entry[name];
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((item) => (Buffer.isBuffer(item) ? item.toString('utf8') : item));
}

async function byGuid(client: Client, base: string, guid: string): Promise<Entry | undefined> {
  // A Buffer in an EqualityFilter: ldapts mangles \XX escapes ≥ 0x80 in string filters.
  const { searchEntries } = await client.search(base, {
    scope: 'sub',
    filter: new EqualityFilter({ attribute: 'objectGUID', value: guidToBytes(guid) }),
    attributes: [
      'objectGUID',
      'displayName',
      'mail',
      'proxyAddresses',
      'sAMAccountName',
      'userAccountControl',
    ],
    explicitBufferAttributes: ['objectGUID'],
  });
  return searchEntries[0];
}

/** A few users worth checking: plain, decomposed name, DN needing escapes, without mail, disabled, planted. */
function sampleUsers(dataset: Dataset): DirectoryEntry[] {
  const picks: Array<DirectoryEntry | undefined> = [
    dataset.users[0],
    dataset.users.find((u) => u.displayName !== u.displayName.normalize('NFC')),
    dataset.users.find((u) => u.cn.includes(',')),
    dataset.users.find((u) => u.mail === null && u.proxyAddresses.length > 0),
    dataset.users.find((u) => u.userAccountControl === 514),
    dataset.users.find((u) => u.guid === dataset.planted.emailAddresses[0]?.entries[1]?.guid),
  ];
  return picks.filter((entry): entry is DirectoryEntry => entry !== undefined);
}

async function expectEntryMatches(client: Client, base: string, expected: DirectoryEntry): Promise<void> {
  const got = await byGuid(client, base, expected.guid);
  expect(got, expected.dn).toBeDefined();
  if (!got) return;
  expect(got.dn.toLowerCase()).toBe(expected.dn.toLowerCase());
  expect(guidFromBytes(got.objectGUID as Buffer)).toBe(expected.guid);
  expect(values(got, 'displayName')).toEqual([expected.displayName]);
  expect(values(got, 'mail')).toEqual(expected.mail === null ? [] : [expected.mail]);
  expect(values(got, 'proxyAddresses').sort()).toEqual([...expected.proxyAddresses].sort());
  if (expected.kind === 'user') {
    expect(values(got, 'sAMAccountName')).toEqual([expected.sAMAccountName]);
    expect(values(got, 'userAccountControl')).toEqual([String(expected.userAccountControl)]);
  }
}

describe.skipIf(!info.slapd)('shared slapd', () => {
  const slapd = info.slapd;
  const ca = info.certificates?.caPem ?? null;
  if (!slapd) return;
  const dataset = datasetFor(slapd.dataset);

  it.each([
    ['ldap://', slapd.url],
    ['ldaps://', slapd.ldapsUrl],
  ])('the reader binds over %s and pages through every generated entry', async (_label, url) => {
    await withClient(url, ca, async (client) => {
      await client.bind(slapd.reader.dn, slapd.reader.password);
      expect(await count(client, slapd.baseDn, '(objectClass=user)')).toBe(dataset.users.length);
      expect(await count(client, slapd.baseDn, '(objectClass=group)')).toBe(dataset.groups.length);
      expect(await count(client, slapd.baseDn, '(objectClass=contact)')).toBe(dataset.contacts.length);
    });
  });

  it('limits the reader to 1,000 entries without paging, as AD does', async () => {
    await withClient(slapd.url, ca, async (client) => {
      await client.bind(slapd.reader.dn, slapd.reader.password);
      await expect(
        client.search(slapd.baseDn, { filter: '(objectClass=user)', attributes: ['1.1'] }),
      ).rejects.toBeInstanceOf(SizeLimitExceededError);
    });
  });

  it('serves users with the generated mail, proxyAddresses and binary objectGUID', async () => {
    await withClient(slapd.ldapsUrl, ca, async (client) => {
      await client.bind(slapd.reader.dn, slapd.reader.password);
      for (const user of sampleUsers(dataset)) await expectEntryMatches(client, slapd.baseDn, user);
      const contact = dataset.contacts[0];
      if (contact) await expectEntryMatches(client, slapd.baseDn, contact);
    });
  });

  it('holds the large group in full and memberOf written by slapadd', async () => {
    const large = dataset.groups.find((group) => group.dn === dataset.structure.largeGroup);
    expect(large?.members.length).toBe(1600);
    await withClient(slapd.url, ca, async (client) => {
      await client.bind(slapd.admin.dn, slapd.admin.password);
      const { searchEntries } = await client.search(large?.dn ?? '', {
        scope: 'base',
        attributes: ['member'],
      });
      expect(values(searchEntries[0] as Entry, 'member')).toHaveLength(1600);
      const member = dataset.users[0];
      const { searchEntries: users } = await client.search(member?.dn ?? '', {
        scope: 'base',
        attributes: ['memberOf'],
      });
      expect(values(users[0] as Entry, 'memberOf').map((dn) => dn.toLowerCase())).toContain(
        large?.dn.toLowerCase(),
      );
    });
  });

  it('refuses a certificate from the unknown CA', async () => {
    const client = new Client({
      url: slapd.ldapsUrl,
      ...TIMEOUTS,
      tlsOptions: { ca: [info.certificates?.unknownCaPem ?? ''] },
    });
    await expect(client.bind(slapd.reader.dn, slapd.reader.password)).rejects.toThrow();
    await client.unbind().catch(() => {});
  });
});

describe.skipIf(!info.samba)('shared Samba AD DC', () => {
  const samba = info.samba;
  const ca = info.certificates?.caPem ?? null;
  if (!samba || !ca) return;
  const dataset = datasetFor(samba.dataset);
  const ou = (kind: 'user' | 'group' | 'contact'): string => dataset.containers[kind];

  it('binds over verified LDAPS and holds every generated entry', async () => {
    await withClient(samba.ldapsUrl, ca, async (client) => {
      await client.bind(samba.reader.userPrincipalName, samba.reader.password);
      expect(await count(client, ou('user'), '(objectClass=user)')).toBe(dataset.users.length);
      expect(await count(client, ou('group'), '(objectClass=group)')).toBe(dataset.groups.length);
      expect(await count(client, ou('contact'), '(objectClass=contact)')).toBe(dataset.contacts.length);
      expect(await count(client, ou('user'), '(userAccountControl:1.2.840.113556.1.4.803:=2)')).toBe(
        dataset.users.filter((user) => user.userAccountControl === 514).length,
      );
    });
  });

  it('binds after StartTLS and serves the generated attributes and GUIDs', async () => {
    await withClient(samba.url, null, async (client) => {
      await client.startTLS({ ca: [ca], servername: 'dc1.corp.test' });
      await client.bind(samba.reader.ntlmName, samba.reader.password);
      for (const user of sampleUsers(dataset)) await expectEntryMatches(client, samba.baseDn, user);
      const contact = dataset.contacts.at(-1);
      if (contact) await expectEntryMatches(client, samba.baseDn, contact);
    });
  });

  it.skipIf(samba.allowPlainBind)('refuses a simple bind over plain ldap:// (hardened)', async () => {
    await withClient(samba.url, null, async (client) => {
      await expect(client.bind(samba.reader.dn, samba.reader.password)).rejects.toBeInstanceOf(
        StrongAuthRequiredError,
      );
    });
  });

  it('returns the 1,600-member group by ranges: 0-999, then 1000-*', async () => {
    const large = dataset.groups.find((group) => group.dn === dataset.structure.largeGroup);
    expect(large).toBeDefined();
    await withClient(samba.ldapsUrl, ca, async (client) => {
      await client.bind(samba.reader.userPrincipalName, samba.reader.password);
      const read = async (range: string): Promise<Entry> => {
        const { searchEntries } = await client.search(large?.dn ?? '', {
          scope: 'base',
          attributes: [`member;range=${range}`],
        });
        return searchEntries[0] as Entry;
      };
      const first = await read('0-999');
      expect(values(first, 'member;range=0-999')).toHaveLength(1000);
      const rest = await read('1000-*');
      expect(values(rest, 'member;range=1000-*')).toHaveLength(600);
      const all = [...values(first, 'member;range=0-999'), ...values(rest, 'member;range=1000-*')];
      expect(new Set(all.map((dn) => dn.toLowerCase()))).toEqual(
        new Set(large?.members.map((dn) => dn.toLowerCase())),
      );
    });
  });

  it('refuses the unknown CA and a disabled account', async () => {
    const wrong = new Client({
      url: samba.ldapsUrl,
      ...TIMEOUTS,
      tlsOptions: { ca: [info.certificates?.unknownCaPem ?? ''] },
    });
    await expect(wrong.bind(samba.reader.dn, samba.reader.password)).rejects.toThrow();
    await wrong.unbind().catch(() => {});
    await withClient(samba.ldapsUrl, ca, async (client) => {
      await expect(client.bind(samba.disabledUser.dn, samba.disabledUser.password)).rejects.toThrow(
        /data 533/,
      );
    });
  });

  it("answers SRV _ldap._tcp.corp.test and dc1's A record from its DNS", async () => {
    expect(await querySrv(samba.dnsServer, `_ldap._tcp.${samba.domain}`)).toEqual([
      { name: samba.hostName, port: 389, priority: 0, weight: 100 },
    ]);
    expect(await queryA(samba.dnsServer, samba.hostName)).toEqual(['127.0.0.1']);
  });

  it("node:dns (c-ares) rejects Samba's compressed SRV target: SRV needs a wire-level fallback", async () => {
    const resolver = new Resolver({ timeout: 1000, tries: 1 });
    resolver.setServers([samba.dnsServer]);
    await expect(resolver.resolveSrv(`_ldap._tcp.${samba.domain}`)).rejects.toMatchObject({
      code: 'EBADRESP',
    });
    expect(await resolver.resolve4(samba.hostName)).toEqual(['127.0.0.1']);
  });
});

describe.skipIf(!info.redis)('shared Redis', () => {
  it('answers PING', async () => {
    const url = new URL(info.redis?.url ?? 'redis://127.0.0.1:0');
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = new Socket();
      socket.once('error', reject);
      socket.connect(Number(url.port), url.hostname, () => socket.write('PING\r\n'));
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString());
      });
    });
    expect(reply).toBe('+PONG\r\n');
  });
});

describe('private instances', () => {
  it('dnsmasq serves SRV records by priority and weight, with dead targets', async () => {
    await using dns = await startDnsmasq({
      srv: [
        { name: '_ldap._tcp.corp.test', target: 'dc1.corp.test', port: 389, priority: 10, weight: 100 },
        { name: '_ldap._tcp.corp.test', target: 'dead1.corp.test', port: 389, priority: 0, weight: 60 },
        { name: '_ldap._tcp.corp.test', target: 'dead2.corp.test', port: 389, priority: 0, weight: 40 },
      ],
      a: [
        { name: 'dc1.corp.test', address: '127.0.0.1' },
        { name: 'dead1.corp.test', address: '127.0.0.2' },
        { name: 'dead2.corp.test', address: '127.0.0.3' },
      ],
    });
    expect(dns.server).not.toBe('127.0.0.1:5353');
    const resolver = new Resolver({ timeout: 1000, tries: 1 });
    resolver.setServers([dns.server]);
    const records = await resolver.resolveSrv('_ldap._tcp.corp.test');
    expect(records.map((r) => [r.name, r.priority, r.weight]).sort()).toEqual([
      ['dc1.corp.test', 10, 100],
      ['dead1.corp.test', 0, 60],
      ['dead2.corp.test', 0, 40],
    ]);
    expect(await resolver.resolve4('dead2.corp.test')).toEqual(['127.0.0.3']);
    await expect(resolver.resolve4('example.com')).rejects.toMatchObject({ code: 'EREFUSED' });
  });

  it.skipIf(!info.certificates)('a private slapd survives SIGKILL and restart with its data', async () => {
    const small = datasetFor({
      users: 30,
      groups: 8,
      contacts: 5,
      seed: 'private',
      baseDn: 'dc=corp,dc=test',
    });
    await using slapd = await startSlapd({ certificates: sharedCertificates() });
    await slapd.load(small);
    const users = async (): Promise<number> =>
      withClient(slapd.url, null, async (client) => {
        await client.bind(slapd.admin.dn, slapd.admin.password);
        return count(client, slapd.baseDn, '(objectClass=user)');
      });
    expect(await users()).toBe(30);
    await slapd.kill();
    await expect(users()).rejects.toThrow();
    await slapd.start();
    expect(await users()).toBe(30);
    // Online loads get memberOf from the overlay, including nested groups.
    const [outer, inner] = small.structure.chain;
    await withClient(slapd.url, null, async (client) => {
      await client.bind(slapd.admin.dn, slapd.admin.password);
      const { searchEntries } = await client.search(inner ?? '', { scope: 'base', attributes: ['memberOf'] });
      expect(values(searchEntries[0] as Entry, 'memberOf').map((dn) => dn.toLowerCase())).toContain(
        outer?.toLowerCase(),
      );
    });
  });
});
