/**
 * Deletions and departures at the cost of the change against the shared
 * Samba AD DC (run under the machine-wide lock: flock /tmp/dirgate-samba.lock).
 * In an OU of this file's own as search base: as Administrator (who sees
 * tombstones) a deletion comes from its tombstone and an object moved out of
 * the OU, or changed so that the user filter no longer matches it, from the
 * ids stamped since the watermark, reading a handful of ids, not every one;
 * the plain reader (no tombstones) still compares ids and finds the same.
 * The forest's tombstone lifetime is read, and a watermark older than it, or
 * one that does not say when it was read, is refused.
 */
import { Attribute, Change, Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readChangeSet } from '../../src/ldap/changes/change-set.js';
import { readTombstoneLifetimeDays } from '../../src/ldap/changes/tombstone-lifetime.js';
import { changeTracking } from '../../src/ldap/changes/tracking.js';
import type { Watermark } from '../../src/ldap/changes/types.js';
import { type LdapConnection, openConnection } from '../../src/ldap/client.js';
import { guidToString } from '../../src/ldap/guid.js';
import { DEFAULT_LIMITS, type LdapLimits, type LdapSettings } from '../../src/ldap/index.js';
import { type RootDse, readRootDse } from '../../src/ldap/root-dse.js';
import { type SchemaMap, schemaFor } from '../../src/ldap/schema-map.js';
import { type SambaInfo, sharedSamba } from '../support/directories.js';
import { sambaAdminClient, sambaLdapSettings } from '../support/samba-access.js';

const LIMITS: LdapLimits = { ...DEFAULT_LIMITS, connectTimeoutMs: 5000, operationTimeoutMs: 20_000 };
const KINDS = ['USER', 'GROUP', 'CONTACT'] as const;
/** NORMAL_ACCOUNT | PASSWD_NOTREQD: an enabled account Samba accepts without a password. */
const ENABLED = 544;
const DAY_MS = 86_400_000;

describe('deletions and departures on Samba AD', () => {
  let samba: SambaInfo;
  let admin: LdapConnection;
  let reader: LdapConnection;
  let adminRoot: RootDse;
  let readerRoot: RootDse;
  let writer: Client;
  let ou: string;
  let outside: string;
  const created: string[] = [];

  const settings = (who: { dn: string; password: string }): LdapSettings => sambaLdapSettings(samba, who);

  async function watermarkNow(connection: LdapConnection, root: RootDse): Promise<Watermark> {
    const tracking = await changeTracking(connection, root, ou, { limits: LIMITS });
    if (!tracking.supported) throw new Error(tracking.reason);
    return tracking.watermark;
  }

  async function addUser(name: string): Promise<{ dn: string; guid: string }> {
    const dn = `CN=${name},${ou}`;
    await writer.add(dn, {
      objectClass: ['top', 'person', 'organizationalPerson', 'user'],
      sAMAccountName: name.slice(0, 20),
      userAccountControl: String(ENABLED),
      mail: `${name}@corp.test`,
    });
    created.push(dn);
    const found = await admin.search(dn, {
      scope: 'base',
      attributes: ['objectGUID'],
      explicitBufferAttributes: ['objectGUID'],
    });
    return { dn, guid: guidToString(found.searchEntries[0]?.objectGUID as Buffer) };
  }

  const read = (
    connection: LdapConnection,
    rootDse: RootDse,
    schema: SchemaMap,
    watermark: Watermark,
    knownGuids: ReadonlySet<string>,
  ) =>
    readChangeSet({
      connection,
      rootDse,
      schema,
      searchBase: ou,
      limits: LIMITS,
      kinds: KINDS,
      watermark,
      knownGuids,
    });

  beforeAll(async () => {
    samba = sharedSamba();
    admin = await openConnection(samba.ldapsUrl, settings(samba.admin), LIMITS);
    reader = await openConnection(samba.ldapsUrl, settings(samba.reader), LIMITS);
    adminRoot = await readRootDse(admin);
    readerRoot = await readRootDse(reader);
    writer = await sambaAdminClient(samba);
    const tag = `${process.pid}-${Date.now()}`;
    ou = `OU=deletions-${tag},${samba.baseDn}`;
    outside = `OU=deletions-outside-${tag},${samba.baseDn}`;
    await writer.add(ou, { objectClass: ['top', 'organizationalUnit'] });
    await writer.add(outside, { objectClass: ['top', 'organizationalUnit'] });
  });

  afterAll(async () => {
    for (const dn of [...created].reverse()) await writer?.del(dn).catch(() => undefined);
    for (const dn of [ou, outside]) await writer?.del(dn).catch(() => undefined);
    await writer?.unbind();
    await admin?.close();
    await reader?.close();
  });

  it('finds a deletion by tombstone, a move out of the OU and a filter no longer matching by stamped ids', async () => {
    const schema = schemaFor('ACTIVE_DIRECTORY', {
      userFilter: '(&(objectCategory=person)(objectClass=user)(!(description=left)))',
    });
    const deleted = await addUser('dl-deleted');
    const moved = await addUser('dl-moved');
    const filtered = await addUser('dl-filtered');
    const changed = await addUser('dl-changed');
    const stays = await addUser('dl-stays');
    const known = new Set([deleted, moved, filtered, changed, stays].map((user) => user.guid));
    const stored = await watermarkNow(admin, adminRoot);

    await writer.del(deleted.dn);
    created.splice(created.indexOf(deleted.dn), 1);
    const movedTo = `CN=dl-moved,${outside}`;
    await writer.modifyDN(moved.dn, movedTo);
    created[created.indexOf(moved.dn)] = movedTo;
    const replace = (dn: string, type: string, values: string[]) =>
      writer.modify(dn, [
        new Change({ operation: 'replace', modification: new Attribute({ type, values }) }),
      ]);
    await replace(filtered.dn, 'description', ['left']);
    await replace(changed.dn, 'mail', ['dl-changed-2@corp.test']);

    const byAdmin = await read(admin, adminRoot, schema, stored, known);
    expect(byAdmin.deletions).toBe('TOMBSTONES');
    const ours = (ids: readonly string[]) => new Set(ids.filter((id) => known.has(id)));
    expect(ours(byAdmin.changeSet.deletedGuids)).toEqual(new Set([deleted.guid, moved.guid, filtered.guid]));
    expect(byAdmin.changeSet.changed.map((entry) => entry.guid)).toEqual([changed.guid]);
    // The four stamped objects (and whatever else the domain stamped meanwhile), the tombstone.
    expect(byAdmin.idsRead).toBeLessThan(50);

    // The reader sees no tombstone: every id under the OU is compared, with the same result.
    const byReader = await read(reader, readerRoot, schema, stored, known);
    expect(byReader.deletions).toBe('ID_COMPARISON');
    expect(ours(byReader.changeSet.deletedGuids)).toEqual(ours(byAdmin.changeSet.deletedGuids));
    expect(byReader.changeSet.changed).toEqual(byAdmin.changeSet.changed);
  });

  it('reads the forest tombstone lifetime and refuses a watermark older than it', async () => {
    // Samba provisions none or 180: AD's default either way.
    expect(await readTombstoneLifetimeDays(admin, adminRoot)).toBe(180);
    expect(await readTombstoneLifetimeDays(reader, readerRoot)).toBe(180);
    const schema = schemaFor('ACTIVE_DIRECTORY', {});
    const stored = await watermarkNow(reader, readerRoot);
    expect(stored.readAt).toBeDefined();
    const at = (days: number): Watermark => ({
      ...stored,
      readAt: new Date(Date.now() - days * DAY_MS).toISOString(),
    });
    await expect(read(reader, readerRoot, schema, at(181), new Set())).rejects.toMatchObject({
      code: 'WATERMARK_REFUSED',
      reason: 'TOMBSTONE_LIFETIME_PASSED',
    });
    const { readAt: _, ...undated } = stored;
    await expect(read(reader, readerRoot, schema, undated as Watermark, new Set())).rejects.toMatchObject({
      reason: 'TOMBSTONE_LIFETIME_PASSED',
    });
    await expect(read(reader, readerRoot, schema, at(179), new Set())).resolves.toMatchObject({
      deletions: 'ID_COMPARISON',
    });
  });
});
