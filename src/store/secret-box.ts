/**
 * Seals bind passwords at rest with AES-256-GCM. The sealed form carries a
 * version, the nonce and the tag, so a wrong key or a tampered value fails
 * loudly instead of yielding garbage.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const VERSION = 'v1';
/** What the key check MACs: fixed, so that every node with the same key computes the same check. */
const KEY_CHECK_LABEL = 'dirgate secret key check v1';

export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('SecretBox needs a 256-bit key');
  }

  seal(plain: string): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [
      VERSION,
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

  open(sealed: string): string {
    const [version, nonce, tag, body] = sealed.split('.');
    if (version !== VERSION || nonce === undefined || tag === undefined || body === undefined) {
      throw new Error('sealed secret has an unknown format');
    }
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(nonce, 'base64'));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
  }
}
