/**
 * Kerberos encryption types as a keytab names them (RFC 3961 numbers), and
 * whether dirgate will authenticate with a key of each.
 *
 * The classes follow MIT krb5's own table (doc/admin/enctypes.rst: "weak",
 * "deprecated", the rest) and what Active Directory and Samba issue:
 *  - strong: the AES family (17, 18; 19 and 20 are MIT-only) and Camellia
 *    (25, 26, MIT-only); used without comment.
 *  - deprecated: arcfour-hmac (23, "RC4-HMAC"). MIT still permits it by
 *    default (it only flags it), AD and Samba still issue and export it (a
 *    Samba exportkeytab holds aes256, aes128 and rc4), and accounts created
 *    before AES was enabled may have nothing else. Accepted, with a warning.
 *  - weak: single DES (1, 2, 3: removed from MIT in 1.18, disabled in
 *    Windows since 7), arcfour-hmac-exp (24: 40-bit, "weak" in MIT, dropped
 *    unless allow_weak_crypto) and des3-cbc-sha1 (16: deprecated in MIT,
 *    never supported by Windows, so a KDC of AD cannot use it). A keytab
 *    with only these is refused: MIT's client would not use the keys anyway,
 *    and the refusal at upload says why instead of a failed bind later.
 * Anything else is unknown: neither MIT nor AD would use it.
 */

export type EnctypeStrength = 'strong' | 'deprecated' | 'weak' | 'unknown';

export interface EnctypeInfo {
  /** MIT krb5's name (`klist -e` prints it), or `enctype-N` when unknown. */
  readonly name: string;
  readonly strength: EnctypeStrength;
  /** Length of a key of this type in bytes; null when unknown. */
  readonly keyLength: number | null;
}

const KNOWN: ReadonlyMap<number, EnctypeInfo> = new Map([
  [1, { name: 'des-cbc-crc', strength: 'weak', keyLength: 8 }],
  [2, { name: 'des-cbc-md4', strength: 'weak', keyLength: 8 }],
  [3, { name: 'des-cbc-md5', strength: 'weak', keyLength: 8 }],
  [16, { name: 'des3-cbc-sha1', strength: 'weak', keyLength: 24 }],
  [17, { name: 'aes128-cts-hmac-sha1-96', strength: 'strong', keyLength: 16 }],
  [18, { name: 'aes256-cts-hmac-sha1-96', strength: 'strong', keyLength: 32 }],
  [19, { name: 'aes128-cts-hmac-sha256-128', strength: 'strong', keyLength: 16 }],
  [20, { name: 'aes256-cts-hmac-sha384-192', strength: 'strong', keyLength: 32 }],
  [23, { name: 'arcfour-hmac', strength: 'deprecated', keyLength: 16 }],
  [24, { name: 'arcfour-hmac-exp', strength: 'weak', keyLength: 16 }],
  [25, { name: 'camellia128-cts-cmac', strength: 'strong', keyLength: 16 }],
  [26, { name: 'camellia256-cts-cmac', strength: 'strong', keyLength: 32 }],
]);

export function enctypeInfo(enctype: number): EnctypeInfo {
  return KNOWN.get(enctype) ?? { name: `enctype-${enctype}`, strength: 'unknown', keyLength: null };
}

/** A key dirgate authenticates with: strong or deprecated (RC4), never weak or unknown. */
export function isUsableEnctype(enctype: number): boolean {
  const { strength } = enctypeInfo(enctype);
  return strength === 'strong' || strength === 'deprecated';
}
