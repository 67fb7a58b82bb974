/**
 * Change reading against a private slapd (no syncprov: no contextCSN, so the
 * watermark is the newest modifyTimestamp): entries added, modified, renamed,
 * moved and deleted as the admin come back exactly, decoded as a full read
 * decodes them; deletions and moves out of the base are found by comparing
 * ids; a watermark from another server is refused.
 */
import { Attribute, Change, Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readChangeSet } from '../../src/ldap/changes/change-set.js';
import { readAllIds } from '../../src/ldap/changes/deletions.js';
import { WatermarkRefusedError } from '../../src/ldap/changes/errors.js';
import { changeTracking } from '../../src/ldap/changes/tracking.js';
import type { Watermark } from '../../src/ldap/changes/types.js';
import { TIMESTAMP_OVERLAP_SECONDS } from '../../src/ldap/changes/watermark.js';
import { type LdapConnection, openConnection } from '../../src/ldap/client.js';
import { DEFAULT_LIMITS, type LdapLimits, type RawEntry } from '../../src/ldap/index.js';
import { type RootDse, readRootDse } from '../../src/ldap/root-dse.js';
import { schemaFor } from '../../src/ldap/schema-map.js';
import { plainSlapdSettings, readEverything } from '../support/connections.js';
import { privateSlapd } from '../support/fixtures.js';

const LIMITS: LdapLimits = {
  ...DEFAULT_LIMITS,
  connectTimeoutMs: 3000,
  operationTimeoutMs: 10_000,
  pageSize: 7,
};
const KINDS = ['USER', 'GROUP', 'CONTACT'] as const;
const schema = schemaFor('LDAP', {});
const directory = privateSlapd({
  users: 20,
  groups: 5,
  contacts: 3,
  seed: 'h18a-changes',
  largeGroupSize: 0,
});

let connection: LdapConnection;
let rootDse: RootDse;
let admin: Client;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Past the overlap: what was stamped before is no longer re-read. */
const pastOverlap = () => sleep((TIMESTAMP_OVERLAP_SECONDS + 1.2) * 1000);

function fullRead(searchBase = directory.slapd.baseDn): Promise<Map<string, RawEntry>> {
  return readEverything({ connection, schema, searchBase, limits: LIMITS });
}

async function watermarkNow(searchBase = directory.slapd.baseDn): Promise<Watermark> {
  const tracking = await changeTracking(connection, rootDse, searchBase, {
    limits: LIMITS,
    clockSkewSeconds: 0,
  });
  if (!tracking.supported) throw new Error(tracking.reason);
  return tracking.watermark;
}

beforeAll(async () => {
  connection = await openConnection(directory.slapd.url, plainSlapdSettings(directory.slapd), LIMITS);
  rootDse = await readRootDse(connection);
  admin = new Client({ url: directory.slapd.url });
  await admin.bind(directory.slapd.admin.dn, directory.slapd.admin.password);
});

afterAll(async () => {
  await admin?.unbind();
  await connection?.close();
});

describe('change reading on slapd', () => {
  it('says a TIMESTAMP watermark is kept: the newest modifyTimestamp, no contextCSN without syncprov', async () => {
    const watermark = await watermarkNow();
    expect(watermark.kind).toBe('TIMESTAMP');
    if (watermark.kind !== 'TIMESTAMP') return;
    expect(watermark.contextCsn).toBeNull();
    expect(watermark.server).toBe(connection.url);
    const base = await connection.search(directory.slapd.baseDn, {
      scope: 'base',
      attributes: ['modifyTimestamp'],
    });
    // Loaded in one slapadd: the base entry is as new as the newest entry, give or take a second.
    const stamp = String(base.searchEntries[0]?.modifyTimestamp);
    // The gateway's clock less the skew allowance is the floor: a fresh load is newer than that.
    const defaults = await changeTracking(connection, rootDse, directory.slapd.baseDn, { limits: LIMITS });
    expect(defaults.supported && defaults.watermark.kind === 'TIMESTAMP' && defaults.watermark.time).toBe(
      stamp,
    );
    expect(watermark.time >= stamp).toBe(true);
  });

  it('reads exactly what was added, modified, renamed, moved and deleted, decoded as a full read', async () => {
    const { dataset, slapd } = directory;
    const before = await fullRead();
    const known = new Set(before.keys());
    await pastOverlap();
    const stored = await watermarkNow();

    const [modified, renamed, moved, deleted] = dataset.users;
    const group = dataset.groups.find(
      (g) =>
        !g.members.includes(deleted?.dn ?? '') &&
        !g.members.includes(renamed?.dn ?? '') &&
        !g.members.includes(moved?.dn ?? ''),
    );
    if (!modified || !renamed || !moved || !deleted || !group) throw new Error('dataset too small');
    const addedDn = `cn=Newly Added,ou=Users,${slapd.baseDn}`;
    await admin.add(addedDn, {
      objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
      cn: 'Newly Added',
      sn: 'Added',
      mail: 'newly.added@corp.test',
    });
    await admin.modify(modified.dn, [
      new Change({
        operation: 'replace',
        modification: new Attribute({ type: 'mail', values: ['changed@corp.test'] }),
      }),
    ]);
    await admin.modifyDN(renamed.dn, `cn=Renamed Person`);
    await admin.add(`ou=Moved,${slapd.baseDn}`, { objectClass: ['top', 'organizationalUnit'], ou: 'Moved' });
    await admin.modifyDN(moved.dn, `${moved.dn.split(',')[0]},ou=Moved,${slapd.baseDn}`);
    await admin.del(deleted.dn);
    await admin.modify(group.dn, [
      new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [addedDn] }) }),
    ]);

    const read = await readChangeSet({
      connection,
      rootDse,
      schema,
      searchBase: slapd.baseDn,
      limits: LIMITS,
      kinds: KINDS,
      watermark: stored,
      knownGuids: known,
      clockSkewSeconds: 0,
    });
    const after = await fullRead();
    const added = [...after.values()].find((e) => e.dn === addedDn);
    if (!added) throw new Error('the added user is not read');
    // Measured: the groups the deleted user was in lose it (memberof-refint) WITHOUT a new
    // modifyTimestamp, so they do not come back: an applier must drop a deleted object's DN from
    // the groups it holds itself.
    const refint = dataset.groups.filter((g) => g.members.includes(deleted.dn)).map((g) => g.guid);
    expect(refint.length).toBeGreaterThan(0);
    for (const id of refint) expect(after.get(id)?.memberDns).not.toContain(deleted.dn);
    const expected = [added.guid, modified.guid, renamed.guid, moved.guid, group.guid];
    expect(new Set(read.changeSet.changed.map((e) => e.guid))).toEqual(new Set(expected));
    // Decoded exactly as the full read decodes them, members whole.
    for (const entry of read.changeSet.changed) expect(entry).toEqual(after.get(entry.guid));
    expect(after.get(group.guid)?.memberDns).toContain(addedDn);
    expect(after.get(renamed.guid)?.dn).toBe(`cn=Renamed Person,ou=Users,${slapd.baseDn}`);
    expect(read.deletions).toBe('ID_COMPARISON');
    expect(read.changeSet.deletedGuids).toEqual([deleted.guid]);
    // The watermark is at least the newest change's stamp (read before the changes were read).
    const next = read.changeSet.watermark;
    const newest = await connection.search(addedDn, { scope: 'base', attributes: ['modifyTimestamp'] });
    expect(next.kind === 'TIMESTAMP' && next.time >= String(newest.searchEntries[0]?.modifyTimestamp)).toBe(
      true,
    );

    // Nothing since: only what was stamped within the overlap of the watermark comes again.
    await pastOverlap();
    const again = await readChangeSet({
      connection,
      rootDse,
      schema,
      searchBase: slapd.baseDn,
      limits: LIMITS,
      kinds: KINDS,
      watermark: next,
      knownGuids: new Set(after.keys()),
      clockSkewSeconds: 0,
    });
    expect(again.changeSet.deletedGuids).toEqual([]);
    // The gateway's clock (skew allowance 0 here: one machine) moves the watermark of a quiet directory.
    const last = again.changeSet.watermark;
    expect(last.kind === 'TIMESTAMP' && next.kind === 'TIMESTAMP' && last.time > next.time).toBe(true);
    // What was stamped within the overlap before the watermark comes once more, nothing else.
    for (const entry of again.changeSet.changed) expect(new Set(expected)).toContain(entry.guid);
  }, 30_000);

  it('finds an object moved out of the search base by comparing ids', async () => {
    const { slapd } = directory;
    const usersBase = `ou=Users,${slapd.baseDn}`;
    const ids = await readAllIds({ connection, schema, kind: 'USER', searchBase: usersBase, limits: LIMITS });
    const users = await fullRead(usersBase);
    expect(new Set(ids)).toEqual(
      new Set([...users.values()].filter((e) => e.kind === 'USER').map((e) => e.guid)),
    );
    const leaving = [...users.values()].find((e) => e.kind === 'USER');
    if (!leaving) throw new Error('no user');
    const stored = await watermarkNow(usersBase);
    await admin.modifyDN(leaving.dn, `${leaving.dn.split(',')[0]},ou=Contacts,${slapd.baseDn}`);
    const read = await readChangeSet({
      connection,
      rootDse,
      schema,
      searchBase: usersBase,
      limits: LIMITS,
      kinds: ['USER'],
      watermark: stored,
      knownGuids: new Set(ids),
      clockSkewSeconds: 0,
    });
    expect(read.changeSet.deletedGuids).toEqual([leaving.guid]);
    expect(read.changeSet.changed.map((e) => e.guid)).not.toContain(leaving.guid);
  });

  it('refuses a watermark read from another server', async () => {
    const stored = await watermarkNow();
    const err = await readChangeSet({
      connection,
      rootDse,
      schema,
      searchBase: directory.slapd.baseDn,
      limits: LIMITS,
      kinds: KINDS,
      watermark: { ...stored, server: 'ldap://other.corp.test:389' },
      knownGuids: new Set(),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WatermarkRefusedError);
    expect((err as WatermarkRefusedError).reason).toBe('OTHER_SERVER');
  });
});
