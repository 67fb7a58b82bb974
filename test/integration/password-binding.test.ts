/**
 * The bind password cannot be steered away (issue #16): a change of where or
 * how a connection binds through the API must come with the password again,
 * and a settings record edited outside the API (its servers rewritten in the
 * settings store) no longer opens its password: the sync fails naming why,
 * and the host it now points at never hears from the gateway.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startRedis } from '../../scripts/directories/redis.js';
import type { ConnectionRecord } from '../../src/model/connection.js';
import { openKvStore } from '../../src/store/kv-store.js';
import { SettingsStore } from '../../src/store/settings-store.js';
import {
  ConnectionByIdDocument,
  UpdateConnectionDocument,
  type UpdateConnectionInput,
} from '../gql/graphql.js';
import { runCli } from '../support/cli.js';
import { recordingLdapServer } from '../support/fault-servers.js';
import { privateSlapd, temporaryFolder } from '../support/fixtures.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { addSlapdConnection, syncNow } from '../support/sync.js';

const directory = privateSlapd({ users: 12, groups: 2, contacts: 1, seed: 'binding' });
const root = temporaryFolder('binding');

/** The stored record, as the gateway's own service reads it. */
async function stored(gw: TestGateway, id: string): Promise<ConnectionRecord> {
  const record = await gw.gateway.services.connections.get(id);
  if (!record) throw new Error(`connection ${id} not stored`);
  return record;
}

describe('updateConnection: a new endpoint needs the password again', () => {
  it('refuses each change of where or how it binds without the password, accepts it with, keeps it otherwise', async () => {
    const { slapd } = directory;
    const gw = await startTestGateway();
    try {
      const id = await addSlapdConnection(gw, slapd);
      expect((await syncNow(gw, id)).status).toBe('SUCCEEDED');
      const port = new URL(slapd.url).port;
      const ca = slapd.certificates.ca.pem;
      // Each change, in turn: refused alone, then accepted with the password, then synced.
      const steps: [string, UpdateConnectionInput, string][] = [
        ['servers', { servers: [`ldap://localhost:${port}`] }, slapd.reader.password],
        ['caCertificate', { caCertificate: ca }, slapd.reader.password],
        ['tls', { tls: 'STARTTLS' }, slapd.reader.password],
        ['tlsVerify', { tlsVerify: false }, slapd.reader.password],
        ['bindDn', { bindDn: slapd.admin.dn }, slapd.admin.password],
      ];
      for (const [field, change, password] of steps) {
        const before = await stored(gw, id);
        const refused = await gw.request(UpdateConnectionDocument, {
          id,
          input: { ...change, name: 'moved' },
        });
        expect(refused.data, field).toBeNull();
        expect(refused.errors?.[0]?.extensions, field).toMatchObject({
          code: 'BAD_USER_INPUT',
          field: 'bindPassword',
          reason: 'PASSWORD_REQUIRED',
        });
        expect(refused.errors?.[0]?.message, field).toContain(`${field} changed`);
        expect(await stored(gw, id), `${field}: nothing changed`).toEqual(before);

        const accepted = await gw.ok(UpdateConnectionDocument, {
          id,
          input: { ...change, bindPassword: password },
        });
        expect(accepted.updateConnection.hasBindPassword).toBe(true);
        const synced = await syncNow(gw, id);
        expect(synced.status, `${field}: ${synced.lastSync?.error}`).toBe('SUCCEEDED');
        expect(synced.userCount).toBe(12);
      }
      const after = await stored(gw, id);
      expect(after).toMatchObject({
        servers: [`ldap://localhost:${port}`],
        tls: 'STARTTLS',
        tlsVerify: false,
        bindDn: slapd.admin.dn,
      });
      expect(after.caCertificate).not.toBeNull();

      // Everything else keeps the password, and the next sync binds with it.
      const sealed = after.bindPasswordSealed;
      await gw.ok(UpdateConnectionDocument, {
        id,
        input: {
          name: 'renamed',
          schedule: '*/5 * * * *',
          enabled: false,
          includeContacts: false,
          deleteThreshold: 0.9,
          userFilter: '(objectClass=inetOrgPerson)',
        },
      });
      expect((await stored(gw, id)).bindPasswordSealed).toBe(sealed);
      const kept = await syncNow(gw, id);
      expect(kept.status, kept.lastSync?.error ?? '').toBe('SUCCEEDED');
      expect(kept.name).toBe('renamed');

      // Removing the password stays allowed with a new endpoint (here: an anonymous bind).
      const anonymous = await gw.ok(UpdateConnectionDocument, {
        id,
        input: { bindDn: '', bindPassword: '' },
      });
      expect(anonymous.updateConnection.hasBindPassword).toBe(false);

      // The domain (what SRV discovery asks) is no field of UpdateConnectionInput: the schema refuses it.
      const domain = await gw.request(UpdateConnectionDocument, {
        id,
        input: { domain: 'evil.example' } as never,
      });
      expect(domain.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect((await stored(gw, id)).domain).toBe('corp.test');
    } finally {
      await gw.dispose();
    }
  });

  it('refuses to switch a connection with a password to SRV discovery without it', async () => {
    const { slapd } = directory;
    const gw = await startTestGateway();
    try {
      const id = await addSlapdConnection(gw, slapd);
      const before = await stored(gw, id);
      const refused = await gw.request(UpdateConnectionDocument, { id, input: { servers: [] } });
      expect(refused.errors?.[0]?.extensions).toMatchObject({
        field: 'bindPassword',
        reason: 'PASSWORD_REQUIRED',
      });
      expect(await stored(gw, id)).toEqual(before);
      const c = await gw.ok(ConnectionByIdDocument, { id });
      expect(c.connection?.servers).toEqual([slapd.url]);
    } finally {
      await gw.dispose();
    }
  });
});

describe('a settings record edited outside the API', () => {
  it('does not open its password: the sync fails naming why, and the new host gets nothing', async () => {
    const { slapd } = directory;
    const dataDir = path.join(root.path, 'edited');
    const first = await startTestGateway({ dataDir });
    const id = await addSlapdConnection(first, slapd);
    expect((await syncNow(first, id)).status).toBe('SUCCEEDED');
    await first.stop();

    const listener = await recordingLdapServer();
    try {
      // What someone who can write the settings (the SQLite file here, Redis in a cluster) does:
      // point the connection at their own host, keeping the sealed password.
      const settings = new SettingsStore(
        await openKvStore(`sqlite://${path.join(dataDir, 'settings.sqlite')}`, 'dirgate-settings'),
      );
      try {
        const record = await settings.getConnection(id);
        if (!record) throw new Error('connection not stored');
        await settings.putConnection({ ...record, servers: [listener.url] });
      } finally {
        await settings.close();
      }

      const gw = await startTestGateway({ dataDir });
      try {
        const c = await syncNow(gw, id);
        // The password never reached the listener; checked before connecting, so no connection at all.
        expect(listener.bytes().includes(Buffer.from(slapd.reader.password))).toBe(false);
        expect(listener.accepted()).toBe(0);

        expect(c.status).toBe('FAILED');
        expect(c.lastSync?.error).toBe(
          "the stored bind password does not match this connection's settings (edited outside the API?); set the password again",
        );
        // The last good snapshot is still served.
        expect(c.userCount).toBe(12);
        // The command's test of the stored connection refuses it too, before connecting.
        const cli = await runCli(['test-connection', '--connection', id], {
          env: { DIRGATE_DATA_DIR: dataDir },
        });
        expect(cli.code, cli.stdout).toBe(1);
        expect(cli.stderr).toContain(
          `the stored bind password of connection ${id} does not match its settings`,
        );
        expect(listener.accepted()).toBe(0);

        // Setting the password again (for these settings) is the fix: it binds where it now points.
        await gw.ok(UpdateConnectionDocument, {
          id,
          input: { servers: [slapd.url], bindPassword: slapd.reader.password },
        });
        expect((await syncNow(gw, id)).status).toBe('SUCCEEDED');
      } finally {
        await gw.stop();
      }
    } finally {
      await listener.close();
    }
  });
});

describe('a shared settings record rewritten in Redis', () => {
  it('does not open its password on a running node: the sync fails and the listener gets nothing', async () => {
    const { slapd } = directory;
    const redis = await startRedis();
    const listener = await recordingLdapServer();
    const gw = await startTestGateway({ env: { DIRGATE_CONFIG_STORE: redis.url } });
    try {
      const id = await addSlapdConnection(gw, slapd);
      expect((await syncNow(gw, id)).status).toBe('SUCCEEDED');

      // Anyone who can write the shared settings, while the node runs.
      const settings = new SettingsStore(await openKvStore(redis.url, 'dirgate-settings'));
      try {
        const record = await settings.getConnection(id);
        if (!record) throw new Error('connection not stored');
        await settings.putConnection({ ...record, servers: [listener.url] });
      } finally {
        await settings.close();
      }

      const c = await syncNow(gw, id);
      expect(listener.bytes().includes(Buffer.from(slapd.reader.password))).toBe(false);
      expect(listener.accepted()).toBe(0);
      expect(c.status).toBe('FAILED');
      expect(c.lastSync?.error).toContain(
        "does not match this connection's settings (edited outside the API?)",
      );
      expect(c.servers).toEqual([listener.url]);
    } finally {
      await gw.dispose();
      await listener.close();
      await redis.stop();
    }
  });
});
