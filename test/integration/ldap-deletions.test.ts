/**
 * Deletions and departures found at the cost of the change, against private
 * slapds with the access log (slapo-accesslog): a deletion read from the log
 * (CHANGE_LOG), an object moved out of an OU base and one that stopped
 * matching its kind's filter found from the ids stamped since the watermark,
 * each reading a handful of ids instead of every one; a log not seen when the
 * watermark was read, or purged past it, is not trusted and ids are compared.
 */
import { Attribute, Change, Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SlapdInstance } from '../../scripts/directories/slapd.js';
import { idOfDnIn } from '../../src/ldap/changes/access-log.js';
import { type ChangeSetRead, readChangeSet } from '../../src/ldap/changes/change-set.js';
import { changeTracking } from '../../src/ldap/changes/tracking.js';
import type { Watermark } from '../../src/ldap/changes/types.js';
import { TIMESTAMP_OVERLAP_SECONDS } from '../../src/ldap/changes/watermark.js';
import { type LdapConnection, openConnection } from '../../src/ldap/client.js';
import { DEFAULT_LIMITS, type LdapLimits, type RawEntry } from '../../src/ldap/index.js';
import { type RootDse, readRootDse } from '../../src/ldap/root-dse.js';
import { type SchemaMap, schemaFor } from '../../src/ldap/schema-map.js';
import { plainSlapdSettings, readEverything } from '../support/connections.js';
import { privateSlapd } from '../support/fixtures.js';

const LIMITS: LdapLimits = {
  ...DEFAULT_LIMITS,
  connectTimeoutMs: 3000,
  operationTimeoutMs: 10_000,
  pageSize: 50,
};
const KINDS = ['USER', 'GROUP', 'CONTACT'] as const;
const USERS = 300;
const logged = privateSlapd({
  users: USERS,
  groups: 10,
  contacts: 5,
  seed: 'h18-deletions',
  largeGroupSize: 0,
  server: { accessLog: true },
});
// Purges entries older than 2 s every second: a log that loses what the window needs.
const purged = privateSlapd({
  users: 20,
  groups: 3,
  contacts: 1,
  seed: 'h18-purged',
  largeGroupSize: 0,
  server: { accessLog: { purge: '00:00:02 00:00:01' } },
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Past the overlap: what was stamped before is no longer re-read. */
const pastOverlap = () => sleep((TIMESTAMP_OVERLAP_SECONDS + 1.2) * 1000);

interface Bound {
  readonly slapd: SlapdInstance;
  readonly connection: LdapConnection;
  readonly rootDse: RootDse;
  readonly admin: Client;
}

const opened: Bound[] = [];
async function bind(slapd: SlapdInstance): Promise<Bound> {
  const connection = await openConnection(slapd.url, plainSlapdSettings(slapd), LIMITS);
  const admin = new Client({ url: slapd.url });
  await admin.bind(slapd.admin.dn, slapd.admin.password);
  const bound = { slapd, connection, rootDse: await readRootDse(connection), admin };
  opened.push(bound);
  return bound;
}

afterAll(async () => {
  for (const { connection, admin } of opened) {
    await admin.unbind();
    await connection.close();
  }
});

async function watermarkNow(bound: Bound, searchBase: string): Promise<Watermark> {
  const tracking = await changeTracking(bound.connection, bound.rootDse, searchBase, {
    limits: LIMITS,
    clockSkewSeconds: 0,
  });
  if (!tracking.supported) throw new Error(tracking.reason);
  return tracking.watermark;
}

/** The snapshot a full read makes, with the DN lookup the engine passes. */
async function snapshotOf(bound: Bound, schema: SchemaMap, searchBase: string) {
  const entries: Map<string, RawEntry> = await readEverything({
    connection: bound.connection,
    schema,
    searchBase,
    limits: LIMITS,
  });
  return { entries, known: new Set(entries.keys()), idOfDn: idOfDnIn([...entries.values()]) };
}

function readFrom(
  bound: Bound,
  options: {
    schema: SchemaMap;
    searchBase: string;
    watermark: Watermark;
    known: ReadonlySet<string>;
    idOfDn?: (dn: string) => string | undefined;
    kinds?: readonly ('USER' | 'GROUP' | 'CONTACT')[];
  },
): Promise<ChangeSetRead> {
  return readChangeSet({
    connection: bound.connection,
    rootDse: bound.rootDse,
    schema: options.schema,
    searchBase: options.searchBase,
    limits: LIMITS,
    kinds: options.kinds ?? KINDS,
    watermark: options.watermark,
    knownGuids: options.known,
    idOfDn: options.idOfDn,
    clockSkewSeconds: 0,
  });
}

describe('deletions from the access log (slapo-accesslog)', () => {
  let bound: Bound;
  const schema = schemaFor('LDAP', {});
  beforeAll(async () => {
    bound = await bind(logged.slapd);
  });

  it('finds where the log is and records it with the watermark', async () => {
    const watermark = await watermarkNow(bound, logged.slapd.baseDn);
    expect(watermark.kind === 'TIMESTAMP' && watermark.changeLog?.base).toBe('cn=accesslog');
    expect(watermark.readAt).toBeDefined();
  });

  it('reads a deletion, a rename then deletion, and nothing else from the log, not every id', async () => {
    const { dataset, slapd } = logged;
    const before = await snapshotOf(bound, schema, slapd.baseDn);
    await pastOverlap();
    const stored = await watermarkNow(bound, slapd.baseDn);
    const [deleted, renamedThenDeleted, modified] = dataset.users;
    if (!deleted || !renamedThenDeleted || !modified) throw new Error('dataset too small');
    await bound.admin.del(deleted.dn);
    const renamed = `cn=Briefly Renamed,ou=Users,${slapd.baseDn}`;
    await bound.admin.modifyDN(renamedThenDeleted.dn, 'cn=Briefly Renamed');
    await bound.admin.del(renamed);
    await bound.admin.modify(modified.dn, [
      new Change({
        operation: 'replace',
        modification: new Attribute({ type: 'mail', values: ['m@corp.test'] }),
      }),
    ]);

    const read = await readFrom(bound, { schema, searchBase: slapd.baseDn, watermark: stored, ...before });
    expect(read.comparedBecause).toBeUndefined();
    expect(read.deletions).toBe('CHANGE_LOG');
    expect(new Set(read.changeSet.deletedGuids)).toEqual(new Set([deleted.guid, renamedThenDeleted.guid]));
    // The groups the deleted users were in lost them (memberof-refint) without a new stamp.
    expect(read.changeSet.changed.map((entry) => entry.guid)).toEqual([modified.guid]);
    expect(read.entriesRead).toBe(1);
    // The stamped ids (the modified user) and the log entries (two deletions, one rename).
    expect(read.idsRead).toBeLessThan(10);

    // The same read comparing ids (no log recorded with the watermark) reads every id.
    const { changeLog: _, ...unrecorded } = stored as Extract<Watermark, { kind: 'TIMESTAMP' }>;
    const compared = await readFrom(bound, {
      schema,
      searchBase: slapd.baseDn,
      watermark: unrecorded,
      ...before,
    });
    expect(compared.deletions).toBe('ID_COMPARISON');
    expect(compared.comparedBecause).toMatch(/not seen when the watermark was read/);
    expect(new Set(compared.changeSet.deletedGuids)).toEqual(new Set(read.changeSet.deletedGuids));
    expect(compared.idsRead).toBeGreaterThanOrEqual(USERS);
    console.log(
      `[ldap-deletions] ${before.known.size} objects, 3 deletions/renames + 1 change: CHANGE_LOG read ${read.entriesRead} entries + ${read.idsRead} ids; ID_COMPARISON ${compared.entriesRead} entries + ${compared.idsRead} ids`,
    );
  }, 30_000);

  it('without the DN lookup, a deletion the log names only by DN makes the read compare ids', async () => {
    const { dataset, slapd } = logged;
    const before = await snapshotOf(bound, schema, slapd.baseDn);
    await pastOverlap();
    const stored = await watermarkNow(bound, slapd.baseDn);
    const gone = dataset.users[3];
    if (!gone) throw new Error('dataset too small');
    await bound.admin.del(gone.dn);
    // The dataset's ids are objectGUIDs, not entryUUIDs: the log's reqEntryUUID names no known id.
    const read = await readFrom(bound, {
      schema,
      searchBase: slapd.baseDn,
      watermark: stored,
      known: before.known,
    });
    expect(read.deletions).toBe('ID_COMPARISON');
    expect(read.comparedBecause).toMatch(/no id is known/);
    expect(read.changeSet.deletedGuids).toEqual([gone.guid]);
  }, 30_000);

  it('finds an object moved out of an OU base from the stamped ids', async () => {
    const { slapd } = logged;
    const usersBase = `ou=Users,${slapd.baseDn}`;
    const before = await snapshotOf(bound, schema, usersBase);
    const leaving = [...before.entries.values()].find((entry) => entry.kind === 'USER');
    if (!leaving) throw new Error('no user');
    await pastOverlap();
    const stored = await watermarkNow(bound, usersBase);
    await bound.admin.modifyDN(leaving.dn, `${leaving.dn.split(',')[0]},ou=Contacts,${slapd.baseDn}`);
    const read = await readFrom(bound, {
      schema,
      searchBase: usersBase,
      watermark: stored,
      kinds: ['USER'],
      ...before,
    });
    expect(read.deletions).toBe('CHANGE_LOG');
    expect(read.changeSet.deletedGuids).toEqual([leaving.guid]);
    expect(read.changeSet.changed).toEqual([]);
    expect(read.idsRead).toBeLessThan(10);
  }, 30_000);

  it("finds an object that no longer matches its kind's filter from the stamped ids", async () => {
    const { slapd } = logged;
    const filtered = schemaFor('LDAP', { userFilter: '(&(objectClass=inetOrgPerson)(!(description=left)))' });
    const before = await snapshotOf(bound, filtered, slapd.baseDn);
    const leaving = [...before.entries.values()].find((entry) => entry.kind === 'USER');
    if (!leaving) throw new Error('no user');
    await pastOverlap();
    const stored = await watermarkNow(bound, slapd.baseDn);
    await bound.admin.modify(leaving.dn, [
      new Change({
        operation: 'replace',
        modification: new Attribute({ type: 'description', values: ['left'] }),
      }),
    ]);
    const read = await readFrom(bound, {
      schema: filtered,
      searchBase: slapd.baseDn,
      watermark: stored,
      ...before,
    });
    expect(read.deletions).toBe('CHANGE_LOG');
    expect(read.changeSet.deletedGuids).toEqual([leaving.guid]);
    expect(read.changeSet.changed).toEqual([]);
  }, 30_000);
});

describe('a purged access log', () => {
  it('is not trusted once it lost an entry of the window: ids are compared', async () => {
    const bound = await bind(purged.slapd);
    const schema = schemaFor('LDAP', {});
    const { dataset, slapd } = purged;
    const before = await snapshotOf(bound, schema, slapd.baseDn);
    const stored = await watermarkNow(bound, slapd.baseDn);
    const [first, second] = dataset.users;
    if (!first || !second) throw new Error('dataset too small');
    await bound.admin.del(first.dn);
    // Older than the purge age and a purge interval later: the first deletion's entry is gone.
    await sleep(4500);
    await bound.admin.del(second.dn);
    const log = await bound.connection.search('cn=accesslog', {
      scope: 'one',
      filter: '(objectClass=auditDelete)',
      attributes: ['reqDN'],
    });
    expect(log.searchEntries.map((entry) => entry.reqDN)).not.toContain(first.dn);
    const read = await readFrom(bound, { schema, searchBase: slapd.baseDn, watermark: stored, ...before });
    expect(read.deletions).toBe('ID_COMPARISON');
    expect(read.comparedBecause).toMatch(/purged past the watermark/);
    expect(new Set(read.changeSet.deletedGuids)).toEqual(new Set([first.guid, second.guid]));
  }, 30_000);
});
