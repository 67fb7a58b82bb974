/**
 * Seals bind passwords at rest with AES-256-GCM. The sealed form carries a
 * version, the nonce and the tag, so a wrong key or a tampered value fails
 * loudly instead of yielding garbage.
 *
 * A password is sealed for one connection and one endpoint: the cipher's
 * authenticated data (AAD) is the connection's id and every field that says
 * where and how the gateway binds (passwordBinding). A settings record
 * edited outside the API (its servers rewritten in Redis or in the SQLite
 * settings file) then no longer opens its password, instead of sending it
 * to another host.
 *
 * Formats, `.`-separated, base64 parts:
 * - `v2.<key id>.<nonce>.<tag>.<ciphertext>`: sealed with the binding as AAD;
 *   the key id (16 hex characters of the key check, which is stored in the
 *   settings anyway) tells a wrong key from a changed binding.
 * - `v1.<nonce>.<tag>.<ciphertext>`: sealed before bindings existed, without
 *   AAD. Still opened (read-only); every new seal is v2, so the next update
 *   with a password re-seals it.
 *
 * A KERBEROS connection's keytab (#17) is sealed the same way (v2 only), its
 * bytes as they are, bound to the same endpoint plus the KDCs it is shown to
 * (keytabBinding): the KDC sees proof of the key at every login, so a new
 * KDC needs the keytab again as a new server needs the password. Its AAD has
 * a label of its own, so a sealed keytab moved into the password field (or
 * the other way round) does not open.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ConnectionRecord } from '../model/connection.js';

const VERSION = 'v2';
const LEGACY_VERSION = 'v1';
const BINDING_LABEL = 'dirgate bind password binding v2';
const KEYTAB_BINDING_LABEL = 'dirgate keytab binding v1';
/** What the key check MACs: fixed, so that every node with the same key computes the same check. */
const KEY_CHECK_LABEL = 'dirgate secret key check v1';

/** The fields a sealed bind password is bound to: the connection and where and how it binds. */
export type PasswordBindingFields = Pick<
  ConnectionRecord,
  'id' | 'domain' | 'servers' | 'tls' | 'tlsVerify' | 'caCertificate' | 'bindDn' | 'allowPlaintextBind'
>;

/**
 * Where and how a connection binds, canonically encoded (a JSON array in a
 * fixed order): the servers in order, or the domain when the servers are
 * found by SRV discovery, the TLS mode, certificate verification, the CA
 * bundle and the bind name. Two settings bind alike exactly when their
 * endpoints are equal.
 */
export function bindEndpoint(c: Omit<PasswordBindingFields, 'id'>): string {
  return JSON.stringify([
    [...c.servers],
    c.servers.length === 0 ? c.domain : null,
    c.tls,
    c.tlsVerify,
    c.caCertificate,
    c.bindDn,
    // Appended only when set, so that passwords sealed before the setting existed still open;
    // a record edited to allow plaintext then fails to open instead of sending the password bare.
    ...(c.allowPlaintextBind === true ? ['plaintext bind allowed'] : []),
  ]);
}

/** The AAD of a connection's sealed password: a label, its id and its endpoint. */
export function passwordBinding(c: PasswordBindingFields): string {
  return JSON.stringify([BINDING_LABEL, c.id, bindEndpoint(c)]);
}

/** The fields a sealed keytab is bound to: a password's, and the KDCs. */
export type KeytabBindingFields = PasswordBindingFields & Pick<ConnectionRecord, 'kdcs'>;

/** Where a KERBEROS connection authenticates: its bind endpoint and the KDCs, in order. */
export function keytabEndpoint(c: Omit<KeytabBindingFields, 'id'>): string {
  return JSON.stringify([bindEndpoint(c), [...c.kdcs]]);
}

/** The AAD of a connection's sealed keytab. */
export function keytabBinding(c: KeytabBindingFields): string {
  return JSON.stringify([KEYTAB_BINDING_LABEL, c.id, keytabEndpoint(c)]);
}

/**
 * Why a sealed value did not open: its format, the key (another key sealed it), or its binding
 * (the key is right but the connection's settings are not those it was sealed for, or the value
 * itself was altered).
 */
export class SealedSecretError extends Error {
  constructor(
    readonly kind: 'FORMAT' | 'KEY' | 'BINDING',
    message: string,
  ) {
    super(message);
    this.name = 'SealedSecretError';
  }
}

export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('SecretBox needs a 256-bit key');
  }

  /** Seals `plain` for the connection `binding` (its id and endpoint as AAD). */
  seal(plain: string, binding: PasswordBindingFields): string {
    return this.encrypt(Buffer.from(plain, 'utf8'), passwordBinding(binding));
  }

  /** Seals a keytab file's bytes for the connection `binding` (keytabBinding as AAD). */
  sealKeytab(keytab: Uint8Array, binding: KeytabBindingFields): string {
    return this.encrypt(keytab, keytabBinding(binding));
  }

  /** Opens a keytab sealed for `binding`; throws SealedSecretError when it does not open. */
  openKeytab(sealed: string, binding: KeytabBindingFields): Buffer {
    const parts = sealed.split('.');
    if (parts[0] !== VERSION || parts.length !== 5) {
      throw new SealedSecretError('FORMAT', 'sealed keytab has an unknown format');
    }
    return this.openBound(parts, keytabBinding(binding));
  }

  private encrypt(plain: Uint8Array, aad: string): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return [
      VERSION,
      this.keyId(),
      nonce.toString('base64'),
      cipher.getAuthTag().toString('base64'),
      body.toString('base64'),
    ].join('.');
  }

  /**
   * HMAC-SHA256 of a fixed label under the key (hex): stored beside the sealed values so that a
   * node can tell at start whether its key is the one they were sealed with. It shows nothing of
   * the key (HMAC is a one-way function of it).
   */
  keyCheck(): string {
    return createHmac('sha256', this.key).update(KEY_CHECK_LABEL).digest('hex');
  }

  /** Whether `check` is this key's keyCheck(); in constant time, as any comparison with a MAC. */
  matchesKeyCheck(check: unknown): boolean {
    // It comes from a shared store: anything but a well-formed check simply does not match.
    if (typeof check !== 'string' || !/^[0-9a-f]{64}$/.test(check)) return false;
    return timingSafeEqual(Buffer.from(check, 'hex'), Buffer.from(this.keyCheck(), 'hex'));
  }

  /**
   * Opens a value sealed for `binding`; throws SealedSecretError when it does not open. A v1
   * value (sealed before bindings) opens whatever the binding.
   */
  open(sealed: string, binding: PasswordBindingFields): string {
    const parts = sealed.split('.');
    if (parts[0] === LEGACY_VERSION && parts.length === 4) {
      const [, nonce = '', tag = '', body = ''] = parts;
      return this.decrypt(nonce, tag, body, null, 'KEY').toString('utf8');
    }
    if (parts[0] === VERSION && parts.length === 5) {
      return this.openBound(parts, passwordBinding(binding)).toString('utf8');
    }
    throw new SealedSecretError('FORMAT', 'sealed secret has an unknown format');
  }

  /** A v2 value's parts (version, key id, nonce, tag, body) opened with `aad`. */
  private openBound(parts: readonly string[], aad: string): Buffer {
    const [, keyId, nonce = '', tag = '', body = ''] = parts;
    if (keyId !== this.keyId()) throw new SealedSecretError('KEY', 'sealed with another secret key');
    return this.decrypt(nonce, tag, body, aad, 'BINDING');
  }

  /** The format version of a sealed value (`v1`: no binding; `v2`: bound), or null when it is none. */
  static version(sealed: string): 'v1' | 'v2' | null {
    const parts = sealed.split('.');
    if (parts[0] === LEGACY_VERSION && parts.length === 4) return 'v1';
    if (parts[0] === VERSION && parts.length === 5) return 'v2';
    return null;
  }

  private keyId(): string {
    return this.keyCheck().slice(0, 16);
  }

  private decrypt(
    nonce: string,
    tag: string,
    body: string,
    aad: string | null,
    failure: 'KEY' | 'BINDING',
  ): Buffer {
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(nonce, 'base64'), {
        authTagLength: 16,
      });
      if (aad !== null) decipher.setAAD(Buffer.from(aad, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]);
    } catch {
      throw new SealedSecretError(
        failure,
        failure === 'KEY'
          ? 'does not open with this secret key (or was altered)'
          : "does not match this connection's settings (or was altered)",
      );
    }
  }
}
