/**
 * The secret key decided against the settings it must open, before anything
 * is served. Sealed bind passwords are only as good as the key that opens
 * them, and a wrong key is otherwise found out much later, when a sync
 * fails to decrypt (one connection at a time, on one node of a cluster).
 * So, at start:
 *
 * - no key (no file, no DIRGATE_SECRET_KEY) while the settings hold sealed
 *   passwords or a key check: refuse, and generate nothing (a new key would
 *   lose them all);
 * - a key check in the settings (an HMAC of a fixed label under the key the
 *   values were sealed with, SecretBox.keyCheck()) that this key does not
 *   match: refuse (another node's key, or a replaced key file);
 * - no key check yet (a new store, or one from before key checks): the key
 *   must open one of the sealed passwords, if there are any; then its check
 *   is written, and later starts (of every node sharing the settings) are
 *   held to it.
 *
 * A key that is truly lost is given up only explicitly: a refused start
 * prints a fingerprint of what it found, and a start with
 * DIRGATE_FORGET_BIND_PASSWORDS set to it discards the passwords the key in
 * use cannot open (each connection then needs its password set again) and
 * makes that key the settings' key. The fingerprint changes with the
 * settings, so a variable left set does nothing on later starts.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Config } from '../config/environment.js';
import { loadSecrets, SECRET_KEY_FILE, type Secrets, SecretsError } from '../config/secrets.js';
import type { ConnectionRecord } from '../model/connection.js';
import type { Logger } from '../model/logger.js';
import { SecretBox } from './secret-box.js';
import type { KeyCheckRecord, SettingsStore } from './settings-store.js';

/** Start-up refused: the key at hand does not fit the sealed values of the settings. */
export class KeyCheckError extends SecretsError {
  constructor(message: string) {
    super(message);
    this.name = 'KeyCheckError';
  }
}

type Sealed = ConnectionRecord & { readonly bindPasswordSealed: string };

interface SealedState {
  readonly record: KeyCheckRecord | undefined;
  readonly sealed: readonly Sealed[];
  /** Names exactly this state: DIRGATE_FORGET_BIND_PASSWORDS must repeat it. */
  readonly fingerprint: string;
}

async function readSealedState(settings: SettingsStore): Promise<SealedState> {
  const record = await settings.getKeyCheck();
  const sealed = (await settings.listConnections()).filter((c): c is Sealed => c.bindPasswordSealed !== null);
  const hash = createHash('sha256').update(record?.mac ?? '-');
  for (const line of sealed.map((c) => `${c.id} ${c.bindPasswordSealed}`).sort()) hash.update(`\n${line}`);
  return { record, sealed, fingerprint: hash.digest('hex').slice(0, 16) };
}

/** Whether the key opens the connection's password (for its own settings: the binding is the AAD). */
function opens(box: SecretBox, c: Sealed): boolean {
  try {
    box.open(c.bindPasswordSealed, c);
    return true;
  } catch {
    return false;
  }
}

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

/**
 * The admin token and the secret key (src/config/secrets.ts), with the key
 * checked against `settings` as described above. Throws KeyCheckError when
 * the start must not go on.
 */
export async function loadCheckedSecrets(
  config: Config,
  settings: SettingsStore,
  logger: Logger,
): Promise<Secrets> {
  const state = await readSealedState(settings);
  const forget = config.forgetBindPasswords === state.fingerprint;
  const where = config.configStore
    ? 'the shared settings (DIRGATE_CONFIG_STORE)'
    : `the settings in ${config.dataDir}`;
  const holds = [
    state.sealed.length > 0
      ? plural(state.sealed.length, 'sealed bind password', 'sealed bind passwords')
      : '',
    state.record
      ? `a key check of the key their values were sealed with (written by ${state.record.node})`
      : '',
  ]
    .filter((s) => s !== '')
    .join(' and ');
  const lastResort = (effect: string): string =>
    `If that key is truly lost, start once with DIRGATE_FORGET_BIND_PASSWORDS=${state.fingerprint}: ${effect}, ` +
    `${plural(state.sealed.length, 'sealed bind password is', 'sealed bind passwords are')} discarded, and each ` +
    'connection needs its bind password set again (updateConnection).';

  const secrets = await loadSecrets(config, {
    async beforeNewKey(file) {
      if ((state.record === undefined && state.sealed.length === 0) || forget) return;
      throw new KeyCheckError(
        `${file} is missing and DIRGATE_SECRET_KEY is not set, but ${where} hold ${holds}: a new key ` +
          `would not fit them, so none was generated. Restore ${file} from a backup (or copy it from ` +
          'another node sharing the settings), or set DIRGATE_SECRET_KEY to the key they were sealed with. ' +
          lastResort('a new key is generated'),
      );
    },
  });
  const box = new SecretBox(secrets.secretKey);
  const thisKey = config.secretKey
    ? "this node's DIRGATE_SECRET_KEY"
    : `this node's secret key (${path.join(config.dataDir, SECRET_KEY_FILE)})`;
  const cluster = config.configStore ? '; every node sharing DIRGATE_CONFIG_STORE needs the same key' : '';

  let refusal: string | null = null;
  if (state.record && !box.matchesKeyCheck(state.record.mac)) {
    refusal =
      `${thisKey} differs from the key ${where} were sealed with (key check written by ` +
      `${state.record.node} at ${state.record.writtenAt})${cluster}.`;
  } else if (!state.record && state.sealed.length > 0 && !state.sealed.some((c) => opens(box, c))) {
    refusal = `${thisKey} opens none of the ${plural(state.sealed.length, 'bind password', 'bind passwords')} sealed in ${where}${cluster}.`;
  }

  if (refusal !== null && !forget) {
    throw new KeyCheckError(
      `${refusal} Start it with the key the settings were sealed with (DIRGATE_SECRET_KEY, or the ` +
        `secret-key file of the data folder). ${lastResort('this key becomes the key of the settings')}`,
    );
  }
  if (refusal !== null) {
    // Asked for, with the fingerprint of exactly this state: what this key cannot open is lost anyway.
    for (const c of state.sealed) {
      if (opens(box, c)) continue;
      await settings.putConnection({ ...c, bindPasswordSealed: null, updatedAt: new Date().toISOString() });
      logger.warn(
        { connectionId: c.id, connection: c.name },
        'bind password discarded (DIRGATE_FORGET_BIND_PASSWORDS): set it again',
      );
    }
  } else if (config.forgetBindPasswords !== null) {
    logger.warn(
      {},
      'DIRGATE_FORGET_BIND_PASSWORDS is set, but this key fits the settings: nothing discarded; unset it',
    );
  }
  if (refusal !== null || !state.record) await writeKeyCheck(settings, box, config.nodeName, where);
  return secrets;
}

async function writeKeyCheck(
  settings: SettingsStore,
  box: SecretBox,
  node: string,
  where: string,
): Promise<void> {
  await settings.putKeyCheck({ mac: box.keyCheck(), node, writtenAt: new Date().toISOString() });
  // Two nodes with different keys starting at once on a new store: the one whose check was
  // overwritten finds out here instead of at its next start.
  const stored = await settings.getKeyCheck();
  if (!stored || !box.matchesKeyCheck(stored.mac)) {
    throw new KeyCheckError(
      `another node (${stored?.node ?? 'unknown'}) wrote the key check of ${where} with a different secret key ` +
        'at the same time; every node sharing DIRGATE_CONFIG_STORE needs the same key',
    );
  }
}
