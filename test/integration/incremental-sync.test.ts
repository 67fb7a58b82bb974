/**
 * Incremental runs through the GraphQL API against a private slapd (#18):
 * each change of the directory is served after one incremental run, which
 * lists exactly that change; what cannot be incremental runs in full and
 * says why; and after all of it a full run finds nothing to change, object
 * for object.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guidFromBytes, guidToBytes } from '../../scripts/directories/identifiers.js';
import {
  AutocompleteDocument,
  ConnectionByIdDocument,
  type ConnectionFieldsFragment,
  GroupMembersDocument,
  PrincipalByIdDocument,
  PrincipalsByEmailDocument,
  StartSyncDocument,
  SyncRunsDocument,
  UpdateConnectionDocument,
} from '../gql/graphql.js';
import { privateSlapd } from '../support/fixtures.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { servedDirectory } from '../support/served-directory.js';
import { addEntry, changeValues, deleteEntry, modifyEntry, moveEntry } from '../support/slapd-edits.js';
import { addSlapdConnection, syncNow } from '../support/sync.js';

for (const accessLog of [false, true]) {
  describe(`incremental runs against slapd ${accessLog ? 'with' : 'without'} its access log`, () => {
    const ldap = privateSlapd({
      users: 20,
      groups: 8,
      contacts: 4,
      seed: 'incremental',
      largeGroupSize: 0,
      server: { accessLog },
    });
    let gw: TestGateway;
    let connectionId: string;

    beforeAll(async () => {
      gw = await startTestGateway();
      connectionId = await addSlapdConnection(gw, ldap.slapd);
      const first = await syncNow(gw, connectionId);
      expect(first.status, first.lastSync?.error ?? '').toBe('SUCCEEDED');
    });

    afterAll(async () => {
      await gw?.dispose();
    });

    const idOf = (guid: string) => `${connectionId}:${guid}`;

    /** One incremental run through the API; the run as recorded. */
    async function incremental(): Promise<NonNullable<ConnectionFieldsFragment['lastSync']>> {
      const c = await syncNow(gw, connectionId, undefined, 'INCREMENTAL');
      const run = c.lastSync;
      if (!run) throw new Error('no run recorded');
      expect(run.status, run.error ?? '').toBe('SUCCEEDED');
      return run;
    }

    function expectChanges(
      run: NonNullable<ConnectionFieldsFragment['lastSync']>,
      want: { added?: string[]; updated?: string[]; removed?: string[] },
    ): void {
      expect(run.mode).toBe('INCREMENTAL');
      expect(run.fallbackReason).toBeNull();
      expect([...(run.changes?.added ?? [])].sort()).toEqual([...(want.added ?? [])].sort());
      expect([...(run.changes?.updated ?? [])].sort()).toEqual([...(want.updated ?? [])].sort());
      expect([...(run.changes?.removed ?? [])].sort()).toEqual([...(want.removed ?? [])].sort());
    }

    describe('each change', () => {
      it('are on by default, and the directory tracks changes by modifyTimestamp', async () => {
        const { connection } = await gw.ok(ConnectionByIdDocument, { id: connectionId });
        expect(connection?.incrementalSchedule).toBe('* * * * *');
        expect(connection?.changeTracking).toBe('TIMESTAMP');
        expect(connection?.lastSync?.mode).toBe('FULL');
      });

      it('a run with nothing changed changes nothing', async () => {
        const run = await incremental();
        expectChanges(run, {});
        expect(run.progress).toBeLessThan(ldap.dataset.users.length);
      });

      it('serves a user added, and lists exactly it', async () => {
        const guid = guidFromBytes(randomBytes(16));
        const dn = `cn=Zelda Newcomer,${ldap.dataset.containers.user}`;
        await addEntry(ldap.slapd, dn, {
          objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'user'],
          cn: 'Zelda Newcomer',
          sn: 'Newcomer',
          displayName: 'Zelda Newcomer',
          mail: 'zelda.newcomer@corp.test',
          sAMAccountName: 'znewcomer',
          userPrincipalName: 'znewcomer@corp.test',
          userAccountControl: '512',
          objectGUID: guidToBytes(guid),
        });
        const run = await incremental();
        expectChanges(run, { added: [idOf(guid)] });
        const { autocomplete } = await gw.ok(AutocompleteDocument, { prefix: 'zelda.new' });
        expect(autocomplete.map((s) => s.principal.id)).toEqual([idOf(guid)]);
      });

      it('serves an address changed', async () => {
        const user = ldap.dataset.users[0];
        if (!user) throw new Error('no user');
        await modifyEntry(ldap.slapd, user.dn, { mail: ['changed.address@corp.test'] });
        const run = await incremental();
        expectChanges(run, { updated: [idOf(user.guid)] });
        const { principalsByEmail } = await gw.ok(PrincipalsByEmailDocument, {
          address: 'changed.address@corp.test',
        });
        expect(principalsByEmail.map((p) => p.id)).toEqual([idOf(user.guid)]);
      });

      it('adds a member to a nested group and removes it, each in one run', async () => {
        const [outer, , inner] = ldap.dataset.structure.chain;
        const innerGroup = ldap.dataset.groups.find((g) => g.dn === inner);
        const outerGroup = ldap.dataset.groups.find((g) => g.dn === outer);
        if (!outer || !inner || !innerGroup || !outerGroup) throw new Error('no nested groups');
        const transitive = async () => {
          const { principal } = await gw.ok(GroupMembersDocument, {
            id: idOf(outerGroup.guid),
            transitive: true,
            first: 500,
          });
          return principal?.__typename === 'Group' ? principal.members.nodes.map((n) => n.id) : [];
        };
        const members = await transitive();
        const user = ldap.dataset.users.find((u) => !members.includes(idOf(u.guid)));
        if (!user) throw new Error('every user is in the nested group already');
        await changeValues(ldap.slapd, inner, 'member', { add: [user.dn] });
        const added = await incremental();
        expect(added.changes?.updated).toContain(idOf(innerGroup.guid));
        expect(await transitive()).toContain(idOf(user.guid));

        await changeValues(ldap.slapd, inner, 'member', { remove: [user.dn] });
        const removed = await incremental();
        expect(removed.changes?.updated).toContain(idOf(innerGroup.guid));
        expect(await transitive()).not.toContain(idOf(user.guid));
      });

      it('follows a rename: same id, new DN and name', async () => {
        const user = ldap.dataset.users[2];
        if (!user) throw new Error('no user');
        const newDn = `cn=Renamed Person,${ldap.dataset.containers.user}`;
        await moveEntry(ldap.slapd, user.dn, newDn);
        await modifyEntry(ldap.slapd, newDn, { displayName: ['Renamed Person'] });
        const run = await incremental();
        expect(run.changes?.updated).toContain(idOf(user.guid));
        expect(run.changes?.addedCount).toBe(0);
        expect(run.changes?.removedCount).toBe(0);
        const { principal } = await gw.ok(PrincipalByIdDocument, { id: idOf(user.guid) });
        expect(principal?.dn.toLowerCase()).toBe(newDn.toLowerCase());
        expect(principal?.displayName).toBe('Renamed Person');
      });

      it('serves a user disabled', async () => {
        const user = ldap.dataset.users.find(
          (u) => (u.userAccountControl & 2) === 0 && u.dn !== ldap.dataset.users[2]?.dn,
        );
        if (!user) throw new Error('no enabled user');
        await modifyEntry(ldap.slapd, user.dn, { userAccountControl: [String(user.userAccountControl | 2)] });
        const run = await incremental();
        expectChanges(run, { updated: [idOf(user.guid)] });
        const { principal } = await gw.ok(PrincipalByIdDocument, { id: idOf(user.guid) });
        expect(principal?.__typename === 'User' && principal.enabled).toBe(false);
      });

      it('removes a user deleted, and says how deletions were found', async () => {
        const user = ldap.dataset.users[5];
        if (!user) throw new Error('no user');
        await deleteEntry(ldap.slapd, user.dn);
        const run = await incremental();
        // memberof-refint takes it out of its groups too: those are changed.
        expect(run.changes?.removed).toEqual([idOf(user.guid)]);
        expect(run.changes?.addedCount).toBe(0);
        // Without a log every id is read; with one, only the log's entries and the ids stamped since.
        expect(run.deletionCheck).toBe(accessLog ? 'CHANGE_LOG' : 'ID_COMPARISON');
        // (the ids stamped within the re-read window: this file's earlier changes too).
        const objects = ldap.dataset.users.length + ldap.dataset.groups.length + ldap.dataset.contacts.length;
        if (accessLog) expect(run.idsRead).toBeLessThan(objects / 2);
        else expect(run.idsRead).toBeGreaterThanOrEqual(objects - 1);
        const { principal } = await gw.ok(PrincipalByIdDocument, { id: idOf(user.guid) });
        expect(principal).toBeNull();
      });

      it('is equal, object for object, to a full run afterwards', async () => {
        const before = await servedDirectory(gw, connectionId);
        const full = await syncNow(gw, connectionId);
        expect(full.lastSync?.mode).toBe('FULL');
        expect(full.lastSync?.changes).toMatchObject({ addedCount: 0, updatedCount: 0, removedCount: 0 });
        expect(await servedDirectory(gw, connectionId)).toEqual(before);
      });

      it('runs in full, saying why, once the read settings changed', async () => {
        await gw.ok(UpdateConnectionDocument, {
          id: connectionId,
          input: { userFilter: '(objectClass=inetOrgPerson)' },
        });
        const c = await syncNow(gw, connectionId, undefined, 'INCREMENTAL');
        expect(c.lastSync).toMatchObject({
          status: 'SUCCEEDED',
          mode: 'FULL',
          fallbackReason: 'SETTINGS_CHANGED',
        });
        expect(c.lastSync?.fallbackMessage).toMatch(/filter/);
        // The reader role sees the reason, not the words.
        const reader = await gw.request(SyncRunsDocument, { connectionId, last: 1 }, gw.readerToken);
        expect(reader.data?.syncRuns[0]).toMatchObject({
          fallbackReason: 'SETTINGS_CHANGED',
          fallbackMessage: null,
        });
        // And the next one is incremental again.
        expect((await incremental()).mode).toBe('INCREMENTAL');
      });

      it('refuses a bad incremental schedule with a coded error, and turns them off with an empty one', async () => {
        const bad = await gw.request(UpdateConnectionDocument, {
          id: connectionId,
          input: { incrementalSchedule: '* * * * * *' },
        });
        expect(bad.errors?.[0]?.extensions).toMatchObject({
          code: 'BAD_USER_INPUT',
          field: 'incrementalSchedule',
        });
        const off = await gw.ok(UpdateConnectionDocument, {
          id: connectionId,
          input: { incrementalSchedule: '' },
        });
        expect(off.updateConnection.incrementalSchedule).toBeNull();
        // An update that does not name it keeps it off.
        const kept = await gw.ok(UpdateConnectionDocument, {
          id: connectionId,
          input: { name: 'OpenLDAP 2' },
        });
        expect(kept.updateConnection.incrementalSchedule).toBeNull();
        const on = await gw.ok(UpdateConnectionDocument, {
          id: connectionId,
          input: { incrementalSchedule: '*/2 * * * *' },
        });
        expect(on.updateConnection.incrementalSchedule).toBe('*/2 * * * *');
      });

      it('holds an incremental run that would remove too much, like a full one', async () => {
        const victims = ldap.dataset.contacts.slice(0, 4);
        await gw.ok(UpdateConnectionDocument, { id: connectionId, input: { deleteThreshold: 0.05 } });
        for (const contact of victims) await deleteEntry(ldap.slapd, contact.dn);
        for (const user of ldap.dataset.users.slice(10, 14)) await deleteEntry(ldap.slapd, user.dn);
        const c = await syncNow(gw, connectionId, undefined, 'INCREMENTAL');
        expect(c.status).toBe('HELD');
        expect(c.lastSync?.mode).toBe('INCREMENTAL');
        // While it waits, no incremental run may replace it.
        const again = await gw.request(StartSyncDocument, { connectionId, mode: 'INCREMENTAL' });
        expect(again.errors?.[0]?.extensions?.code).toBe('CONFLICT');
      });
    });
  });
}
