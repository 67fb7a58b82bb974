/**
 * The secret key decided against the settings (src/store/key-check.ts), on
 * a real data folder and an in-memory settings store.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/environment.js';
import { SECRET_KEY_FILE } from '../../src/config/secrets.js';
import { createLogger } from '../../src/logging.js';
import type { ConnectionRecord } from '../../src/model/connection.js';
import { KeyCheckError, loadCheckedSecrets } from '../../src/store/key-check.js';
import { openKvStore } from '../../src/store/kv-store.js';
import { SecretBox } from '../../src/store/secret-box.js';
import { SettingsStore } from '../../src/store/settings-store.js';
import { connectionRecord } from '../support/connections.js';

let root: string;
let dataDir: string;
let settings: SettingsStore;
let logged: string[];

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'dirgate-keycheck-'));
  dataDir = path.join(root, 'data');
  settings = new SettingsStore(await openKvStore('memory://', 'dirgate-settings'));
  logged = [];
});

afterEach(async () => {
  await settings.close();
  await rm(root, { recursive: true, force: true });
});

const logger = () =>
  createLogger('warn', {
    stream: new Writable({
      write(chunk: Buffer, _encoding, done) {
        logged.push(chunk.toString());
        done();
      },
    }),
  });

const start = (env: Record<string, string> = {}) =>
  loadCheckedSecrets(
    loadConfig({ DIRGATE_DATA_DIR: dataDir, DIRGATE_NODE_NAME: 'node-a', ...env }),
    settings,
    logger(),
  );

function connection(id: string, sealed: string | null): ConnectionRecord {
  const now = new Date().toISOString();
  return connectionRecord({
    id,
    name: `conn-${id}`,
    servers: ['ldap://127.0.0.1:389'],
    bindDn: 'cn=reader,dc=corp,dc=test',
    bindPasswordSealed: sealed,
    includeContacts: true,
    createdAt: now,
    updatedAt: now,
  });
}

/** The message a refused start gives, and the error class it comes as. */
async function refusal(env: Record<string, string> = {}): Promise<string> {
  const err = await start(env).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KeyCheckError);
  return (err as KeyCheckError).message;
}

const fingerprintIn = (message: string): string =>
  /DIRGATE_FORGET_BIND_PASSWORDS=([0-9a-f]{16})/.exec(message)?.[1] ?? '';

describe('loadCheckedSecrets', () => {
  it('on an empty store generates a key and writes its key check, never the key itself', async () => {
    const secrets = await start();
    expect(secrets.generatedSecretKey).toBe(true);
    const check = await settings.getKeyCheck();
    expect(check?.mac).toBe(new SecretBox(secrets.secretKey).keyCheck());
    expect(check?.node).toBe('node-a');
    const keyHex = secrets.secretKey.toString('hex');
    expect(JSON.stringify(check)).not.toContain(keyHex);
    expect(check?.mac).not.toContain(keyHex);
    // The next start with the same key passes the check.
    const again = await start();
    expect(again.secretKey.equals(secrets.secretKey)).toBe(true);
  });

  it('refuses a new key while sealed passwords exist: names the file, the count and the fix, writes nothing', async () => {
    const lost = new SecretBox(randomBytes(32));
    await settings.putConnection(connection('1', lost.seal('pw1', connection('1', null))));
    await settings.putConnection(connection('2', lost.seal('pw2', connection('2', null))));
    await settings.putConnection(connection('3', null));
    const message = await refusal();
    const keyFile = path.join(dataDir, SECRET_KEY_FILE);
    expect(message).toContain(`${keyFile} is missing`);
    expect(message).toContain('2 sealed bind passwords');
    expect(message).toMatch(/Restore .*secret-key from a backup/);
    expect(message).toContain('set DIRGATE_SECRET_KEY');
    expect(fingerprintIn(message)).toMatch(/^[0-9a-f]{16}$/);
    // No key file, no token file, no key check: nothing was decided.
    expect(await readdir(dataDir)).toEqual([]);
    expect(await settings.getKeyCheck()).toBeUndefined();
    expect((await settings.getConnection('1'))?.bindPasswordSealed).not.toBeNull();
  });

  it('refuses a new key while a key check exists, even with no sealed password left', async () => {
    const first = await start();
    await rm(path.join(dataDir, SECRET_KEY_FILE));
    const message = await refusal();
    expect(message).toContain('is missing');
    expect(message).toContain('key check');
    expect(await readdir(dataDir)).not.toContain(SECRET_KEY_FILE);
    expect((await settings.getKeyCheck())?.mac).toBe(new SecretBox(first.secretKey).keyCheck());
  });

  it('refuses a key other than the key check’s, naming DIRGATE_SECRET_KEY and the cluster rule', async () => {
    const key = randomBytes(32).toString('hex');
    await start({ DIRGATE_SECRET_KEY: key, DIRGATE_CONFIG_STORE: 'redis://unused' });
    const message = await refusal({
      DIRGATE_SECRET_KEY: randomBytes(32).toString('hex'),
      DIRGATE_CONFIG_STORE: 'redis://unused',
    });
    expect(message).toContain(
      "this node's DIRGATE_SECRET_KEY differs from the key the shared settings (DIRGATE_CONFIG_STORE) were sealed with",
    );
    expect(message).toContain('every node sharing DIRGATE_CONFIG_STORE needs the same key');
    expect(message).toContain('written by node-a');
    // The same key still starts.
    expect((await start({ DIRGATE_SECRET_KEY: key })).secretKey.toString('hex')).toBe(key);
  });

  it('refuses a replaced key file, naming the file', async () => {
    await start();
    await writeFile(path.join(dataDir, SECRET_KEY_FILE), `${randomBytes(32).toString('hex')}\n`);
    const message = await refusal();
    expect(message).toContain(`this node's secret key (${path.join(dataDir, SECRET_KEY_FILE)}) differs`);
  });

  it('without a key check: writes it when the key opens a sealed password, refuses when it opens none', async () => {
    const key = randomBytes(32);
    const box = new SecretBox(key);
    await settings.putConnection(connection('1', box.seal('pw', connection('1', null))));
    await settings.putConnection(
      connection('2', new SecretBox(randomBytes(32)).seal('other', connection('2', null))),
    );

    const message = await refusal({ DIRGATE_SECRET_KEY: randomBytes(32).toString('hex') });
    expect(message).toContain("this node's DIRGATE_SECRET_KEY opens none of the 2 bind passwords sealed");
    expect(await settings.getKeyCheck()).toBeUndefined();

    await start({ DIRGATE_SECRET_KEY: key.toString('hex') });
    expect((await settings.getKeyCheck())?.mac).toBe(box.keyCheck());
  });

  it('discards the sealed passwords only with the fingerprint the refusal printed, and says so', async () => {
    const lost = new SecretBox(randomBytes(32));
    await settings.putConnection(connection('1', lost.seal('pw1', connection('1', null))));
    await settings.putConnection(connection('2', null));
    const fingerprint = fingerprintIn(await refusal());

    // Another value (a typo, or a fingerprint of another state) changes nothing.
    const other = fingerprint.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    expect(fingerprintIn(await refusal({ DIRGATE_FORGET_BIND_PASSWORDS: other }))).toBe(fingerprint);
    expect(await readdir(dataDir)).toEqual([]);

    const secrets = await start({ DIRGATE_FORGET_BIND_PASSWORDS: fingerprint });
    expect(secrets.generatedSecretKey).toBe(true);
    expect((await settings.getConnection('1'))?.bindPasswordSealed).toBeNull();
    expect((await settings.getKeyCheck())?.mac).toBe(new SecretBox(secrets.secretKey).keyCheck());
    expect(logged.join('')).toContain('bind password discarded');
    expect(logged.join('')).toContain('conn-1');

    // Left set, it does nothing more: the settings fit the key now.
    logged.length = 0;
    await settings.putConnection(
      connection('1', new SecretBox(secrets.secretKey).seal('new', connection('1', null))),
    );
    await start({ DIRGATE_FORGET_BIND_PASSWORDS: fingerprint });
    expect((await settings.getConnection('1'))?.bindPasswordSealed).not.toBeNull();
    expect(logged.join('')).toContain('nothing discarded; unset it');
  });

  it('on a key mismatch the fingerprint makes this key the settings’ key, keeping what it opens', async () => {
    const key = randomBytes(32);
    await start({ DIRGATE_SECRET_KEY: randomBytes(32).toString('hex') });
    const mine = new SecretBox(key);
    await settings.putConnection(connection('1', mine.seal('mine', connection('1', null))));
    const fingerprint = fingerprintIn(await refusal({ DIRGATE_SECRET_KEY: key.toString('hex') }));
    await start({ DIRGATE_SECRET_KEY: key.toString('hex'), DIRGATE_FORGET_BIND_PASSWORDS: fingerprint });
    expect((await settings.getKeyCheck())?.mac).toBe(mine.keyCheck());
    const kept = (await settings.getConnection('1'))?.bindPasswordSealed;
    expect(kept && mine.open(kept, connection('1', null))).toBe('mine');
  });

  it('keeps the key file it generated readable back as the same key', async () => {
    const secrets = await start();
    const onDisk = (await readFile(path.join(dataDir, SECRET_KEY_FILE), 'utf8')).trim();
    expect(onDisk).toBe(secrets.secretKey.toString('hex'));
  });
});
