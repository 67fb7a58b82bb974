/**
 * What the CLI's commands share: the configuration (the same environment as
 * the service, read by src/config), the data folder's stores opened read
 * side by side with a running gateway (SQLite in WAL mode lets several
 * processes read and write; writes wait on a lock, bounded by busyTimeout),
 * and the admin token of the data folder.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  type Config,
  ConfigError,
  type ConfigOverrides,
  commandSettings,
  loadProcessConfig,
} from '../config/environment.js';
import { ADMIN_TOKEN_FILE, SECRET_KEY_FILE } from '../config/secrets.js';
import type { LdapLimits } from '../ldap/types.js';
import type { CacheStore } from '../store/cache-store.js';
import type { SettingsStore } from '../store/settings-store.js';
import { type ParsedValues, stringOption, UsageError } from './command.js';

/** The configuration a command runs with: the environment, --data-dir and then `overrides` winning. */
export function cliConfig(values: ParsedValues, overrides: ConfigOverrides = {}): Config {
  try {
    return loadProcessConfig({ DIRGATE_DATA_DIR: stringOption(values, 'data-dir'), ...overrides });
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
}

export function limitsOf(config: Config): LdapLimits {
  // The gateway's own folder for krb5.conf (src/app.ts): test-connection writes the same profile.
  return {
    ...config.ldap,
    dnsServers: config.dnsServers,
    kerberosFolder: path.join(config.dataDir, 'kerberos'),
  };
}

/** Refuses to go on with a data folder that was never used: a typo must not create an empty one. */
export function requireDataDir(config: Config): void {
  const marker = path.join(config.dataDir, SECRET_KEY_FILE);
  if (!existsSync(config.dataDir) || (!existsSync(marker) && !config.secretKey)) {
    throw new UsageError(
      `no dirgate data folder at ${config.dataDir} (start the gateway once, or pass --data-dir / DIRGATE_DATA_DIR)`,
    );
  }
}

export interface DataStores {
  readonly settings: SettingsStore;
  readonly cache: CacheStore;
  close(): Promise<void>;
}

export async function openStores(config: Config): Promise<DataStores> {
  requireDataDir(config);
  // Loaded here, not at the top: the commands that talk to a gateway start without SQLite.
  const [{ CacheStore }, { openKvStore }, { SettingsStore }] = await Promise.all([
    import('../store/cache-store.js'),
    import('../store/kv-store.js'),
    import('../store/settings-store.js'),
  ]);
  const settingsUri = config.configStore ?? `sqlite://${path.join(config.dataDir, 'settings.sqlite')}`;
  const settings = new SettingsStore(await openKvStore(settingsUri, 'dirgate-settings'));
  const cache = new CacheStore(
    await openKvStore(`sqlite://${path.join(config.dataDir, 'cache.sqlite')}`, 'dirgate-cache'),
  );
  return {
    settings,
    cache,
    async close() {
      await Promise.allSettled([settings.close(), cache.close()]);
    },
  };
}

/** The admin token as the gateway uses it: DIRGATE_ADMIN_TOKEN, else the data folder's file. */
export async function adminToken(config: Config): Promise<string> {
  if (config.adminToken) return config.adminToken;
  const file = path.join(config.dataDir, ADMIN_TOKEN_FILE);
  try {
    const token = (await readFile(file, 'utf8')).trim();
    if (token) return token;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  throw new UsageError(`no admin token in ${file} (start the gateway once, or set DIRGATE_ADMIN_TOKEN)`);
}

/** The gateway of this configuration, as a client reaches it. */
export function gatewayBase(config: Config, url?: string): string {
  const given = url ?? commandSettings().gatewayUrl;
  if (given) return given.replace(/\/graphql\/?$/, '').replace(/\/+$/, '');
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`;
}
