/**
 * The update rule of a stored bind password (ConnectionService.update,
 * requirePasswordForNewEndpoint): a change of where or how the connection
 * binds needs the password again, anything else keeps it; and what is sealed
 * is bound to the settings it was given with.
 */
import { randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ConnectionRecord } from '../../src/model/connection.js';
import { ValidationError } from '../../src/model/errors.js';
import { openKvStore } from '../../src/store/kv-store.js';
import { SecretBox } from '../../src/store/secret-box.js';
import { SettingsStore } from '../../src/store/settings-store.js';
import type { ConnectionInput } from '../../src/sync/connection-input.js';
import { ConnectionService } from '../../src/sync/connection-service.js';
import type { SyncEngine } from '../../src/sync/sync-engine.js';

const PASSWORD = 'the-bind-password';
/** A self-signed P-256 certificate (CN=dirgate test CA, valid until 2126). */
const CA_PEM = `-----BEGIN CERTIFICATE-----
MIIBizCCATGgAwIBAgIUS1lfnDdiNftEkEFW1cnQ/nQAc68wCgYIKoZIzj0EAwIw
GjEYMBYGA1UEAwwPZGlyZ2F0ZSB0ZXN0IENBMCAXDTI2MTEyODAwNDk1NloYDzIx
MjYxMTA0MDA0OTU2WjAaMRgwFgYDVQQDDA9kaXJnYXRlIHRlc3QgQ0EwWTATBgcq
hkjOPQIBBggqhkjOPQMBBwNCAASYvGvQX4l6VpMTv0G+So0WsJmiWwmWu8L7br6Y
UXFlM3Sl0/PRo3xDjrz6CUj1wHmVeILe2LlquBuzHT+vw1yzo1MwUTAdBgNVHQ4E
FgQUMNyIEqnc/RkefHeOeDWZe21Y7HUwHwYDVR0jBBgwFoAUMNyIEqnc/RkefHeO
eDWZe21Y7HUwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiEA1/F+
mKgyvCRwy7Jye+4Upxqo2nGWz7rA7IPfGumfnNACIDc/1YouBbb0gty11rlXGEAp
o1aDAmVLR8dUCd7jfgKg
-----END CERTIFICATE-----`;

let settings: SettingsStore;
let box: SecretBox;
let service: ConnectionService;

beforeEach(async () => {
  settings = new SettingsStore(await openKvStore('memory://', 'dirgate-settings'));
  box = new SecretBox(randomBytes(32));
  service = new ConnectionService({
    settings,
    box,
    // update never reaches the engine
    engine: {} as SyncEngine,
    limits: {} as never,
    nodeName: 'node-a',
    onChange: () => {},
  });
});

async function added(
  input: Partial<Parameters<ConnectionService['add']>[0]> = {},
): Promise<ConnectionRecord> {
  return service.add({
    name: 'corp',
    domain: 'corp.test',
    searchBase: 'dc=corp,dc=test',
    servers: ['ldap://dc1.corp.test'],
    tls: 'STARTTLS',
    bindDn: 'cn=reader,dc=corp,dc=test',
    bindPassword: PASSWORD,
    ...input,
  });
}

async function refusal(id: string, input: ConnectionInput): Promise<ValidationError> {
  try {
    await service.update(id, input);
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new Error('the update was accepted');
}

const opened = (c: ConnectionRecord | undefined): string | null =>
  c?.bindPasswordSealed ? box.open(c.bindPasswordSealed, c) : null;

describe('updateConnection and the stored bind password', () => {
  it.each<[string, ConnectionInput]>([
    ['servers', { servers: ['ldap://evil.example'] }],
    ['servers (one more)', { servers: ['ldap://dc1.corp.test', 'ldap://evil.example'] }],
    ['servers (emptied: SRV discovery)', { servers: [] }],
    ['tls', { tls: 'NONE' }],
    ['tlsVerify', { tlsVerify: false }],
    ['caCertificate', { caCertificate: CA_PEM }],
    ['bindDn', { bindDn: 'cn=admin,dc=corp,dc=test' }],
    ['bindDn (cleared: anonymous)', { bindDn: '' }],
    ['allowPlaintextBind', { allowPlaintextBind: true }],
  ])(
    'refuses a change of %s without the password, naming bindPassword, and changes nothing',
    async (_what, change) => {
      const before = await added();
      const err = await refusal(before.id, { ...change, name: 'renamed' });
      expect(err.field).toBe('bindPassword');
      expect(err.reason).toBe('PASSWORD_REQUIRED');
      expect(err.message).toMatch(/give the bind password again/);
      expect(await settings.getConnection(before.id)).toEqual(before);
    },
  );

  it('names what changed', async () => {
    const c = await added();
    const err = await refusal(c.id, { servers: ['ldap://evil.example'], bindDn: 'cn=x,dc=corp,dc=test' });
    expect(err.message).toContain('servers, bindDn changed');
  });

  it('accepts the change with the password, sealed for the new settings', async () => {
    const c = await added();
    const updated = await service.update(c.id, {
      servers: ['ldap://dc2.corp.test'],
      bindPassword: 'new-one',
    });
    expect(updated.servers).toEqual(['ldap://dc2.corp.test']);
    expect(opened(await settings.getConnection(c.id))).toBe('new-one');
    // Sealed for these settings only.
    expect(() =>
      box.open(updated.bindPasswordSealed ?? '', { ...updated, servers: ['ldap://dc1.corp.test'] }),
    ).toThrow();
  });

  it('accepts the change with the password removed ("")', async () => {
    const c = await added();
    const updated = await service.update(c.id, { servers: ['ldap://dc2.corp.test'], bindPassword: '' });
    expect(updated.bindPasswordSealed).toBeNull();
  });

  it('needs nothing when no password is stored', async () => {
    const c = await added({ bindPassword: null, bindDn: null });
    const updated = await service.update(c.id, { servers: ['ldap://dc2.corp.test'] });
    expect(updated.servers).toEqual(['ldap://dc2.corp.test']);
  });

  it.each<[string, ConnectionInput]>([
    ['name', { name: 'renamed' }],
    ['schedule', { schedule: '*/5 * * * *' }],
    ['enabled', { enabled: false }],
    ['includeContacts', { includeContacts: true }],
    ['deleteThreshold', { deleteThreshold: 0.9 }],
    ['filters', { userFilter: '(objectClass=person)', groupFilter: '(objectClass=groupOfNames)' }],
    ['searchBase', { searchBase: 'ou=people,dc=corp,dc=test' }],
    ['the same endpoint restated', { servers: ['LDAP://DC1.corp.test'], tls: 'STARTTLS', tlsVerify: true }],
  ])('keeps the password through a change of %s', async (_what, change) => {
    const c = await added();
    const updated = await service.update(c.id, change);
    expect(updated.bindPasswordSealed).toBe(c.bindPasswordSealed);
    expect(opened(await settings.getConnection(c.id))).toBe(PASSWORD);
  });

  it('still refuses a domain change (the domain is immutable)', async () => {
    const c = await added({ servers: [] });
    const err = await refusal(c.id, { domain: 'evil.example' });
    expect(err.field).toBe('domain');
    expect(err.reason).toBe('IMMUTABLE');
  });

  it('re-seals a password of the old format (v1) only when a password is given', async () => {
    const c = await added();
    // What the SecretBox sealed before bindings (v1, no AAD): kept as it is by other changes.
    const legacy = `v1.${c.bindPasswordSealed?.split('.').slice(2).join('.')}`;
    await settings.putConnection({ ...c, bindPasswordSealed: legacy });
    expect((await service.update(c.id, { name: 'renamed' })).bindPasswordSealed).toBe(legacy);
    const resealed = await service.update(c.id, { bindPassword: 'again' });
    expect(SecretBox.version(resealed.bindPasswordSealed ?? '')).toBe('v2');
    expect(opened(resealed)).toBe('again');
  });
});
