/**
 * USN change reading against the shared Samba AD DC (run under the
 * machine-wide lock: flock /tmp/dirgate-samba.lock). In an OU of this file's
 * own, as Administrator over LDAPS: a user added, an address changed, a member
 * added to and removed from a nested group, a user renamed, moved out of the
 * search base, disabled and deleted, read back from a USN watermark as exactly
 * those changes, decoded as a full read decodes them. Measured: whether a
 * group's uSNChanged moves when a member is renamed or deleted. Deletions by
 * tombstones (Administrator) and by id comparison (the plain reader, who sees
 * no tombstone). A watermark from another DC or another invocationId refused.
 */
import { Attribute, Change, Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readChangeSet } from '../../src/ldap/changes/change-set.js';
import { readTombstones } from '../../src/ldap/changes/deletions.js';
import { WatermarkRefusedError } from '../../src/ldap/changes/errors.js';
import { readChangesSince } from '../../src/ldap/changes/read-changes.js';
import { changeTracking } from '../../src/ldap/changes/tracking.js';
import type { Watermark } from '../../src/ldap/changes/types.js';
import { type LdapConnection, openConnection } from '../../src/ldap/client.js';
import { guidToString } from '../../src/ldap/guid.js';
import { DEFAULT_LIMITS, type LdapLimits, type LdapSettings, type RawEntry } from '../../src/ldap/index.js';
import { type RootDse, readRootDse } from '../../src/ldap/root-dse.js';
import { type SchemaMap, schemaFor } from '../../src/ldap/schema-map.js';
import { readEverything } from '../support/connections.js';
import { type SambaInfo, sharedSamba } from '../support/directories.js';
import { sambaAdminClient, sambaLdapSettings } from '../support/samba-access.js';

const LIMITS: LdapLimits = { ...DEFAULT_LIMITS, connectTimeoutMs: 5000, operationTimeoutMs: 20_000 };
const KINDS = ['USER', 'GROUP', 'CONTACT'] as const;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** NORMAL_ACCOUNT | PASSWD_NOTREQD: an enabled account Samba accepts without a password. */
const ENABLED = 544;
const DISABLED = ENABLED | 2;

const byGuid = (a: RawEntry | undefined, b: RawEntry | undefined) =>
  (a?.guid ?? '').localeCompare(b?.guid ?? '');

describe('USN change reading on Samba AD', () => {
  let samba: SambaInfo;
  let schema: SchemaMap;
  let admin: LdapConnection;
  let reader: LdapConnection;
  let adminRoot: RootDse;
  let readerRoot: RootDse;
  let writer: Client;
  /** This file's own OU (the search base of the change reads) and a second one outside it. */
  let ou: string;
  let outside: string;
  const created: string[] = [];

  const settings = (who: { dn: string; password: string }): LdapSettings => sambaLdapSettings(samba, who);

  async function watermarkNow(connection: LdapConnection, root: RootDse): Promise<Watermark> {
    const tracking = await changeTracking(connection, root, ou, { limits: LIMITS });
    if (!tracking.supported) throw new Error(tracking.reason);
    return tracking.watermark;
  }

  const usnOf = (watermark: Watermark): bigint => {
    if (watermark.kind !== 'USN') throw new Error(`not a USN watermark: ${watermark.kind}`);
    return BigInt(watermark.usn);
  };

  function fullRead(connection: LdapConnection, searchBase = ou): Promise<Map<string, RawEntry>> {
    return readEverything({ connection, schema, searchBase, limits: LIMITS });
  }

  async function addUser(name: string, extra: Record<string, string | string[]> = {}): Promise<string> {
    const dn = `CN=${name},${ou}`;
    await writer.add(dn, {
      objectClass: ['top', 'person', 'organizationalPerson', 'user'],
      sAMAccountName: name.slice(0, 20),
      userAccountControl: String(ENABLED),
      mail: `${name}@corp.test`,
      ...extra,
    });
    created.push(dn);
    return dn;
  }

  async function addGroup(name: string, members: string[] = []): Promise<string> {
    const dn = `CN=${name},${ou}`;
    await writer.add(dn, {
      objectClass: ['top', 'group'],
      sAMAccountName: name.slice(0, 20),
      ...(members.length > 0 ? { member: members } : {}),
    });
    created.push(dn);
    return dn;
  }

  async function attributesOf(dn: string, attributes: string[]) {
    const result = await admin.search(dn, {
      scope: 'base',
      attributes: ['objectGUID', ...attributes],
      explicitBufferAttributes: ['objectGUID'],
    });
    const entry = result.searchEntries[0];
    if (!entry) throw new Error(`${dn} not found`);
    return entry;
  }

  const guidOf = async (dn: string) => guidToString((await attributesOf(dn, [])).objectGUID as Buffer);
  const usnChangedOf = async (dn: string) =>
    BigInt(String((await attributesOf(dn, ['uSNChanged'])).uSNChanged));
  const memberValuesOf = async (dn: string) => {
    const value = (await attributesOf(dn, ['member'])).member;
    return (Array.isArray(value) ? value : [value]).filter(
      (v): v is string => typeof v === 'string' && v !== '',
    );
  };

  const replace = (dn: string, type: string, values: string[]) =>
    writer.modify(dn, [new Change({ operation: 'replace', modification: new Attribute({ type, values }) })]);
  const members = (dn: string, operation: 'add' | 'delete', values: string[]) =>
    writer.modify(dn, [new Change({ operation, modification: new Attribute({ type: 'member', values }) })]);
  async function rename(dn: string, newDn: string): Promise<string> {
    await writer.modifyDN(dn, newDn);
    created[created.indexOf(dn)] = newDn;
    return newDn;
  }
  async function remove(dn: string): Promise<void> {
    await writer.del(dn);
    created.splice(created.indexOf(dn), 1);
  }

  beforeAll(async () => {
    samba = sharedSamba();
    schema = schemaFor('ACTIVE_DIRECTORY', {});
    admin = await openConnection(samba.ldapsUrl, settings(samba.admin), LIMITS);
    reader = await openConnection(samba.ldapsUrl, settings(samba.reader), LIMITS);
    adminRoot = await readRootDse(admin);
    readerRoot = await readRootDse(reader);
    writer = await sambaAdminClient(samba);
    const tag = `${process.pid}-${Date.now()}`;
    ou = `OU=changes-${tag},${samba.baseDn}`;
    outside = `OU=changes-outside-${tag},${samba.baseDn}`;
    await writer.add(ou, { objectClass: ['top', 'organizationalUnit'] });
    await writer.add(outside, { objectClass: ['top', 'organizationalUnit'] });
  });

  afterAll(async () => {
    // Groups first (they name users), then users, then the OUs.
    for (const dn of [...created].reverse()) await writer?.del(dn).catch(() => undefined);
    for (const dn of [ou, outside]) await writer?.del(dn).catch(() => undefined);
    await writer?.unbind();
    await admin?.close();
    await reader?.close();
  });

  it('reads the watermark as the reader and as Administrator: highestCommittedUSN, the DC, its invocationId', async () => {
    const asReader = await watermarkNow(reader, readerRoot);
    const asAdmin = await watermarkNow(admin, adminRoot);
    expect(asReader).toMatchObject({ kind: 'USN', server: samba.hostName });
    expect(asAdmin).toMatchObject({ kind: 'USN', server: samba.hostName });
    if (asReader.kind !== 'USN' || asAdmin.kind !== 'USN') return;
    expect(asReader.invocationId).toMatch(GUID);
    expect(asAdmin.invocationId).toBe(asReader.invocationId);
    expect(asReader.usn).toMatch(/^\d+$/);
    expect(usnOf(asAdmin)).toBeGreaterThanOrEqual(usnOf(asReader));
    // The string form is AD's (first three groups byte-reversed): Samba matches a GUID-syntax
    // filter given in string form, so the DSA object answers to it, and not to the bytes read in order.
    const dsa = adminRoot.dsServiceName ?? '';
    const probe = async (text: string) =>
      (await admin.search(dsa, { scope: 'base', filter: `(invocationId=${text})`, attributes: ['cn'] }))
        .searchEntries.length;
    expect(await probe(asReader.invocationId)).toBe(1);
    const bytes = (await attributesOf(dsa, ['invocationId'])).invocationId as Buffer;
    const inOrder = bytes.toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-');
    expect(inOrder).not.toBe(asReader.invocationId);
    expect(await probe(inOrder)).toBe(0);
  });

  it('reads exactly what was added, changed, linked, unlinked, renamed, moved out, disabled and deleted', async () => {
    const stays = await addUser('ch-stays');
    const addressed = await addUser('ch-addressed', { proxyAddresses: ['SMTP:ch-addressed@corp.test'] });
    const renamed = await addUser('ch-renamed');
    const moved = await addUser('ch-moved');
    const disabled = await addUser('ch-disabled');
    const deleted = await addUser('ch-deleted');
    const joins = await addUser('ch-joins');
    const leaves = await addUser('ch-leaves');
    const inner = await addGroup('ch-inner', [leaves]);
    const outer = await addGroup('ch-outer', [inner, stays]);
    const before = await fullRead(admin);
    const known = new Set(before.keys());
    expect(known.size).toBe(10);
    const guids = new Map<string, string>();
    for (const dn of [stays, addressed, renamed, moved, disabled, deleted, joins, leaves, inner, outer])
      guids.set(dn, await guidOf(dn));
    const stored = await watermarkNow(reader, readerRoot);

    const added = await addUser('ch-added');
    await writer.modify(addressed, [
      new Change({
        operation: 'replace',
        modification: new Attribute({ type: 'mail', values: ['moved.on@corp.test'] }),
      }),
      new Change({
        operation: 'replace',
        modification: new Attribute({
          type: 'proxyAddresses',
          values: ['SMTP:moved.on@corp.test', 'smtp:ch-addressed@corp.test'],
        }),
      }),
    ]);
    await members(inner, 'add', [joins]);
    await members(inner, 'delete', [leaves]);
    const renamedTo = await rename(renamed, `CN=ch-renamed-2,${ou}`);
    const movedTo = await rename(moved, `CN=ch-moved,${outside}`);
    await replace(disabled, 'userAccountControl', [String(DISABLED)]);
    await remove(deleted);
    const addedGuid = await guidOf(added);

    const read = await readChangeSet({
      connection: reader,
      rootDse: readerRoot,
      schema,
      searchBase: ou,
      limits: LIMITS,
      kinds: KINDS,
      watermark: stored,
      knownGuids: known,
    });
    const after = await fullRead(admin);
    const ids = [addedGuid, ...[addressed, inner, renamed, disabled].map((dn) => guids.get(dn))];
    const expected = ids.map((id) => after.get(id ?? ''));
    expect(expected.every((entry) => entry !== undefined)).toBe(true);
    expect([...read.changeSet.changed].sort(byGuid)).toEqual(expected.sort(byGuid));
    // What each change is, beyond "equal to the full read": the full read could be wrong the same way.
    const changed = new Map(read.changeSet.changed.map((entry) => [entry.guid, entry]));
    expect(changed.get(addedGuid)).toMatchObject({ kind: 'USER', dn: added, mail: 'ch-added@corp.test' });
    expect(changed.get(guids.get(addressed) ?? '')).toMatchObject({
      mail: 'moved.on@corp.test',
      proxyAddresses: ['SMTP:moved.on@corp.test', 'smtp:ch-addressed@corp.test'],
    });
    expect(changed.get(guids.get(inner) ?? '')?.memberDns).toEqual([joins]);
    expect(changed.get(guids.get(renamed) ?? '')?.dn).toBe(renamedTo);
    expect(changed.get(guids.get(disabled) ?? '')?.userAccountControl).toBe(DISABLED);
    // Not changed: the outer group (its member, the inner group, is the same object), nor the users
    // who joined or left (memberOf is a back link: their uSNChanged does not move).
    for (const dn of [outer, joins, leaves, stays]) expect(changed.has(guids.get(dn) ?? '')).toBe(false);
    // An OU as search base: tombstones would miss the move out, so ids are compared.
    expect(read.deletions).toBe('ID_COMPARISON');
    expect([...read.changeSet.deletedGuids].sort()).toEqual([guids.get(deleted), guids.get(moved)].sort());
    expect(after.has(guids.get(moved) ?? '')).toBe(false);
    expect(usnOf(read.changeSet.watermark)).toBeGreaterThan(usnOf(stored));
    expect(read.changeSet.watermark).toMatchObject({
      server: stored.server,
      invocationId: stored.kind === 'USN' ? stored.invocationId : '',
    });
    // The move kept the id: the object is outside the base, not gone.
    expect(await guidOf(movedTo)).toBe(guids.get(moved));

    // From the new watermark: nothing again (nothing re-read, nothing left behind).
    const again = await readChangesSince({
      connection: reader,
      rootDse: readerRoot,
      schema,
      searchBase: ou,
      limits: LIMITS,
      kinds: KINDS,
      watermark: read.changeSet.watermark,
    });
    expect(again.changed).toEqual([]);
  });

  it("measures a group's uSNChanged when a member is renamed, moved out or deleted: it does not move", async () => {
    const renamed = await addUser('m-renamed');
    const moved = await addUser('m-moved');
    const deleted = await addUser('m-deleted');
    const stays = await addUser('m-stays');
    const group = await addGroup('m-group', [renamed, moved, deleted, stays]);
    const atStart = await usnChangedOf(group);
    const changedGroups = async (watermark: Watermark) =>
      (
        await readChangesSince({
          connection: reader,
          rootDse: readerRoot,
          schema,
          searchBase: ou,
          limits: LIMITS,
          kinds: ['GROUP'],
          watermark,
        })
      ).changed.map((entry) => entry.dn);

    // member is a linked attribute: the value follows the rename, the group itself is not changed,
    // so a USN read does not return it (the applier keeps the member's id: LINKED).
    const beforeRename = await watermarkNow(reader, readerRoot);
    const renamedTo = await rename(renamed, `CN=m-renamed-2,${ou}`);
    expect(await memberValuesOf(group)).toContain(renamedTo);
    expect(await memberValuesOf(group)).not.toContain(renamed);
    expect(await usnChangedOf(group)).toBe(atStart);
    expect(await changedGroups(beforeRename)).toEqual([]);

    // Moved out of the base: the value follows it out, the group unchanged (the applier drops the
    // id, which the change set lists as removed).
    const beforeMove = await watermarkNow(reader, readerRoot);
    const movedTo = await rename(moved, `CN=m-moved,${outside}`);
    expect(await memberValuesOf(group)).toContain(movedTo);
    expect(await usnChangedOf(group)).toBe(atStart);
    expect(await changedGroups(beforeMove)).toEqual([]);

    // Deleted: the value is gone, and still the group is not changed.
    const beforeDelete = await watermarkNow(reader, readerRoot);
    await remove(deleted);
    expect(await memberValuesOf(group)).not.toContain(deleted);
    expect(await usnChangedOf(group)).toBe(atStart);
    expect(await changedGroups(beforeDelete)).toEqual([]);

    // What a full read now decodes: the group's current members, which an incremental read never
    // returned; the applier must arrive at the same from the ids it keeps.
    const full = await fullRead(reader);
    expect(full.get(await guidOf(group))?.memberDns.toSorted()).toEqual(
      [renamedTo, movedTo, stays].toSorted(),
    );
  });

  it('finds a deletion by its tombstone as Administrator, and by comparing ids as the reader', async () => {
    const doomed = await addUser('d-doomed');
    const stays = await addUser('d-stays');
    const [doomedGuid, staysGuid] = [await guidOf(doomed), await guidOf(stays)];
    const stored = await watermarkNow(admin, adminRoot);
    if (stored.kind !== 'USN') throw new Error('not a USN watermark');
    await remove(doomed);

    const tombstones = await readTombstones({ connection: admin, rootDse: adminRoot, usn: stored.usn });
    expect(tombstones).toContain(doomedGuid);
    expect(tombstones).not.toContain(staysGuid);
    // The reader sees no tombstone (only the Deleted Objects container): not to be trusted.
    expect(await readTombstones({ connection: reader, rootDse: readerRoot, usn: stored.usn })).toBeNull();

    // The whole domain as base and AD's own filters: tombstones suffice where they can be read. A
    // move within the base (to the other OU) is a change of DN, not a removal, either way.
    const movedTo = await rename(stays, `CN=d-stays,${outside}`);
    const changeSet = async (connection: LdapConnection, rootDse: RootDse) => {
      const read = await readChangeSet({
        connection,
        rootDse,
        schema,
        searchBase: samba.baseDn,
        limits: LIMITS,
        kinds: KINDS,
        watermark: stored,
        knownGuids: new Set([doomedGuid, staysGuid]),
      });
      const ours = read.changeSet.changed.filter(
        (entry) => entry.guid === doomedGuid || entry.guid === staysGuid,
      );
      return { deletions: read.deletions, deleted: read.changeSet.deletedGuids, ours };
    };
    const byAdmin = await changeSet(admin, adminRoot);
    expect(byAdmin.deletions).toBe('TOMBSTONES');
    expect(byAdmin.deleted).toContain(doomedGuid);
    expect(byAdmin.deleted).not.toContain(staysGuid);
    expect(byAdmin.ours.map((entry) => entry.dn)).toEqual([movedTo]);
    const byReader = await changeSet(reader, readerRoot);
    expect(byReader.deletions).toBe('ID_COMPARISON');
    expect(byReader.deleted).toEqual([doomedGuid]);
    expect(byReader.ours).toEqual(byAdmin.ours);
  });

  it('refuses a watermark of another DC or another invocationId, through the real DC', async () => {
    const current = await watermarkNow(reader, readerRoot);
    if (current.kind !== 'USN') throw new Error('not a USN watermark');
    const since = (watermark: Watermark) =>
      readChangesSince({
        connection: reader,
        rootDse: readerRoot,
        schema,
        searchBase: ou,
        limits: LIMITS,
        kinds: KINDS,
        watermark,
      });
    await expect(since({ ...current, server: 'dc2.corp.test' })).rejects.toMatchObject({
      code: 'WATERMARK_REFUSED',
      reason: 'OTHER_SERVER',
    });
    await expect(
      since({ ...current, invocationId: '00000000-1111-2222-3333-444444444444' }),
    ).rejects.toMatchObject({ code: 'WATERMARK_REFUSED', reason: 'INVOCATION_ID_CHANGED' });
    await expect(since({ ...current, usn: String(BigInt(current.usn) + 1_000_000n) })).rejects.toBeInstanceOf(
      WatermarkRefusedError,
    );
    await expect(since({ ...current, usn: String(BigInt(current.usn) + 1_000_000n) })).rejects.toMatchObject({
      reason: 'USN_WENT_BACKWARDS',
    });
    // The DC's name in another case and the invocationId in upper case are the same DC.
    await expect(
      since({
        ...current,
        server: current.server.toUpperCase(),
        invocationId: current.invocationId.toUpperCase(),
      }),
    ).resolves.toMatchObject({ watermark: { kind: 'USN', server: current.server } });
  });
});
