/**
 * A DC restored from backup gets a new invocationId, and a watermark read
 * before the restore says nothing of what it holds now (#18). Against the
 * shared Samba AD DC (run under the machine-wide lock: flock
 * /tmp/dirgate-samba.lock), in an OU of this file's own: the served
 * snapshot's watermark is given another invocationId in the stopped
 * gateway's cache; after the start, the next incremental run is a full run
 * with fallbackReason INVOCATION_ID_CHANGED that brings what changed
 * meanwhile, and the run after it is incremental again. The same for a
 * DirSync cookie the DC refuses (COOKIE_REFUSED). As Administrator and as
 * the plain reader (DirSync with OBJECT_SECURITY).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guidToString } from '../../src/ldap/guid.js';
import { AddConnectionDocument, type ConnectionFieldsFragment } from '../gql/graphql.js';
import { editServedWatermark } from '../support/cache-edits.js';
import { directories, type SambaInfo, sharedSamba } from '../support/directories.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { sambaAdminClient } from '../support/samba-access.js';
import { sambaSettings, syncNow } from '../support/sync.js';

type Run = NonNullable<ConnectionFieldsFragment['lastSync']>;

for (const account of ['admin', 'reader'] as const) {
  describe(`a reset invocationId on Samba AD, as ${account}`, () => {
    let samba: SambaInfo;
    let writer: Client;
    let gw: TestGateway;
    let dataDir: string;
    let connectionId: string;
    let ou: string;
    const created: string[] = [];
    const tag = `${account}-${process.pid}-${Date.now() % 1_000_000}`;

    async function addUser(name: string): Promise<string> {
      const dn = `CN=${name},${ou}`;
      await writer.add(dn, {
        objectClass: ['top', 'person', 'organizationalPerson', 'user'],
        sAMAccountName: name.slice(0, 20),
        userAccountControl: '544', // NORMAL_ACCOUNT | PASSWD_NOTREQD: enabled without a password
        displayName: name,
        mail: `${name}@corp.test`,
      });
      created.push(dn);
      const result = await writer.search(dn, {
        scope: 'base',
        attributes: ['objectGUID'],
        explicitBufferAttributes: ['objectGUID'],
      });
      return `${connectionId}:${guidToString(result.searchEntries[0]?.objectGUID as Buffer)}`;
    }

    async function incremental(): Promise<Run> {
      const run = (await syncNow(gw, connectionId, 60_000, 'INCREMENTAL')).lastSync;
      if (!run) throw new Error('no run');
      expect(run.status, run.error ?? '').toBe('SUCCEEDED');
      return run;
    }

    beforeAll(async () => {
      samba = sharedSamba();
      const caPem = directories().certificates?.caPem ?? null;
      writer = await sambaAdminClient(samba);
      ou = `OU=incr-reset-${tag},${samba.baseDn}`;
      await writer.add(ou, { objectClass: ['top', 'organizationalUnit'] });
      const name = `reset-a-${tag}`.slice(0, 20);
      await writer.add(`CN=${name},${ou}`, {
        objectClass: ['top', 'person', 'organizationalPerson', 'user'],
        sAMAccountName: name,
        userAccountControl: '544', // NORMAL_ACCOUNT | PASSWD_NOTREQD: enabled without a password
        mail: `${name}@corp.test`,
      });
      created.push(`CN=${name},${ou}`);

      dataDir = await mkdtemp(path.join(tmpdir(), 'dirgate-incr-reset-'));
      gw = await startTestGateway({ dataDir });
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
      const full = await syncNow(gw, connectionId, 60_000);
      expect(full.status, full.lastSync?.error ?? '').toBe('SUCCEEDED');
    }, 120_000);

    afterAll(async () => {
      await gw?.stop();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
      for (const dn of [...created].reverse()) await writer.del(dn).catch(() => undefined);
      await writer.del(ou).catch(() => undefined);
      await writer.unbind();
    });

    it('makes the next incremental run a full one saying why, then incremental again', async () => {
      // As a restore from backup leaves it: the DC is the same, its database incarnation is not.
      await gw.stop();
      const was = await editServedWatermark(dataDir, connectionId, (w) =>
        w.kind === 'TIMESTAMP' ? w : { ...w, invocationId: randomUUID() },
      );
      expect(['DIRSYNC', 'USN']).toContain(was.kind);
      gw = await startTestGateway({ dataDir });
      const added = await addUser(`reset-b-${tag}`.slice(0, 20));

      const fallback = await incremental();
      expect(fallback).toMatchObject({ mode: 'FULL', fallbackReason: 'INVOCATION_ID_CHANGED' });
      expect(fallback.fallbackMessage).toMatch(/invocationId/);
      expect(fallback.changes).toMatchObject({ added: [added], updatedCount: 0, removedCount: 0 });

      // The full run kept the DC's real watermark: incremental again, nothing left to change.
      const next = await incremental();
      expect(next).toMatchObject({ mode: 'INCREMENTAL', fallbackReason: null });
      expect(next.changes).toMatchObject({ addedCount: 0, updatedCount: 0, removedCount: 0 });
    }, 120_000);

    it('reads in full, saying why, when the DC refuses the DirSync cookie', async () => {
      await gw.stop();
      const was = await editServedWatermark(dataDir, connectionId, (w) =>
        w.kind === 'DIRSYNC' ? { ...w, cookie: randomBytes(64).toString('base64') } : w,
      );
      expect(was.kind).toBe('DIRSYNC');
      gw = await startTestGateway({ dataDir });
      const added = await addUser(`reset-c-${tag}`.slice(0, 20));

      const fallback = await incremental();
      expect(fallback).toMatchObject({ mode: 'FULL', fallbackReason: 'COOKIE_REFUSED' });
      expect(fallback.changes).toMatchObject({ added: [added], updatedCount: 0, removedCount: 0 });
      expect(await incremental()).toMatchObject({ mode: 'INCREMENTAL', fallbackReason: null });
    }, 120_000);
  });
}
