import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  commandSettings,
  loadConfig,
  loadProcessConfig,
  outputSettings,
} from '../../src/config/environment.js';
import { ADMIN_TOKEN_FILE, loadSecrets, SECRET_KEY_FILE, SecretsError } from '../../src/config/secrets.js';
import { lockDataFolder } from '../../src/store/data-folder-lock.js';

/** The ConfigError loadConfig throws for `env` (fails the test when it does not throw one). */
function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

/** The variables a ConfigError's problems name (each problem reads `VARIABLE: why`). */
function namedVariables(err: ConfigError): string[] {
  return err.problems.map((p) => p.split(':')[0] ?? '').sort();
}

const KEY_HEX = 'ab'.repeat(32);

describe('loadConfig', () => {
  it('uses the contract defaults when nothing is set', () => {
    const config = loadConfig({});
    expect(config.port).toBe(4000);
    expect(config.host).toBe('127.0.0.1');
    expect(config.dataDir).toBe(path.resolve('./data'));
    expect(config.nodeName).toBe(hostname());
    expect(config.adminToken).toBeNull();
    expect(config.readerToken).toBeNull();
    expect(config.dnsServers).toEqual([]);
    expect(config.configStore).toBeNull();
    expect(config.pubsub).toBeNull();
    expect(config.secretKey).toBeNull();
    expect(config.logLevel).toBe('info');
    expect(config.deleteThreshold).toBe(0.5);
    expect(config.scheduler).toBe(true);
    expect(config.ldap).toEqual({
      connectTimeoutMs: 5000,
      operationTimeoutMs: 30000,
      dnsTimeoutMs: 3000,
      pageSize: 1000,
      rangeSize: 1500,
      maxMessageBytes: 64 * 1024 * 1024,
      maxEntries: 2_000_000,
      maxValuesPerAttribute: 1_000_000,
    });
    expect(config.syncRunTimeoutMs).toBe(30 * 60 * 1000);
  });

  it('reads the directory bounds and the run deadline, refusing values out of range', () => {
    const config = loadConfig({
      DIRGATE_LDAP_MAX_MESSAGE_BYTES: '1048576',
      DIRGATE_LDAP_MAX_ENTRIES: '50',
      DIRGATE_LDAP_MAX_VALUES: '100',
      DIRGATE_SYNC_RUN_TIMEOUT_MS: '3000',
    });
    expect(config.ldap).toMatchObject({
      maxMessageBytes: 1048576,
      maxEntries: 50,
      maxValuesPerAttribute: 100,
    });
    expect(config.syncRunTimeoutMs).toBe(3000);
    expect(() => loadConfig({ DIRGATE_LDAP_MAX_MESSAGE_BYTES: '10' })).toThrow(
      /DIRGATE_LDAP_MAX_MESSAGE_BYTES/,
    );
    expect(() => loadConfig({ DIRGATE_LDAP_MAX_ENTRIES: '0' })).toThrow(/DIRGATE_LDAP_MAX_ENTRIES/);
    expect(() => loadConfig({ DIRGATE_SYNC_RUN_TIMEOUT_MS: 'soon' })).toThrow(/DIRGATE_SYNC_RUN_TIMEOUT_MS/);
  });

  it('reads every contract variable that is set', () => {
    const config = loadConfig({
      PORT: '8443',
      HOST: '0.0.0.0',
      DIRGATE_DATA_DIR: '/var/lib/dirgate',
      DIRGATE_NODE_NAME: 'node-a',
      DIRGATE_ADMIN_TOKEN: 'admin-token-0123456789',
      DIRGATE_READER_TOKEN: 'reader-token-0123456789',
      DIRGATE_DNS_SERVERS: '127.0.0.1:5353, [::1]:53,dns.corp.test',
      DIRGATE_CONFIG_STORE: 'redis://127.0.0.1:6379/0',
      DIRGATE_PUBSUB: 'rediss://redis.corp.test:6380',
      DIRGATE_SECRET_KEY: KEY_HEX,
      DIRGATE_SCHEDULER: 'false',
      DIRGATE_DELETE_THRESHOLD: '0.25',
    });
    expect(config.port).toBe(8443);
    expect(config.host).toBe('0.0.0.0');
    expect(config.dataDir).toBe('/var/lib/dirgate');
    expect(config.nodeName).toBe('node-a');
    expect(config.adminToken).toBe('admin-token-0123456789');
    expect(config.readerToken).toBe('reader-token-0123456789');
    expect(config.dnsServers).toEqual(['127.0.0.1:5353', '[::1]:53', 'dns.corp.test']);
    expect(config.configStore).toBe('redis://127.0.0.1:6379/0');
    expect(config.pubsub).toBe('rediss://redis.corp.test:6380');
    expect(config.secretKey).toBe(KEY_HEX);
    expect(config.scheduler).toBe(false);
    expect(config.deleteThreshold).toBe(0.25);
  });

  it('treats an empty variable as not set', () => {
    const config = loadConfig({
      PORT: '',
      HOST: '',
      DIRGATE_DATA_DIR: '',
      DIRGATE_NODE_NAME: '',
      DIRGATE_ADMIN_TOKEN: '',
      DIRGATE_DNS_SERVERS: '',
      DIRGATE_CONFIG_STORE: '',
      DIRGATE_PUBSUB: '',
      DIRGATE_SECRET_KEY: '',
    });
    expect(config.port).toBe(4000);
    expect(config.host).toBe('127.0.0.1');
    expect(config.dataDir).toBe(path.resolve('./data'));
    expect(config.nodeName).toBe(hostname());
    expect(config.adminToken).toBeNull();
    expect(config.dnsServers).toEqual([]);
    expect(config.configStore).toBeNull();
    expect(config.pubsub).toBeNull();
    expect(config.secretKey).toBeNull();
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '80.5'],
    ['DIRGATE_DNS_SERVERS', 'a b'],
    ['DIRGATE_DNS_SERVERS', '127.0.0.1:53,bad host'],
    ['DIRGATE_PUBSUB', 'http://x'],
    ['DIRGATE_SECRET_KEY', 'short'],
    ['DIRGATE_SECRET_KEY', 'zz'.repeat(32)],
    ['DIRGATE_CONFIG_STORE', 'ftp://x'],
    ['DIRGATE_ADMIN_TOKEN', 'too-short'],
    ['DIRGATE_READER_TOKEN', 'too-short'],
    ['DIRGATE_NODE_NAME', 'node a'],
    ['DIRGATE_DELETE_THRESHOLD', '1.5'],
    ['DIRGATE_SCHEDULER', 'maybe'],
    ['DIRGATE_LOG_LEVEL', 'loud'],
  ])('refuses %s=%j with a message naming the variable', (name, value) => {
    const err = configError({ [name]: value });
    expect(namedVariables(err)).toEqual([name]);
    expect(err.message).toContain(name);
  });

  it.each([
    ['DIRGATE_ADMIN_TOKEN', 'admin token 0123456789'],
    ['DIRGATE_ADMIN_TOKEN', 'admin-token-0123456789\n'],
    ['DIRGATE_ADMIN_TOKEN', ' admin-token-0123456789'],
    ['DIRGATE_READER_TOKEN', 'reader-token-0123456789 '],
    ['DIRGATE_READER_TOKEN', 'reader\ttoken-0123456789'],
    ['DIRGATE_READER_TOKEN', '                    '],
  ])('refuses %s=%j: a token with whitespace, naming the variable', (name, value) => {
    const err = configError({ [name]: value });
    expect(namedVariables(err)).toEqual([name]);
    expect(err.message).toMatch(/whitespace/);
  });

  it('refuses a reader token equal to the admin token, naming both variables', () => {
    const same = 'one-token-for-both-0123456789';
    const err = configError({ DIRGATE_ADMIN_TOKEN: same, DIRGATE_READER_TOKEN: same });
    expect(namedVariables(err)).toEqual(['DIRGATE_READER_TOKEN']);
    expect(err.message).toContain('DIRGATE_READER_TOKEN');
    expect(err.message).toContain('DIRGATE_ADMIN_TOKEN');
    expect(err.message).not.toContain(same);
  });

  it('names every invalid variable at once', () => {
    const err = configError({
      PORT: 'abc',
      DIRGATE_DNS_SERVERS: 'a b',
      DIRGATE_PUBSUB: 'http://x',
      DIRGATE_SECRET_KEY: 'short',
      DIRGATE_CONFIG_STORE: 'ftp://x',
      DIRGATE_ADMIN_TOKEN: 'short',
      HOST: 'localhost',
    });
    const expected = [
      'DIRGATE_ADMIN_TOKEN',
      'DIRGATE_CONFIG_STORE',
      'DIRGATE_DNS_SERVERS',
      'DIRGATE_PUBSUB',
      'DIRGATE_SECRET_KEY',
      'PORT',
    ];
    expect(namedVariables(err)).toEqual(expected);
    for (const name of expected) expect(err.message).toContain(name);
    expect(err.message).not.toContain('HOST');
  });

  it('ignores variables it does not know', () => {
    expect(loadConfig({ PATH: '/usr/bin', DIRGATE_UNKNOWN: 'x' }).port).toBe(4000);
  });
});

describe('loadProcessConfig', () => {
  it('reads the process environment, with the overrides given winning and undefined ones ignored', () => {
    const config = loadProcessConfig({ PORT: '4711', HOST: undefined, DIRGATE_DATA_DIR: 'elsewhere' });
    expect(config.port).toBe(4711);
    expect(config.host).toBe(loadProcessConfig().host);
    expect(config.dataDir).toBe(path.resolve('elsewhere'));
  });
});

describe('outputSettings and commandSettings', () => {
  it('read the variables of terminals and of the dirgate command, falling back instead of refusing', () => {
    expect(outputSettings({})).toEqual({ logFormat: null, noColor: false, dumbTerminal: false });
    expect(outputSettings({ DIRGATE_LOG_FORMAT: ' Pretty ', NO_COLOR: '1', TERM: 'dumb' })).toEqual({
      logFormat: 'pretty',
      noColor: true,
      dumbTerminal: true,
    });
    expect(outputSettings({ DIRGATE_LOG_FORMAT: 'xml', NO_COLOR: '' })).toMatchObject({
      logFormat: null,
      noColor: false,
    });
    expect(commandSettings({})).toEqual({ name: 'dirgate', gatewayUrl: null, bindPassword: undefined });
    expect(
      commandSettings({ DIRGATE_CLI_NAME: 'dg', DIRGATE_URL: 'http://gw:4000', DIRGATE_BIND_PASSWORD: 'pw' }),
    ).toEqual({ name: 'dg', gatewayUrl: 'http://gw:4000', bindPassword: 'pw' });
    expect(commandSettings({ DIRGATE_URL: '' }).gatewayUrl).toBeNull();
  });
});

describe('loadSecrets', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = path.join(await mkdtemp(path.join(tmpdir(), 'dirgate-secrets-')), 'data');
  });

  afterEach(async () => {
    await rm(path.dirname(dataDir), { recursive: true, force: true, maxRetries: 5 });
  });

  const mode = async (file: string): Promise<number> => (await stat(file)).mode & 0o777;

  it('generates the admin token and the secret key into the data folder with mode 0600', async () => {
    const secrets = await loadSecrets(loadConfig({ DIRGATE_DATA_DIR: dataDir }));
    const tokenFile = path.join(dataDir, ADMIN_TOKEN_FILE);
    const keyFile = path.join(dataDir, SECRET_KEY_FILE);

    expect(secrets.generatedAdminToken).toBe(true);
    expect(secrets.adminTokenPath).toBe(tokenFile);
    expect(secrets.adminToken.length).toBeGreaterThanOrEqual(32);
    expect((await readFile(tokenFile, 'utf8')).trim()).toBe(secrets.adminToken);
    expect(await mode(tokenFile)).toBe(0o600);

    expect(secrets.secretKey).toHaveLength(32);
    expect((await readFile(keyFile, 'utf8')).trim()).toBe(secrets.secretKey.toString('hex'));
    expect(await mode(keyFile)).toBe(0o600);
    expect(secrets.readerToken).toBeNull();
  });

  it('reuses the generated secrets on the next start', async () => {
    const config = loadConfig({ DIRGATE_DATA_DIR: dataDir });
    const first = await loadSecrets(config);
    const second = await loadSecrets(config);
    expect(second.adminToken).toBe(first.adminToken);
    expect(second.secretKey.equals(first.secretKey)).toBe(true);
    expect(second.generatedAdminToken).toBe(false);
    expect(second.adminTokenPath).toBe(path.join(dataDir, ADMIN_TOKEN_FILE));
  });

  it('gives two data folders different secrets', async () => {
    const other = `${dataDir}-other`;
    const a = await loadSecrets(loadConfig({ DIRGATE_DATA_DIR: dataDir }));
    const b = await loadSecrets(loadConfig({ DIRGATE_DATA_DIR: other }));
    expect(b.adminToken).not.toBe(a.adminToken);
    expect(b.secretKey.equals(a.secretKey)).toBe(false);
  });

  it('tightens a generated file an operator loosened back to 0600', async () => {
    const config = loadConfig({ DIRGATE_DATA_DIR: dataDir });
    await loadSecrets(config);
    const tokenFile = path.join(dataDir, ADMIN_TOKEN_FILE);
    await chmod(tokenFile, 0o644);
    await loadSecrets(config);
    expect(await mode(tokenFile)).toBe(0o600);
  });

  it('uses tokens and key given in the environment and writes no file for them', async () => {
    const secrets = await loadSecrets(
      loadConfig({
        DIRGATE_DATA_DIR: dataDir,
        DIRGATE_ADMIN_TOKEN: 'admin-from-env-0123456789',
        DIRGATE_READER_TOKEN: 'reader-from-env-0123456789',
        DIRGATE_SECRET_KEY: KEY_HEX,
      }),
    );
    expect(secrets.adminToken).toBe('admin-from-env-0123456789');
    expect(secrets.readerToken).toBe('reader-from-env-0123456789');
    expect(secrets.secretKey.toString('hex')).toBe(KEY_HEX);
    expect(secrets.adminTokenPath).toBeNull();
    expect(secrets.generatedAdminToken).toBe(false);
    await expect(stat(path.join(dataDir, ADMIN_TOKEN_FILE))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(path.join(dataDir, SECRET_KEY_FILE))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses DIRGATE_READER_TOKEN equal to the generated admin token, naming both variables and the file', async () => {
    const first = await loadSecrets(loadConfig({ DIRGATE_DATA_DIR: dataDir }));
    const refused = loadSecrets(
      loadConfig({ DIRGATE_DATA_DIR: dataDir, DIRGATE_READER_TOKEN: first.adminToken }),
    );
    await expect(refused).rejects.toBeInstanceOf(SecretsError);
    const message = await refused.catch((err: Error) => err.message);
    expect(message).toContain('DIRGATE_READER_TOKEN');
    expect(message).toContain('DIRGATE_ADMIN_TOKEN');
    expect(message).toContain(path.join(dataDir, ADMIN_TOKEN_FILE));
    expect(message).not.toContain(first.adminToken);
  });

  it('reads an admin-token file without its one final line break, and refuses other whitespace in it', async () => {
    const config = loadConfig({ DIRGATE_DATA_DIR: dataDir });
    await loadSecrets(config);
    const tokenFile = path.join(dataDir, ADMIN_TOKEN_FILE);
    const token = 'hand-written-token-0123456789';
    for (const ending of ['', '\n', '\r\n']) {
      await writeFile(tokenFile, `${token}${ending}`);
      expect((await loadSecrets(config)).adminToken).toBe(token);
    }
    for (const content of [`${token} \n`, `${token}\n\n`, ` ${token}\n`, 'hand written\n']) {
      await writeFile(tokenFile, content);
      await expect(loadSecrets(config), JSON.stringify(content)).rejects.toThrow(
        new RegExp(`${ADMIN_TOKEN_FILE}: the admin token must not contain whitespace`),
      );
    }
  });

  it('makes a data folder that existed with wider permissions 0700', async () => {
    await mkdir(dataDir, { mode: 0o755 });
    await chmod(dataDir, 0o755);
    await loadSecrets(loadConfig({ DIRGATE_DATA_DIR: dataDir }));
    expect(await mode(dataDir)).toBe(0o700);
    await chmod(dataDir, 0o777);
    await lockDataFolder(dataDir, { command: 'test', node: 'test' }).then((lock) => lock.release());
    expect(await mode(dataDir)).toBe(0o700);
  });

  it('refuses a secret-key file that is not 64 hex characters, naming the file', async () => {
    const config = loadConfig({ DIRGATE_DATA_DIR: dataDir });
    await loadSecrets(config);
    await writeFile(path.join(dataDir, SECRET_KEY_FILE), 'not-a-key\n');
    await expect(loadSecrets(config)).rejects.toThrow(SECRET_KEY_FILE);
  });

  // Last in the file: against the bug it guards, loadSecrets never settles.
  it('replaces an empty admin-token file with a generated token', async () => {
    const config = loadConfig({ DIRGATE_DATA_DIR: dataDir });
    await loadSecrets(config);
    const tokenFile = path.join(dataDir, ADMIN_TOKEN_FILE);
    await writeFile(tokenFile, '\n', { mode: 0o600 });

    const outcome = await Promise.race([
      loadSecrets(config).then((s) => s.adminToken),
      new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 2000).unref()),
    ]);
    expect(outcome).not.toBe('hung');
    expect(outcome.length).toBeGreaterThanOrEqual(32);
    expect((await readFile(tokenFile, 'utf8')).trim()).toBe(outcome);
  });
});
