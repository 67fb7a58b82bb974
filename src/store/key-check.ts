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
 *   must open one of the sealed passwords or keytabs (KERBEROS connections
 *   seal their keytab the same way), if there are any; then its check
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

/** A connection with a sealed bind password, a sealed keytab (KERBEROS, #17), or both. */
type Sealed = ConnectionRecord;

interface SealedState {
  readonly record: KeyCheckRecord | undefined;
  readonly sealed: readonly Sealed[];
  /** Names exactly this state: DIRGATE_FORGET_BIND_PASSWORDS must repeat it. */
  readonly fingerprint: string;
}

async function readSealedState(settings: SettingsStore): Promise<SealedState> {
  const record = await settings.getKeyCheck();
  const sealed = (await settings.listConnections()).filter(
    (c) => c.bindPasswordSealed !== null || c.keytabSealed !== null,
  );
  const hash = createHash('sha256').update(record?.mac ?? '-');
  // A keytab adds a line of its own, so that the fingerprint of settings without one is unchanged.
  const lines = sealed.flatMap((c) => [
    ...(c.bindPasswordSealed !== null ? [`${c.id} ${c.bindPasswordSealed}`] : []),
    ...(c.keytabSealed !== null ? [`${c.id} keytab ${c.keytabSealed}`] : []),
  ]);
  for (const line of lines.sort()) hash.update(`\n${line}`);
  return { record, sealed, fingerprint: hash.digest('hex').slice(0, 16) };
}

/** Whether the key opens the connection's password (for its own settings: the binding is the AAD). */
function opensPassword(box: SecretBox, c: Sealed): boolean {
  if (c.bindPasswordSealed === null) return false;
  try {
    box.open(c.bindPasswordSealed, c);
    return true;
  } catch {
    return false;
  }
}

/** Whether the key opens the connection's keytab (for its own settings). */
function opensKeytab(box: SecretBox, c: Sealed): boolean {
  if (c.keytabSealed === null) return false;
  try {
    box.openKeytab(c.keytabSealed, c);
    return true;
  } catch {
    return false;
  }
}

/** Whether the key opens every sealed value of the connection. */
function opensAll(box: SecretBox, c: Sealed): boolean {
  return (
    (c.bindPasswordSealed === null || opensPassword(box, c)) &&
    (c.keytabSealed === null || opensKeytab(box, c))
  );
}

function opensAny(box: SecretBox, c: Sealed): boolean {
  return opensPassword(box, c) || opensKeytab(box, c);
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
  const passwords = state.sealed.filter((c) => c.bindPasswordSealed !== null).length;
  const keytabs = state.sealed.filter((c) => c.keytabSealed !== null).length;
  const sealedValues = [
    passwords > 0 ? plural(passwords, 'sealed bind password', 'sealed bind passwords') : '',
    keytabs > 0 ? plural(keytabs, 'sealed keytab', 'sealed keytabs') : '',
  ]
    .filter((s) => s !== '')
    .join(' and ');
  const holds = [
    sealedValues,
    state.record
      ? `a key check of the key their values were sealed with (written by ${state.record.node})`
      : '',
  ]
    .filter((s) => s !== '')
    .join(' and ');
  const lastResort = (effect: string): string =>
    `If that key is truly lost, start once with DIRGATE_FORGET_BIND_PASSWORDS=${state.fingerprint}: ${effect}, ` +
    `${sealedValues || '0 sealed bind passwords'} ${passwords + keytabs === 1 ? 'is' : 'are'} discarded, and each connection needs its ` +
    `${keytabs > 0 ? 'bind password or keytab' : 'bind password'} set again (updateConnection).`;

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
  } else if (!state.record && state.sealed.length > 0 && !state.sealed.some((c) => opensAny(box, c))) {
    const what = [
      passwords > 0 ? plural(passwords, 'bind password', 'bind passwords') : '',
      keytabs > 0 ? plural(keytabs, 'keytab', 'keytabs') : '',
    ]
      .filter((s) => s !== '')
      .join(' and ');
    refusal = `${thisKey} opens none of the ${what} sealed in ${where}${cluster}.`;
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
      if (opensAll(box, c)) continue;
      const dropPassword = c.bindPasswordSealed !== null && !opensPassword(box, c);
      const dropKeytab = c.keytabSealed !== null && !opensKeytab(box, c);
      await settings.putConnection({
        ...c,
        bindPasswordSealed: dropPassword ? null : c.bindPasswordSealed,
        keytabSealed: dropKeytab ? null : c.keytabSealed,
        keytabPrincipal: dropKeytab ? null : c.keytabPrincipal,
        updatedAt: new Date().toISOString(),
      });
      if (dropPassword) {
        logger.warn(
          { connectionId: c.id, connection: c.name },
          'bind password discarded (DIRGATE_FORGET_BIND_PASSWORDS): set it again',
        );
      }
      if (dropKeytab) {
        logger.warn(
          { connectionId: c.id, connection: c.name },
          'keytab discarded (DIRGATE_FORGET_BIND_PASSWORDS): upload it again',
        );
      }
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
