/**
 * KERBEROS connection settings through the GraphQL API over HTTP, and the
 * `dirgate connections` commands (#17): adding one with a keytab, every
 * unusable keytab or KDC refused naming its field with nothing stored, the
 * keytab write-only (hasKeytab, keytabPrincipal) and kept by updates that
 * leave where the connection authenticates alone, needed again by those that
 * change it, dropped by switching auth away (and the password by switching
 * to KERBEROS). Throughout, the keytab (its bytes, its base64, each key raw,
 * in hex and base64) appears in no response, no log line and no file of the
 * data folder. No KDC is needed: nothing here asserts on a bind.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseKeytab } from '../../src/ldap/index.js';
import type { ConnectionRecord } from '../../src/model/connection.js';
import { openKvStore } from '../../src/store/kv-store.js';
import { SettingsStore } from '../../src/store/settings-store.js';
import {
  AddConnectionDocument,
  type AddConnectionInput,
  ConnectionByIdDocument,
  ConnectionsDocument,
  StartSyncDocument,
  TestConnectionDocument,
  TestStoredConnectionDocument,
  UpdateConnectionDocument,
  type UpdateConnectionInput,
} from '../gql/graphql.js';
import { launchBrowser, logIn, pageOpener } from '../support/browser.js';
import { runCli } from '../support/cli.js';
import { eventually } from '../support/eventually.js';
import { recordingLdapServer } from '../support/fault-servers.js';
import { temporaryFolder } from '../support/fixtures.js';
import { type GraphQLResponse, startTestGateway, type TestGateway } from '../support/gateway.js';
import { writeKeytab } from '../support/keytabs.js';
import { captureLogs, type LogCapture } from '../support/log-capture.js';

const FIXTURES = path.join(import.meta.dirname, '../fixtures/keytabs');
const KEYTAB_FILE = path.join(FIXTURES, 'samba-svc-dirgate.keytab');
const KEYTAB = readFileSync(KEYTAB_FILE);
/** A second keytab of another account, for replacements. */
const OTHER_KEYTAB = writeKeytab([{ principal: 'svc-other@CORP.TEST', kvno: 5, enctype: 18 }]);

/** Every readable form of a secret that must not show: the file, its base64, each key raw, hex and base64. */
function secretForms(keytab: Buffer): { label: string; bytes: Buffer }[] {
  const forms = [
    { label: 'keytab bytes', bytes: keytab },
    { label: 'keytab base64', bytes: Buffer.from(keytab.toString('base64')) },
  ];
  for (const [i, entry] of parseKeytab(keytab).entries.entries()) {
    const key = entry.key.reveal();
    forms.push(
      { label: `key ${i} raw`, bytes: key },
      { label: `key ${i} hex`, bytes: Buffer.from(key.toString('hex')) },
      { label: `key ${i} HEX`, bytes: Buffer.from(key.toString('hex').toUpperCase()) },
      { label: `key ${i} base64`, bytes: Buffer.from(key.toString('base64')) },
    );
  }
  return forms;
}
const FORMS = [...secretForms(KEYTAB), ...secretForms(OTHER_KEYTAB)];
const root = temporaryFolder('kerberos-settings');

function leaksIn(what: string, bytes: Buffer): string[] {
  return FORMS.filter((f) => bytes.includes(f.bytes)).map((f) => `${f.label} in ${what}`);
}

function filesUnder(folder: string): string[] {
  return readdirSync(folder).flatMap((name) => {
    const file = path.join(folder, name);
    return statSync(file).isDirectory() ? filesUnder(file) : [file];
  });
}

let gw: TestGateway;
let logs: LogCapture;
/** Every response body of the test, as received. */
const responses: string[] = [];

async function call<T, V>(
  doc: TypedDocumentNode<T, V>,
  variables: V,
  token?: string,
): Promise<GraphQLResponse<T>> {
  const res = await gw.request(doc, variables, token);
  responses.push(JSON.stringify(res));
  return res;
}

async function ok<T, V>(doc: TypedDocumentNode<T, V>, variables: V): Promise<T> {
  const res = await call<T, V>(doc, variables);
  if (res.errors?.length || !res.data) throw new Error(`GraphQL errors: ${JSON.stringify(res.errors)}`);
  return res.data;
}

async function stored(id: string): Promise<ConnectionRecord> {
  const record = await gw.gateway.services.connections.get(id);
  if (!record) throw new Error(`connection ${id} not stored`);
  return record;
}

/** A refusal: BAD_USER_INPUT on `field` (and `reason`), no data. */
function expectRefused(res: GraphQLResponse<unknown>, field: string | RegExp, reason?: string): string {
  expect(res.data ?? null).toBeNull();
  const ext = res.errors?.[0]?.extensions ?? {};
  expect(ext.code, JSON.stringify(res.errors)).toBe('BAD_USER_INPUT');
  if (typeof field === 'string') expect(ext.field).toBe(field);
  else expect(String(ext.field)).toMatch(field);
  if (reason) expect(ext.reason).toBe(reason);
  return res.errors?.[0]?.message ?? '';
}

let counter = 0;
function kerberosInput(more: Partial<AddConnectionInput> = {}): AddConnectionInput {
  counter++;
  return {
    name: `krb-${counter}`,
    domain: 'corp.test',
    searchBase: `ou=k${counter},dc=corp,dc=test`,
    // Nothing listens on port 1: a sync or a test of these connections fails fast, wherever it fails.
    servers: ['ldap://127.0.0.1:1'],
    tls: 'NONE',
    auth: 'KERBEROS',
    keytab: KEYTAB.toString('base64'),
    kdcs: ['127.0.0.1:1'],
    schedule: '0 3 * * *',
    incrementalSchedule: '',
    ...more,
  };
}

beforeAll(async () => {
  logs = captureLogs();
  gw = await startTestGateway({ logLevel: 'trace', logStream: logs.stream });
});

afterAll(async () => {
  await gw?.dispose();
});

describe('adding a KERBEROS connection', () => {
  it('shows auth, hasKeytab and the principal, never the keytab; the reader does not see the principal', async () => {
    const { addConnection } = await ok(AddConnectionDocument, { input: kerberosInput() });
    expect(addConnection).toMatchObject({
      auth: 'KERBEROS',
      hasKeytab: true,
      keytabPrincipal: 'svc-dirgate@CORP.TEST',
      kdcs: ['127.0.0.1:1'],
      bindDn: null,
      hasBindPassword: false,
    });
    const record = await stored(addConnection.id);
    expect(record.keytabSealed).toMatch(/^v2\./);
    expect(record.bindPasswordSealed).toBeNull();
    const asReader = await call(ConnectionByIdDocument, { id: addConnection.id }, gw.readerToken);
    expect(asReader.data?.connection).toMatchObject({
      auth: 'KERBEROS',
      hasKeytab: true,
      keytabPrincipal: null,
    });
  });

  it('defaults auth to SIMPLE with a bindDn and ANONYMOUS without', async () => {
    const base = kerberosInput();
    const simple = await ok(AddConnectionDocument, {
      input: { ...base, auth: null, keytab: null, kdcs: null, bindDn: 'cn=reader,dc=corp,dc=test' },
    });
    expect(simple.addConnection).toMatchObject({
      auth: 'SIMPLE',
      hasKeytab: false,
      keytabPrincipal: null,
      kdcs: [],
    });
    const anonymous = await ok(AddConnectionDocument, {
      input: { ...kerberosInput(), auth: null, keytab: null, kdcs: null },
    });
    expect(anonymous.addConnection.auth).toBe('ANONYMOUS');
  });

  it('refuses every unusable keytab naming keytab, and stores nothing', async () => {
    const before = (await ok(ConnectionsDocument, {})).connections.length;
    const aes = { principal: 'svc-dirgate@CORP.TEST', kvno: 2, enctype: 18 };
    const bad: [string, string, string][] = [
      ['not base64', 'not a keytab at all!', 'KEYTAB_NOT_BASE64'],
      [
        'a PEM file',
        Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n').toString('base64'),
        'KEYTAB_NOT_A_KEYTAB',
      ],
      ['format version 1', Buffer.from([5, 1, 0, 0, 0, 0]).toString('base64'), 'KEYTAB_UNSUPPORTED_VERSION'],
      [
        'only weak enctypes',
        writeKeytab([{ ...aes, enctype: 3 }]).toString('base64'),
        'KEYTAB_WEAK_ENCTYPES_ONLY',
      ],
      [
        'no key for the newest kvno',
        writeKeytab([aes, { ...aes, kvno: 3, enctype: 1 }]).toString('base64'),
        'KEYTAB_NO_KEY_FOR_CURRENT_KVNO',
      ],
      [
        'several accounts',
        writeKeytab([aes, { ...aes, principal: 'svc-b@CORP.TEST' }]).toString('base64'),
        'KEYTAB_SEVERAL_PRINCIPALS',
      ],
      [
        'the whole domain',
        readFileSync(path.join(FIXTURES, 'samba-whole-domain.keytab')).toString('base64'),
        'KEYTAB_HOLDS_KRBTGT',
      ],
      ['truncated', KEYTAB.subarray(0, KEYTAB.length - 7).toString('base64'), 'KEYTAB_TRUNCATED'],
    ];
    for (const [name, keytab, reason] of bad) {
      const res = await call(AddConnectionDocument, { input: kerberosInput({ keytab }) });
      const message = expectRefused(res, 'keytab', reason);
      expect(message, name).toMatch(/^keytab: /);
    }
    expectRefused(
      await call(AddConnectionDocument, { input: kerberosInput({ keytab: null }) }),
      'keytab',
      'KEYTAB_REQUIRED',
    );
    expect((await ok(ConnectionsDocument, {})).connections).toHaveLength(before);
  });

  it('refuses bindDn or bindPassword with KERBEROS, a keytab without it, and bad kdcs', async () => {
    const before = (await ok(ConnectionsDocument, {})).connections.length;
    const msg = expectRefused(
      await call(AddConnectionDocument, {
        input: kerberosInput({ bindDn: 'cn=reader,dc=corp,dc=test', bindPassword: 'secret' }),
      }),
      'bindDn',
    );
    expect(msg).toContain('a KERBEROS connection takes no bindDn or bindPassword');
    expectRefused(
      await call(AddConnectionDocument, { input: kerberosInput({ bindPassword: 'secret' }) }),
      'bindPassword',
    );
    expectRefused(
      await call(AddConnectionDocument, {
        input: kerberosInput({ auth: 'SIMPLE', bindDn: 'cn=r,dc=corp,dc=test' }),
      }),
      'keytab',
      'KEYTAB_NOT_USED',
    );
    for (const kdcs of [['::1:88'], ['kdc.corp.test:99999'], ['kdc one'], ['kdc.corp.test', 'http://x']]) {
      expectRefused(
        await call(AddConnectionDocument, { input: kerberosInput({ kdcs }) }),
        /^kdcs\[\d\]$/,
        'INVALID_KDC',
      );
    }
    const many = Array.from({ length: 11 }, (_, i) => `kdc${i}.corp.test`);
    expectRefused(
      await call(AddConnectionDocument, { input: kerberosInput({ kdcs: many }) }),
      'kdcs',
      'TOO_MANY',
    );
    expect((await ok(ConnectionsDocument, {})).connections).toHaveLength(before);
  });

  it('testConnection checks the keytab as addConnection does, and stores nothing', async () => {
    const before = (await ok(ConnectionsDocument, {})).connections.length;
    expectRefused(
      await call(TestConnectionDocument, {
        input: kerberosInput({ keytab: writeKeytab([]).toString('base64') }),
      }),
      'keytab',
      'KEYTAB_EMPTY',
    );
    // A usable keytab goes on to connect (nothing listens: the outcome is not this test's).
    const tested = await call(TestConnectionDocument, { input: kerberosInput() });
    expect(tested.errors).toBeUndefined();
    expect(tested.data?.testConnection.ok).toBe(false);
    expect((await ok(ConnectionsDocument, {})).connections).toHaveLength(before);
  });
});

describe('updating a KERBEROS connection', () => {
  it('keeps the keytab through changes that leave where it authenticates alone', async () => {
    const { addConnection } = await ok(AddConnectionDocument, { input: kerberosInput() });
    const sealed = (await stored(addConnection.id)).keytabSealed;
    const { updateConnection } = await ok(UpdateConnectionDocument, {
      id: addConnection.id,
      input: { name: 'renamed', schedule: '0 4 * * *', includeContacts: true },
    });
    expect(updateConnection).toMatchObject({
      name: 'renamed',
      auth: 'KERBEROS',
      hasKeytab: true,
      keytabPrincipal: 'svc-dirgate@CORP.TEST',
    });
    expect((await stored(addConnection.id)).keytabSealed).toBe(sealed);
    // The stored keytab is used by a test of the stored settings (no KEYTAB_REQUIRED).
    const tested = await call(TestStoredConnectionDocument, { id: addConnection.id, input: {} });
    expect(tested.errors).toBeUndefined();
  });

  it('needs the keytab again for new servers, TLS settings or KDCs; nothing changes without it', async () => {
    const { addConnection } = await ok(AddConnectionDocument, { input: kerberosInput() });
    const id = addConnection.id;
    const changes: [string, UpdateConnectionInput][] = [
      ['servers', { servers: ['ldap://kdc-and-ldap.evil.test'] }],
      ['tls', { tls: 'STARTTLS' }],
      ['tlsVerify', { tlsVerify: false }],
      ['kdcs', { kdcs: ['kdc.evil.test:88'] }],
      ['kdcs', { kdcs: [] }],
    ];
    for (const [field, change] of changes) {
      const before = await stored(id);
      const msg = expectRefused(
        await call(UpdateConnectionDocument, { id, input: change }),
        'keytab',
        'KEYTAB_REQUIRED',
      );
      expect(msg).toContain(`${field} changed`);
      expectRefused(
        await call(TestStoredConnectionDocument, { id, input: change }),
        'keytab',
        'KEYTAB_REQUIRED',
      );
      expect(await stored(id), `${field}: nothing changed`).toEqual(before);
    }
    const moved = await ok(UpdateConnectionDocument, {
      id,
      input: { kdcs: ['kdc2.corp.test'], keytab: OTHER_KEYTAB.toString('base64') },
    });
    expect(moved.updateConnection).toMatchObject({
      kdcs: ['kdc2.corp.test'],
      hasKeytab: true,
      keytabPrincipal: 'svc-other@CORP.TEST',
    });
  });

  it('an unusable keytab in an update changes nothing', async () => {
    const { addConnection } = await ok(AddConnectionDocument, { input: kerberosInput() });
    const before = await stored(addConnection.id);
    const weak = writeKeytab([{ principal: 'svc-dirgate@CORP.TEST', enctype: 1 }]).toString('base64');
    expectRefused(
      await call(UpdateConnectionDocument, { id: addConnection.id, input: { keytab: weak, name: 'x' } }),
      'keytab',
    );
    expect(await stored(addConnection.id)).toEqual(before);
  });

  it('switching auth: away from KERBEROS drops the keytab and KDCs, to KERBEROS drops the password', async () => {
    const { addConnection } = await ok(AddConnectionDocument, { input: kerberosInput() });
    const id = addConnection.id;
    expectRefused(
      await call(UpdateConnectionDocument, { id, input: { bindDn: 'cn=reader,dc=corp,dc=test' } }),
      'bindDn',
    );
    const simple = await ok(UpdateConnectionDocument, {
      id,
      input: { auth: 'SIMPLE', bindDn: 'cn=reader,dc=corp,dc=test', bindPassword: 'reader-password' },
    });
    expect(simple.updateConnection).toMatchObject({
      auth: 'SIMPLE',
      hasKeytab: false,
      keytabPrincipal: null,
      kdcs: [],
      bindDn: 'cn=reader,dc=corp,dc=test',
      hasBindPassword: true,
    });
    expect((await stored(id)).keytabSealed).toBeNull();

    expectRefused(
      await call(UpdateConnectionDocument, { id, input: { auth: 'KERBEROS' } }),
      'keytab',
      'KEYTAB_REQUIRED',
    );
    expect((await stored(id)).auth).toBe('SIMPLE');
    const back = await ok(UpdateConnectionDocument, {
      id,
      input: { auth: 'KERBEROS', keytab: KEYTAB.toString('base64') },
    });
    expect(back.updateConnection).toMatchObject({
      auth: 'KERBEROS',
      hasKeytab: true,
      bindDn: null,
      hasBindPassword: false,
      kdcs: [],
    });
    expect((await stored(id)).bindPasswordSealed).toBeNull();

    const anonymous = await ok(UpdateConnectionDocument, { id, input: { auth: 'ANONYMOUS' } });
    expect(anonymous.updateConnection).toMatchObject({
      auth: 'ANONYMOUS',
      hasKeytab: false,
      keytabPrincipal: null,
    });
  });

  it('a sync of a KERBEROS connection opens the sealed keytab and ends (whatever the outcome without a KDC)', async () => {
    const { addConnection } = await ok(AddConnectionDocument, { input: kerberosInput() });
    await ok(StartSyncDocument, { connectionId: addConnection.id });
    const ended = await eventually(
      'the run ends',
      async () => {
        const c = (await ok(ConnectionByIdDocument, { id: addConnection.id })).connection;
        if (!c?.lastSync || c.lastSync.status === 'RUNNING') throw new Error('still running');
        return c;
      },
      60_000,
    );
    // The keytab opened: a run that failed did not fail on its sealed keytab.
    expect(ended.lastSync?.error ?? '').not.toMatch(/stored keytab/);
  });
});

describe('a KERBEROS record edited outside the API', () => {
  it('does not open its keytab: the sync and the command fail naming why, and the new KDC hears nothing', async () => {
    const dataDir = path.join(root.path, 'edited');
    const first = await startTestGateway({ dataDir });
    const added = await first.ok(AddConnectionDocument, { input: kerberosInput() });
    const id = added.addConnection.id;
    await first.stop();

    const kdc = await recordingLdapServer();
    try {
      // Someone who can write the settings file points the connection at a KDC of theirs.
      const settings = new SettingsStore(
        await openKvStore(`sqlite://${path.join(dataDir, 'settings.sqlite')}`, 'dirgate-settings'),
      );
      try {
        const record = await settings.getConnection(id);
        if (!record) throw new Error('connection not stored');
        await settings.putConnection({ ...record, kdcs: [new URL(kdc.url).host] });
      } finally {
        await settings.close();
      }
      const gw = await startTestGateway({ dataDir });
      try {
        await gw.ok(StartSyncDocument, { connectionId: id });
        const ended = await eventually(
          'the run ends',
          async () => {
            const c = (await gw.ok(ConnectionByIdDocument, { id })).connection;
            return c?.lastSync && c.lastSync.status !== 'RUNNING' ? c : null;
          },
          60_000,
        );
        expect(ended.lastSync?.status).toBe('FAILED');
        expect(ended.lastSync?.error).toBe(
          "the stored keytab does not match this connection's settings (edited outside the API?); upload the keytab again",
        );
        const cli = await runCli(['test-connection', '--connection', id], {
          env: { DIRGATE_DATA_DIR: dataDir },
        });
        expect(cli.code, cli.stdout).toBe(1);
        expect(cli.stderr).toContain(`the stored keytab of connection ${id} does not match its settings`);
        expect(kdc.accepted()).toBe(0);
        expect(kdc.bytes().length).toBe(0);
      } finally {
        await gw.stop();
      }
    } finally {
      await kdc.close();
    }
  });
});

describe('the dirgate command', () => {
  const cli = (args: readonly string[]) =>
    runCli(args, { env: { DIRGATE_DATA_DIR: gw.dataDir, DIRGATE_URL: gw.url, NO_COLOR: '1' } });

  it('connections add --keytab FILE --kdc, then show: auth, principal, KDCs, "keytab set"; refusals name the flag', async () => {
    const added = await cli([
      'connections',
      'add',
      '--name',
      'krb-cli',
      '--base',
      'ou=cli,dc=corp,dc=test',
      '--url',
      'ldap://127.0.0.1:1',
      '--keytab',
      KEYTAB_FILE,
      '--kdc',
      '127.0.0.1:1',
      '--kdc',
      'kdc2.corp.test',
      '--schedule',
      '0 3 * * *',
    ]);
    expect(added.code, added.stderr).toBe(0);
    const shown = await cli(['connections', 'show', 'krb-cli']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/auth\s+kerberos/);
    expect(shown.stdout).toMatch(/keytab\s+set/);
    expect(shown.stdout).toMatch(/principal\s+svc-dirgate@CORP\.TEST/);
    expect(shown.stdout).toMatch(/KDCs\s+127\.0\.0\.1:1, kdc2\.corp\.test/);
    const json = JSON.parse((await cli(['connections', 'show', 'krb-cli', '--json'])).stdout) as Record<
      string,
      unknown
    >;
    expect(json).toMatchObject({
      auth: 'KERBEROS',
      hasKeytab: true,
      keytabPrincipal: 'svc-dirgate@CORP.TEST',
    });

    const moved = await cli(['connections', 'update', 'krb-cli', '--kdc', 'kdc3.corp.test']);
    expect(moved.code).not.toBe(0);
    expect(moved.stderr).toContain('--keytab');
    expect(moved.stderr).toContain('KEYTAB_REQUIRED');
    const bad = await cli(['connections', 'update', 'krb-cli', '--kdc', '::1:88', '--keytab', KEYTAB_FILE]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--kdc ::1:88');
    // test-connection checks a keytab file as the gateway does, before connecting anywhere.
    const weakFile = path.join(root.path, 'weak.keytab');
    writeFileSync(weakFile, writeKeytab([{ principal: 'svc-dirgate@CORP.TEST', enctype: 3 }]));
    const tested = await cli([
      'test-connection',
      '--url',
      'ldap://127.0.0.1:1',
      '--base',
      'dc=corp,dc=test',
      '--keytab',
      weakFile,
    ]);
    expect(tested.code).not.toBe(0);
    expect(tested.stderr).toContain(`--keytab ${weakFile}: the keytab holds only weak`);
    for (const r of [added, shown, moved, bad, tested]) {
      expect(leaksIn('command output', Buffer.from(r.stdout + r.stderr))).toEqual([]);
    }
  });
});

describe('the console form', () => {
  it('adds a KERBEROS connection from a keytab file and KDCs, shows it, and puts a refused KDC on its field', async () => {
    const browser = await launchBrowser('kerberos-settings');
    try {
      const base = gw.url.replace(/\/graphql$/, '');
      const page = await pageOpener(
        () => browser,
        () => base,
      ).open();
      page.on('response', async (res) => {
        if (res.url().endsWith('/graphql')) responses.push(await res.text().catch(() => ''));
      });
      await logIn(page, base, gw.adminToken);
      const go = async (hash: string) => {
        await page.evaluate(
          `document.body.dataset.view = 'loading'; location.hash = ${JSON.stringify(hash)};`,
        );
        await page.locator('body[data-view=ready]').waitFor();
      };
      await go('#/connections/new');
      await page.fill('input[name=name]', 'krb-console');
      await page.fill('input[name=domain]', 'corp.test');
      await page.fill('input[name=searchBase]', 'ou=console,dc=corp,dc=test');
      await page.check('input[value=servers]');
      await page.fill('textarea[name=servers]', 'ldap://127.0.0.1:1');
      expect(await page.locator('input[name=keytab]').isVisible()).toBe(false);
      await page.selectOption('select[name=auth]', 'KERBEROS');
      // Kerberos takes a keytab and KDCs, no bind DN or password.
      expect(await page.locator('input[name=bindDn]').isVisible()).toBe(false);
      expect(await page.locator('input[name=bindPassword]').isVisible()).toBe(false);
      await page.setInputFiles('input[name=keytab]', KEYTAB_FILE);
      await page.fill('textarea[name=kdcs]', '127.0.0.1:1\n::1:88');
      await page.click('form.connection-form button[type=submit]');
      const kdcError = page.locator('[data-field=kdcs] .field-error');
      await expect.poll(() => kdcError.textContent()).toContain('IPv6 address in brackets');
      expect(await page.locator('textarea[name=kdcs]').getAttribute('aria-invalid')).toBe('true');

      await page.fill('textarea[name=kdcs]', '127.0.0.1:1\n[::1]:88');
      await page.click('form.connection-form button[type=submit]');
      await page.waitForURL(/#\/connections\/[0-9a-f-]{36}$/);
      const id = decodeURIComponent(page.url().split('/').at(-1) ?? '');
      const c = (await ok(ConnectionByIdDocument, { id })).connection;
      expect(c).toMatchObject({
        name: 'krb-console',
        auth: 'KERBEROS',
        hasKeytab: true,
        keytabPrincipal: 'svc-dirgate@CORP.TEST',
        kdcs: ['127.0.0.1:1', '[::1]:88'],
        hasBindPassword: false,
      });
      await page.locator('body[data-view=ready]').waitFor();
      const shown = (await page.locator('main').textContent()) ?? '';
      expect(shown).toContain('svc-dirgate@CORP.TEST');
      expect(shown).toContain('[::1]:88');
      expect(leaksIn('the console page', Buffer.from(await page.content()))).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 600_000);
});

describe('the keytab never shows', () => {
  it('in no response, no log line and no file of the data folder', async () => {
    expect(responses.length).toBeGreaterThan(20);
    expect(leaksIn('responses', Buffer.from(responses.join('\n')))).toEqual([]);
    expect(logs.lines.length).toBeGreaterThan(0);
    expect(leaksIn('log lines', Buffer.from(JSON.stringify(logs.lines)))).toEqual([]);
    await gw.stop();
    const files = filesUnder(gw.dataDir);
    expect(files.some((f) => f.includes('settings'))).toBe(true);
    const leaks = files.flatMap((f) => leaksIn(path.relative(gw.dataDir, f), readFileSync(f)));
    expect(leaks).toEqual([]);
  });

  it('the scan finds a keytab that is there', () => {
    // The same scan over a file that holds one: the check above can fail.
    expect(leaksIn('a planted file', Buffer.concat([Buffer.from('x'), KEYTAB]))).not.toEqual([]);
  });
});
