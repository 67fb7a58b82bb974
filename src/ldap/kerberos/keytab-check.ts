/**
 * What dirgate checks when a keytab is uploaded (#17): that it is one it can
 * authenticate with, and what it holds, so that the connection can show
 * `keytabPrincipal` and an unusable file is refused at once, with the fix,
 * instead of failing at the first sync. Pure: it reads the bytes and decides;
 * storing the keytab (sealed) and using it for the GSSAPI bind come later.
 *
 * The rules, in order (each refusal is a KeytabError naming the keytab):
 *  1. a readable version-2 keytab (keytab.ts) with at least one entry;
 *  2. one realm: the realm is where the KDC is looked up, so a keytab of
 *     several realms has no single answer;
 *  3. no key of krbtgt (`krbtgt/…`, or `krbtgt@REALM` as Samba exports it):
 *     that is the realm's master secret, found only in a keytab exported for
 *     the whole domain (`samba-tool domain exportkeytab` without
 *     --principal), which must not be uploaded anywhere;
 *  4. one principal to authenticate as. A keytab of one principal: that one.
 *     A keytab of several: the one with a single component (`svc-dirgate`,
 *     `HOST$`) when exactly one has, the others being service names of the
 *     account (`msktutil` writes `HOST$` beside `host/…` and other SPNs, and
 *     a client logs in as the account, never as an SPN); the others are
 *     reported in a warning and ignored. Otherwise refused, listing them:
 *     guessing would bind as someone the administrator did not choose;
 *  5. the principal's newest key version (the KDC encrypts with the newest
 *     key, so older ones cannot log in) has a usable key (enctypes.ts):
 *     refused when no version has one (only weak or unknown enctypes), or
 *     when only older versions do (the password changed after the export);
 *  6. every key of a known enctype has that enctype's length.
 * Warnings, not refusals: RC4 as the only usable key, weak keys beside good
 * ones (ignored), other principals (ignored).
 */
import { enctypeInfo, isUsableEnctype } from './enctypes.js';
import { type KeytabEntry, KeytabError, parseKeytab } from './keytab.js';

export type KeytabWarningCode = 'RC4_ONLY' | 'WEAK_KEYS_IGNORED' | 'OTHER_PRINCIPALS_IGNORED';

export interface KeytabWarning {
  readonly code: KeytabWarningCode;
  readonly message: string;
}

/** What a usable keytab holds. Holds no key bytes: it may be logged and returned as is. */
export interface KeytabSummary {
  /** The principal dirgate authenticates as, e.g. `svc-dirgate@CORP.TEST`. */
  readonly principal: string;
  readonly realm: string;
  /** Its newest key version. */
  readonly kvno: number;
  /** The usable enctypes of that version (MIT names), in file order. */
  readonly enctypes: readonly string[];
  readonly warnings: readonly KeytabWarning[];
}

/**
 * The realm's key under each of its names: MIT's `krbtgt/REALM`, Samba's
 * and AD's account `krbtgt` (Samba exports it as `krbtgt@REALM`), and a
 * read-only DC's `krbtgt_NNNNN`.
 */
const KRBTGT = /^krbtgt(_\d+)?$/i;

/** At most this many names in one message; the rest as a count. */
const LISTED = 8;

function list(names: readonly string[]): string {
  const shown = names.slice(0, LISTED).join(', ');
  return names.length > LISTED ? `${shown} and ${names.length - LISTED} more` : shown;
}

function distinct<T>(values: Iterable<T>): T[] {
  return [...new Set(values)];
}

function enctypeNames(entries: readonly KeytabEntry[]): string[] {
  return distinct(entries.map((e) => enctypeInfo(e.enctype).name));
}

function choosePrincipal(entries: readonly KeytabEntry[]): { chosen: string; others: string[] } {
  const names = distinct(entries.map((e) => e.principal.name));
  if (names.length === 1) return { chosen: names[0]!, others: [] };
  const accounts = distinct(
    entries.filter((e) => e.principal.components.length === 1).map((e) => e.principal.name),
  );
  if (accounts.length === 1) {
    const chosen = accounts[0]!;
    return { chosen, others: names.filter((n) => n !== chosen) };
  }
  throw new KeytabError(
    'KEYTAB_SEVERAL_PRINCIPALS',
    `the keytab holds keys of ${names.length} principals (${list(names)}) and dirgate cannot tell which one to authenticate as: export the service account's keys only (samba-tool domain exportkeytab FILE --principal=ACCOUNT@REALM, ktpass, or ktutil: rkt, delent, wkt)`,
  );
}

// A loop, not Math.max(...): a 1 MiB keytab can hold tens of thousands of entries.
function highestKvno(entries: readonly KeytabEntry[]): number {
  let highest = 0;
  for (const entry of entries) if (entry.kvno > highest) highest = entry.kvno;
  return highest;
}

function checkKeyLengths(entries: readonly KeytabEntry[]): void {
  for (const entry of entries) {
    const { name, keyLength } = enctypeInfo(entry.enctype);
    if (keyLength !== null && entry.key.length !== keyLength) {
      throw new KeytabError(
        'KEYTAB_CORRUPT',
        `the keytab is corrupt: its ${name} key of ${entry.principal.name} (kvno ${entry.kvno}) is ${entry.key.length} bytes, not ${keyLength}; export the keytab again`,
      );
    }
  }
}

/** Parses and checks an uploaded keytab; throws KeytabError (with the fix) when dirgate cannot use it. */
export function checkKeytab(bytes: Uint8Array): KeytabSummary {
  const { entries } = parseKeytab(bytes);
  if (entries.length === 0) {
    throw new KeytabError(
      'KEYTAB_EMPTY',
      "the keytab holds no keys: export the service account's keys into it (ktpass, msktutil or samba-tool domain exportkeytab)",
    );
  }

  const realms = distinct(entries.map((e) => e.principal.realm));
  if (realms.length > 1) {
    throw new KeytabError(
      'KEYTAB_MIXED_REALMS',
      `the keytab holds keys of several realms (${list(realms)}); a connection authenticates in one realm: export the keys of one account only`,
    );
  }
  const realm = realms[0]!;

  const krbtgt = entries.find((e) => KRBTGT.test(e.principal.components[0]!));
  if (krbtgt) {
    throw new KeytabError(
      'KEYTAB_HOLDS_KRBTGT',
      `the keytab holds the realm's own key (${krbtgt.principal.name}), so it was exported for the whole domain: delete that file and export the service account's keys only (samba-tool domain exportkeytab FILE --principal=ACCOUNT@${realm})`,
    );
  }

  const { chosen, others } = choosePrincipal(entries);
  const own = entries.filter((e) => e.principal.name === chosen);
  checkKeyLengths(own);

  const kvno = highestKvno(own);
  const newest = own.filter((e) => e.kvno === kvno);
  const usable = newest.filter((e) => isUsableEnctype(e.enctype));
  if (usable.length === 0) {
    const older = own.filter((e) => e.kvno < kvno && isUsableEnctype(e.enctype));
    if (older.length > 0) {
      const olderKvno = highestKvno(older);
      throw new KeytabError(
        'KEYTAB_NO_KEY_FOR_CURRENT_KVNO',
        `the keytab has no usable key of ${chosen}'s newest key version ${kvno} (only ${list(enctypeNames(newest))}), only of the older version ${olderKvno}, which the KDC no longer accepts: export the keytab again, with AES keys`,
      );
    }
    throw new KeytabError(
      'KEYTAB_WEAK_ENCTYPES_ONLY',
      `the keytab holds only weak or unsupported keys for ${chosen} (${list(enctypeNames(own))}): enable AES for the account (msDS-SupportedEncryptionTypes) and export the keytab again with aes256-cts-hmac-sha1-96 keys`,
    );
  }

  const warnings: KeytabWarning[] = [];
  const usableNames = enctypeNames(usable);
  if (usable.every((e) => enctypeInfo(e.enctype).strength === 'deprecated')) {
    warnings.push({
      code: 'RC4_ONLY',
      message: `the keytab holds only RC4 (arcfour-hmac) keys for ${chosen}: accepted since AD still issues them, but RC4 is deprecated; enable AES for the account and export the keytab again`,
    });
  }
  const weak = newest.filter((e) => !isUsableEnctype(e.enctype));
  if (weak.length > 0) {
    warnings.push({
      code: 'WEAK_KEYS_IGNORED',
      message: `the keytab also holds ${list(enctypeNames(weak))} keys for ${chosen}; they are weak or unsupported and will not be used`,
    });
  }
  if (others.length > 0) {
    warnings.push({
      code: 'OTHER_PRINCIPALS_IGNORED',
      message: `the keytab also holds keys of ${list(others)}; dirgate authenticates as ${chosen} and ignores them`,
    });
  }
  return { principal: chosen, realm, kvno, enctypes: usableNames, warnings };
}
