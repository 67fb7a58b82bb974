/**
 * Bind passwords are sealed with the node's secret key. The key is checked
 * at start against the settings it must open (src/store/key-check.ts): a
 * missing key file is not replaced while sealed passwords exist, and a node
 * whose key differs from the one the (shared) settings were sealed with
 * does not start. A value that still cannot be decrypted later is named
 * plainly instead of failing with a cipher error.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { expect, it } from 'vitest';
import { createGateway } from '../../src/app.js';
import { loadConfig } from '../../src/config/environment.js';
import { SECRET_KEY_FILE } from '../../src/config/secrets.js';
import { createLogger } from '../../src/logging.js';
import { KeyCheckError } from '../../src/store/key-check.js';
import { openKvStore } from '../../src/store/kv-store.js';
import { SecretBox } from '../../src/store/secret-box.js';
import { SettingsStore } from '../../src/store/settings-store.js';
import { ConnectionsDocument } from '../gql/graphql.js';
import { privateSlapd, temporaryFolder } from '../support/fixtures.js';
import { startTestGateway } from '../support/gateway.js';
import { addSlapdConnection, syncNow } from '../support/sync.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

const directory = privateSlapd({ users: 20, groups: 2, contacts: 2, seed: 'keys' });
const root = temporaryFolder('keys');
const folder = (name: string) => path.join(root.path, name);

/** The settings of a data folder (or a shared file), opened beside no running gateway. */
async function withSettings<T>(file: string, use: (settings: SettingsStore) => Promise<T>): Promise<T> {
  const settings = new SettingsStore(await openKvStore(`sqlite://${file}`, 'dirgate-settings'));
  try {
    return await use(settings);
  } finally {
    await settings.close();
  }
}

/** The gateway's entry (src/main.ts) on `dataDir`, expected to stop at start: its exit code and output. */
async function failedStart(dataDir: string, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', DIRGATE_DATA_DIR: dataDir, DIRGATE_SCHEDULER: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const code = await new Promise<number | string>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', (c, signal) => {
      clearTimeout(timer);
      resolve(c ?? signal ?? -1);
    });
  });
  return { code, out };
}

it('names the secret key when a stored bind password cannot be decrypted', async () => {
  const dir = folder('undecryptable');
  const key = randomBytes(32).toString('hex');
  const first = await startTestGateway({ dataDir: dir, env: { DIRGATE_SECRET_KEY: key } });
  const id = await addSlapdConnection(first, directory.slapd);
  expect((await syncNow(first, id)).status).toBe('SUCCEEDED');
  await first.stop();

  // A password sealed under another key beside the key check of this one: what a cluster
  // misconfigured before key checks existed leaves behind. The start passes its check; the sync
  // of that connection cannot decrypt, and says which setting to fix.
  await withSettings(path.join(dir, 'settings.sqlite'), async (settings) => {
    const record = await settings.getConnection(id);
    if (!record) throw new Error('connection not stored');
    const other = new SecretBox(randomBytes(32));
    await settings.putConnection({
      ...record,
      bindPasswordSealed: other.seal(directory.slapd.reader.password, record),
    });
  });
  const again = await startTestGateway({ dataDir: dir, env: { DIRGATE_SECRET_KEY: key } });
  try {
    const c = await syncNow(again, id);
    expect(c.status).toBe('FAILED');
    expect(c.lastSync?.error).toMatch(/DIRGATE_SECRET_KEY/);
    // The last good snapshot is still served.
    expect(c.userCount).toBe(20);
  } finally {
    await again.stop();
  }
});

it('refuses to start with a new key while sealed passwords exist, and writes no key', async () => {
  const dir = folder('lost-key');
  const gw = await startTestGateway({ dataDir: dir });
  await addSlapdConnection(gw, directory.slapd);
  await gw.stop();
  // The first start (an empty store) wrote the check of the key it generated.
  const keyFile = path.join(dir, SECRET_KEY_FILE);
  const key = Buffer.from((await readFile(keyFile, 'utf8')).trim(), 'hex');
  const check = await withSettings(path.join(dir, 'settings.sqlite'), (s) => s.getKeyCheck());
  expect(check?.mac).toBe(new SecretBox(key).keyCheck());

  const backup = path.join(root.path, 'secret-key.backup');
  await copyFile(keyFile, backup);
  await rm(keyFile);

  // As the process reports it: the message on standard error, exit status 1.
  const { code, out } = await failedStart(dir);
  expect(code).toBe(1);
  expect(out).toContain(`dirgate: failed to start: ${keyFile} is missing and DIRGATE_SECRET_KEY is not set`);
  expect(out).toContain('1 sealed bind password');
  expect(out).toMatch(/Restore \S+secret-key from a backup/);
  expect(out).toMatch(/DIRGATE_FORGET_BIND_PASSWORDS=[0-9a-f]{16}/);
  expect(await readdir(dir)).not.toContain(SECRET_KEY_FILE);

  // In process too, as a typed error.
  const config = loadConfig({ DIRGATE_DATA_DIR: dir, DIRGATE_SCHEDULER: 'false' });
  await expect(createGateway(config, createLogger('silent'))).rejects.toBeInstanceOf(KeyCheckError);
  expect(await readdir(dir)).not.toContain(SECRET_KEY_FILE);

  // The key restored from the backup: the gateway starts, with the connection's password intact.
  await copyFile(backup, keyFile);
  const restored = await startTestGateway({ dataDir: dir });
  try {
    const [connection] = (await restored.ok(ConnectionsDocument, {})).connections;
    if (!connection) throw new Error('the connection was lost');
    expect(connection.hasBindPassword).toBe(true);
    expect((await syncNow(restored, connection.id)).status).toBe('SUCCEEDED');
  } finally {
    await restored.stop();
  }
});

it('refuses a node whose key differs from the key the shared settings were sealed with', async () => {
  const shared = path.join(root.path, 'shared-settings.sqlite');
  const key = randomBytes(32).toString('hex');
  const env = (secretKey: string) => ({
    DIRGATE_CONFIG_STORE: `sqlite://${shared}`,
    DIRGATE_SECRET_KEY: secretKey,
  });
  const nodeA = await startTestGateway({ dataDir: folder('node-a'), env: env(key) });
  try {
    const id = await addSlapdConnection(nodeA, directory.slapd);

    const other = randomBytes(32).toString('hex');
    const config = loadConfig({
      DIRGATE_DATA_DIR: folder('node-b'),
      DIRGATE_SCHEDULER: 'false',
      DIRGATE_NODE_NAME: 'node-b',
      ...env(other),
    });
    const refused = createGateway(config, createLogger('silent'));
    await expect(refused).rejects.toBeInstanceOf(KeyCheckError);
    await expect(refused).rejects.toThrow(
      "this node's DIRGATE_SECRET_KEY differs from the key the shared settings (DIRGATE_CONFIG_STORE) were sealed with",
    );
    await expect(refused).rejects.toThrow('every node sharing DIRGATE_CONFIG_STORE needs the same key');

    // The same refusal, as the process reports it.
    const { code, out } = await failedStart(folder('node-b'), env(other));
    expect(code).toBe(1);
    expect(out).toContain("dirgate: failed to start: this node's DIRGATE_SECRET_KEY differs");

    // With the cluster's key the second node starts, and binds with the password node A sealed.
    const nodeB = await startTestGateway({ dataDir: folder('node-b'), env: env(key) });
    try {
      expect((await syncNow(nodeB, id)).status).toBe('SUCCEEDED');
    } finally {
      await nodeB.stop();
    }
  } finally {
    await nodeA.stop();
  }
});
