/**
 * Incremental runs through the GraphQL API against the shared Samba AD DC
 * (#18; run under the machine-wide lock: flock /tmp/dirgate-samba.lock).
 * Each connection reads an OU of this file's own. As Administrator (who has
 * "Replicating Directory Changes") DirSync reports deletions by tombstones;
 * as the plain reader DirSync needs OBJECT_SECURITY and deletions are found
 * by comparing ids. Either way: a user added, an address changed, a member
 * added to and removed from a nested group, a user renamed, moved out of
 * the search base, disabled and deleted are each served after one
 * incremental run listing exactly that change, and a full run afterwards
 * finds nothing left to change.
 */
import { Attribute, Change, Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guidToString } from '../../src/ldap/guid.js';
import {
  AddConnectionDocument,
  ConnectionByIdDocument,
  type ConnectionFieldsFragment,
  GroupMembersDocument,
  PrincipalByIdDocument,
  PrincipalsByEmailDocument,
} from '../gql/graphql.js';
import { directories, type SambaInfo, sharedSamba } from '../support/directories.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { sambaAdminClient } from '../support/samba-access.js';
import { servedDirectory } from '../support/served-directory.js';
import { sambaSettings, syncNow } from '../support/sync.js';

type Run = NonNullable<ConnectionFieldsFragment['lastSync']>;

for (const account of ['admin', 'reader'] as const) {
  describe(`incremental runs on Samba AD as ${account}`, () => {
    let samba: SambaInfo;
    let gw: TestGateway;
    let writer: Client;
    let connectionId: string;
    let ou: string;
    let outside: string;
    const created: string[] = [];
    const tag = `${account}-${process.pid}-${Date.now() % 1_000_000}`;

    const idOf = (guid: string) => `${connectionId}:${guid}`;

    async function guidOf(dn: string): Promise<string> {
      const result = await writer.search(dn, {
        scope: 'base',
        attributes: ['objectGUID'],
        explicitBufferAttributes: ['objectGUID'],
      });
      return guidToString(result.searchEntries[0]?.objectGUID as Buffer);
    }

    async function addUser(name: string, parent = ou): Promise<{ dn: string; id: string }> {
      const dn = `CN=${name},${parent}`;
      await writer.add(dn, {
        objectClass: ['top', 'person', 'organizationalPerson', 'user'],
        sAMAccountName: name.slice(0, 20),
        userAccountControl: '512',
        displayName: name,
        mail: `${name}@corp.test`,
      });
      created.push(dn);
      return { dn, id: idOf(await guidOf(dn)) };
    }

    async function addGroup(name: string, members: string[]): Promise<{ dn: string; id: string }> {
      const dn = `CN=${name},${ou}`;
      await writer.add(dn, {
        objectClass: ['top', 'group'],
        sAMAccountName: name.slice(0, 20),
        ...(members.length > 0 ? { member: members } : {}),
      });
      created.push(dn);
      return { dn, id: idOf(await guidOf(dn)) };
    }

    const modify = (dn: string, operation: 'add' | 'delete' | 'replace', type: string, values: string[]) =>
      writer.modify(dn, [new Change({ operation, modification: new Attribute({ type, values }) })]);

    async function incremental(): Promise<Run> {
      const c = await syncNow(gw, connectionId, 60_000, 'INCREMENTAL');
      const run = c.lastSync;
      if (!run) throw new Error('no run');
      expect(run.status, run.error ?? '').toBe('SUCCEEDED');
      expect(run.mode).toBe('INCREMENTAL');
      expect(run.fallbackReason).toBeNull();
      expect(run.deletionCheck).toBe(account === 'admin' ? 'TOMBSTONES' : 'ID_COMPARISON');
      return run;
    }

    const sorted = (list: readonly string[] | undefined) => [...(list ?? [])].sort();

    function expectChanges(run: Run, want: { added?: string[]; updated?: string[]; removed?: string[] }) {
      expect(sorted(run.changes?.added)).toEqual(sorted(want.added));
      expect(sorted(run.changes?.updated)).toEqual(sorted(want.updated));
      expect(sorted(run.changes?.removed)).toEqual(sorted(want.removed));
    }

    let nested: { outer: { dn: string; id: string }; inner: { dn: string; id: string } };
    let first: { dn: string; id: string };

    beforeAll(async () => {
      samba = sharedSamba();
      const caPem = directories().certificates?.caPem ?? null;
      writer = await sambaAdminClient(samba);
      ou = `OU=incr-${tag},${samba.baseDn}`;
      outside = `OU=incr-outside-${tag},${samba.baseDn}`;
      await writer.add(ou, { objectClass: ['top', 'organizationalUnit'] });
      await writer.add(outside, { objectClass: ['top', 'organizationalUnit'] });
      first = await addUser(`incr-a-${tag}`.slice(0, 20));
      const inner = await addGroup(`incr-in-${tag}`.slice(0, 20), [first.dn]);
      const outer = await addGroup(`incr-out-${tag}`.slice(0, 20), [inner.dn]);

      gw = await startTestGateway();
      const who = account === 'admin' ? samba.admin : samba.reader;
      const { addConnection } = await gw.ok(AddConnectionDocument, {
        input: {
          name: `Samba ${account}`,
          ...sambaSettings(samba, caPem),
          searchBase: ou,
          bindDn: who.dn,
          bindPassword: who.password,
        },
      });
      connectionId = addConnection.id;
      // Ids are known only now (they carry the connection id).
      first = { ...first, id: idOf(await guidOf(first.dn)) };
      nested = {
        inner: { ...inner, id: idOf(await guidOf(inner.dn)) },
        outer: { ...outer, id: idOf(await guidOf(outer.dn)) },
      };
      const full = await syncNow(gw, connectionId, 60_000);
      expect(full.status, full.lastSync?.error ?? '').toBe('SUCCEEDED');
      const { connection } = await gw.ok(ConnectionByIdDocument, { id: connectionId });
      expect(connection?.changeTracking).toBe('DIRSYNC');
    }, 120_000);

    afterAll(async () => {
      await gw?.dispose();
      for (const dn of [...created].reverse()) await writer.del(dn).catch(() => undefined);
      for (const dn of [ou, outside]) await writer.del(dn).catch(() => undefined);
      await writer.unbind();
    });

    it('serves a user added', async () => {
      const user = await addUser(`incr-b-${tag}`.slice(0, 20));
      expectChanges(await incremental(), { added: [user.id] });
      const { principal } = await gw.ok(PrincipalByIdDocument, { id: user.id });
      expect(principal?.dn).toBe(user.dn);
    });

    it('serves an address changed', async () => {
      const address = `changed-${tag}@corp.test`;
      await modify(first.dn, 'replace', 'mail', [address]);
      expectChanges(await incremental(), { updated: [first.id] });
      const { principalsByEmail } = await gw.ok(PrincipalsByEmailDocument, { address });
      expect(principalsByEmail.map((p) => p.id)).toEqual([first.id]);
    });

    it('adds a member to a nested group and removes it', async () => {
      const user = await addUser(`incr-c-${tag}`.slice(0, 20));
      await incremental();
      const transitive = async () => {
        const { principal } = await gw.ok(GroupMembersDocument, { id: nested.outer.id, transitive: true });
        return principal?.__typename === 'Group' ? principal.members.nodes.map((n) => n.id) : [];
      };
      expect(await transitive()).not.toContain(user.id);
      await modify(nested.inner.dn, 'add', 'member', [user.dn]);
      expectChanges(await incremental(), { updated: [nested.inner.id] });
      expect(await transitive()).toContain(user.id);
      await modify(nested.inner.dn, 'delete', 'member', [user.dn]);
      expectChanges(await incremental(), { updated: [nested.inner.id] });
      expect(await transitive()).not.toContain(user.id);
    });

    it('follows a rename', async () => {
      const user = await addUser(`incr-d-${tag}`.slice(0, 20));
      await incremental();
      const renamed = `CN=incr-r-${tag}`.slice(0, 23);
      const newDn = `${renamed},${ou}`;
      await writer.modifyDN(user.dn, newDn);
      created.push(newDn);
      expectChanges(await incremental(), { updated: [user.id] });
      const { principal } = await gw.ok(PrincipalByIdDocument, { id: user.id });
      expect(principal?.dn).toBe(newDn);
    });

    it('removes a user moved out of the search base', async () => {
      const user = await addUser(`incr-e-${tag}`.slice(0, 20));
      await incremental();
      const newDn = user.dn.replace(ou, outside);
      await writer.modifyDN(user.dn, newDn);
      created.push(newDn);
      expectChanges(await incremental(), { removed: [user.id] });
      expect((await gw.ok(PrincipalByIdDocument, { id: user.id })).principal).toBeNull();
    });

    it('serves a user disabled', async () => {
      await modify(first.dn, 'replace', 'userAccountControl', ['514']);
      expectChanges(await incremental(), { updated: [first.id] });
      const { principal } = await gw.ok(PrincipalByIdDocument, { id: first.id });
      expect(principal?.__typename === 'User' && principal.enabled).toBe(false);
    });

    it('removes a user deleted, and its group membership with it', async () => {
      await writer.del(first.dn);
      expectChanges(await incremental(), { removed: [first.id], updated: [nested.inner.id] });
      expect((await gw.ok(PrincipalByIdDocument, { id: first.id })).principal).toBeNull();
    });

    it('is equal, object for object, to a full run afterwards', async () => {
      const before = await servedDirectory(gw, connectionId);
      const full = await syncNow(gw, connectionId, 60_000);
      expect(full.lastSync?.mode).toBe('FULL');
      expect(full.lastSync?.changes).toMatchObject({ addedCount: 0, updatedCount: 0, removedCount: 0 });
      expect(await servedDirectory(gw, connectionId)).toEqual(before);
    });
  });
}
