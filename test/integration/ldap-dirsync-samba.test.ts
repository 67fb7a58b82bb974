/**
 * DirSync against the shared Samba AD DC (run under the machine-wide lock:
 * flock /tmp/dirgate-samba.lock). As Administrator: a first read returns
 * every object and a cookie; then, in an OU of this file's own, a user and a
 * group created and linked, a member removed, an address changed, a user
 * moved out of the search base and one deleted, each read back with the
 * previous cookie as exactly that change. As the plain reader account:
 * flags 0 is refused for want of replication rights (a typed refusal), and
 * OBJECT_SECURITY reads changes but no tombstones.
 */
import { Attribute, Change, Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirSyncFlags } from '../../src/ldap/changes/dirsync-control.js';
import { readDirSync, readDirSyncChanges } from '../../src/ldap/changes/dirsync-read.js';
import { type LdapConnection, openConnection } from '../../src/ldap/client.js';
import { guidToString } from '../../src/ldap/guid.js';
import { DEFAULT_LIMITS, type LdapLimits, type LdapSettings } from '../../src/ldap/index.js';
import { type SchemaMap, schemaFor } from '../../src/ldap/schema-map.js';
import { datasetFor, type SambaInfo, sharedSamba } from '../support/directories.js';
import { sambaAdminClient, sambaLdapSettings } from '../support/samba-access.js';

const LIMITS: LdapLimits = { ...DEFAULT_LIMITS, connectTimeoutMs: 5000, operationTimeoutMs: 20_000 };
const KINDS = ['USER', 'GROUP', 'CONTACT'] as const;
const NO_COOKIE = new Uint8Array(0);
const ALL = '(|(objectClass=user)(objectClass=group)(objectClass=contact))';

describe('DirSync on Samba AD', () => {
  let samba: SambaInfo;
  let schema: SchemaMap;
  let admin: LdapConnection;
  let reader: LdapConnection;
  let writer: Client;
  /** This file's own OU (the search base of the change reads) and a second one outside it. */
  let ou: string;
  let outside: string;
  const created: string[] = [];

  const settings = (who: { dn: string; password: string }): LdapSettings => sambaLdapSettings(samba, who);

  const changesSince = (
    connection: LdapConnection,
    cookie: string | null,
    objectSecurity: boolean | 'AUTO',
  ) =>
    readDirSyncChanges({
      connection,
      schema,
      searchBase: ou,
      namingContext: samba.baseDn,
      limits: LIMITS,
      kinds: KINDS,
      server: samba.hostName,
      invocationId: 'not-checked-here',
      cookie,
      objectSecurity,
    });

  /** A read that must succeed; the cookie of the one before. */
  async function changes(
    connection: LdapConnection,
    cookie: string,
    objectSecurity: boolean | 'AUTO' = false,
  ) {
    const result = await changesSince(connection, cookie, objectSecurity);
    if (!result.ok) throw new Error(`DirSync refused: ${result.refusal} ${result.message}`);
    // Other test files may change the shared DC meanwhile: only what is under this file's OUs is looked at.
    const ours = (dn: string) => dn.endsWith(ou) || dn.endsWith(outside);
    return {
      ...result,
      ours: result.changeSet.changed.filter((entry) => ours(entry.dn)),
      oursDelta: result.delta.changed.filter((object) => ours(object.dn)),
    };
  }

  async function firstCookie(connection: LdapConnection, flags: number): Promise<string> {
    const read = await readDirSync({
      connection,
      namingContext: samba.baseDn,
      flags,
      cookie: NO_COOKIE,
      filter: ALL,
      attributes: ['objectGUID'],
    });
    if (!read.ok) throw new Error(`DirSync refused: ${read.refusal}`);
    return read.cookie.toString('base64');
  }

  async function addUser(name: string, parent = ou): Promise<string> {
    const dn = `CN=${name},${parent}`;
    await writer.add(dn, {
      objectClass: ['top', 'person', 'organizationalPerson', 'user'],
      sAMAccountName: `${name}`.slice(0, 20),
      userAccountControl: '514',
      mail: `${name}@corp.test`,
    });
    created.push(dn);
    return dn;
  }

  async function guidOf(dn: string): Promise<string> {
    const result = await admin.search(dn, {
      scope: 'base',
      attributes: ['objectGUID'],
      explicitBufferAttributes: ['objectGUID'],
    });
    return guidToString(result.searchEntries[0]?.objectGUID as Buffer);
  }

  const members = (dn: string, operation: 'add' | 'delete', values: string[]) =>
    writer.modify(dn, [new Change({ operation, modification: new Attribute({ type: 'member', values }) })]);

  beforeAll(async () => {
    samba = sharedSamba();
    schema = schemaFor('ACTIVE_DIRECTORY', {});
    admin = await openConnection(samba.ldapsUrl, settings(samba.admin), LIMITS);
    reader = await openConnection(samba.ldapsUrl, settings(samba.reader), LIMITS);
    writer = await sambaAdminClient(samba);
    const tag = `${process.pid}-${Date.now()}`;
    ou = `OU=dirsync-${tag},${samba.baseDn}`;
    outside = `OU=dirsync-outside-${tag},${samba.baseDn}`;
    await writer.add(ou, { objectClass: ['top', 'organizationalUnit'] });
    await writer.add(outside, { objectClass: ['top', 'organizationalUnit'] });
  });

  afterAll(async () => {
    for (const dn of [...created].reverse()) await writer.del(dn).catch(() => undefined);
    for (const dn of [ou, outside]) await writer.del(dn).catch(() => undefined);
    await writer.unbind();
    await admin.close();
    await reader.close();
  });

  it('as Administrator with flags 0 returns every object and a cookie', async () => {
    const read = await readDirSync({
      connection: admin,
      namingContext: samba.baseDn,
      flags: 0,
      cookie: NO_COOKIE,
      filter: ALL,
      attributes: ['objectGUID', 'name'],
      explicitBufferAttributes: ['objectGUID'],
    });
    if (!read.ok) throw new Error(read.message);
    const seen = new Set(read.entries.map((entry) => guidToString(entry.objectGUID as Buffer)));
    const dataset = datasetFor(samba.dataset);
    const expected = [...dataset.users, ...dataset.groups, ...dataset.contacts].map((object) => object.guid);
    expect(expected.length).toBeGreaterThan(1000);
    expect(expected.filter((guid) => !seen.has(guid))).toEqual([]);
    expect(read.cookie.length).toBeGreaterThan(0);
    // Samba ignores maxBytes and answers in one round.
    expect(read.rounds).toBe(1);
  });

  it('reads a created user and group, and the member added, as exactly those changes', async () => {
    const cookie = await firstCookie(admin, DirSyncFlags.INCREMENTAL_VALUES);
    const user = await addUser('ds-user-1');
    const group = `CN=ds-group-1,${ou}`;
    await writer.add(group, { objectClass: ['top', 'group'], sAMAccountName: 'ds-group-1' });
    created.push(group);
    await members(group, 'add', [user]);
    const [userGuid, groupGuid] = [await guidOf(user), await guidOf(group)];

    const read = await changes(admin, cookie);
    expect(read.objectSecurity).toBe(false);
    expect(read.tombstonesComplete).toBe(true);
    expect(read.ours.map((entry) => entry.guid).sort()).toEqual([userGuid, groupGuid].sort());
    const readUser = read.ours.find((entry) => entry.guid === userGuid);
    expect(readUser).toMatchObject({
      kind: 'USER',
      dn: user,
      mail: 'ds-user-1@corp.test',
      userAccountControl: 514,
    });
    expect(read.ours.find((entry) => entry.guid === groupGuid)).toMatchObject({
      kind: 'GROUP',
      memberDns: [user],
    });
    expect(read.oursDelta.find((object) => object.guid === groupGuid)?.membersAdded).toEqual([user]);
    expect(read.changeSet.deletedGuids.filter((guid) => guid === userGuid || guid === groupGuid)).toEqual([]);
    expect(read.changeSet.watermark).toMatchObject({ kind: 'DIRSYNC', server: samba.hostName });

    // The next read from the new cookie: the member removed (incrementally) and the address changed.
    const next = read.changeSet.watermark.kind === 'DIRSYNC' ? read.changeSet.watermark.cookie : '';
    await members(group, 'delete', [user]);
    await writer.modify(user, [
      new Change({
        operation: 'replace',
        modification: new Attribute({ type: 'mail', values: ['new@corp.test'] }),
      }),
    ]);
    const after = await changes(admin, next);
    expect(after.ours.map((entry) => entry.guid).sort()).toEqual([userGuid, groupGuid].sort());
    const groupDelta = after.oursDelta.find((object) => object.guid === groupGuid);
    expect(groupDelta?.membersRemoved).toEqual([user]);
    expect(groupDelta?.membersAdded).toEqual([]);
    expect(after.ours.find((entry) => entry.guid === groupGuid)?.memberDns).toEqual([]);
    expect(after.ours.find((entry) => entry.guid === userGuid)?.mail).toBe('new@corp.test');
    // Only mail changed on the user: DirSync says so, the ChangeSet has the whole entry.
    expect([
      ...(after.oursDelta.find((object) => object.guid === userGuid)?.attributes.keys() ?? []),
    ]).toEqual(['mail']);
  });

  it('reports a deleted user by its tombstone and a user moved out of the search base as removed', async () => {
    const deleted = await addUser('ds-user-del');
    const moved = await addUser('ds-user-move');
    const [deletedGuid, movedGuid] = [await guidOf(deleted), await guidOf(moved)];
    const cookie = await firstCookie(admin, DirSyncFlags.INCREMENTAL_VALUES);
    await writer.del(deleted);
    await writer.modifyDN(moved, `CN=ds-user-move,${outside}`);
    created.push(`CN=ds-user-move,${outside}`);

    const read = await changes(admin, cookie);
    expect(read.delta.deletedGuids).toContain(deletedGuid);
    expect(read.changeSet.deletedGuids).toEqual(expect.arrayContaining([deletedGuid, movedGuid]));
    expect(read.ours).toEqual([]);
    // The move came as a change of the object, now outside the base: not a tombstone.
    expect(read.delta.deletedGuids).not.toContain(movedGuid);
    expect(read.oursDelta.map((object) => object.guid)).toEqual([movedGuid]);
  });

  it('as the reader: flags 0 is refused for want of replication rights, OBJECT_SECURITY reads without tombstones', async () => {
    const refused = await readDirSync({
      connection: reader,
      namingContext: samba.baseDn,
      flags: 0,
      cookie: NO_COOKIE,
      filter: ALL,
      attributes: ['objectGUID'],
    });
    expect(refused).toMatchObject({ ok: false, refusal: 'NEEDS_REPLICATION_RIGHTS' });

    const cookie = await firstCookie(
      reader,
      (DirSyncFlags.OBJECT_SECURITY | DirSyncFlags.INCREMENTAL_VALUES) >>> 0,
    );
    const user = await addUser('ds-user-reader');
    const userGuid = await guidOf(user);
    // AUTO: tries without OBJECT_SECURITY, is refused, reads with it, and says so.
    const read = await changes(reader, cookie, 'AUTO');
    expect(read.objectSecurity).toBe(true);
    expect(read.tombstonesComplete).toBe(false);
    expect(read.ours.map((entry) => entry.guid)).toEqual([userGuid]);

    const next = read.changeSet.watermark.kind === 'DIRSYNC' ? read.changeSet.watermark.cookie : '';
    await writer.del(user);
    const afterDelete = await changes(reader, next, true);
    // LAB.md: no tombstone for an account without replication rights; ids must be compared.
    expect(afterDelete.delta.deletedGuids).not.toContain(userGuid);
    expect(afterDelete.ours).toEqual([]);
  });

  it('refuses a cookie the server cannot read as COOKIE_REFUSED', async () => {
    const result = await changesSince(admin, Buffer.from('not a cookie').toString('base64'), false);
    expect(result).toMatchObject({ ok: false, refusal: 'COOKIE_REFUSED' });
  });
});
