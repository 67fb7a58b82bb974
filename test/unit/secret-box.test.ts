import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretBox } from '../../src/store/secret-box.js';

const box = new SecretBox(randomBytes(32));

/** Flips one bit of the base64 part `index` (1 nonce, 2 tag, 3 body) of a sealed value. */
function tamper(sealed: string, index: number): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[index] ?? '', 'base64');
  bytes[0] = (bytes[0] ?? 0) ^ 0x01;
  parts[index] = bytes.toString('base64');
  return parts.join('.');
}

describe('SecretBox', () => {
  it.each(['s3cret!', '', 'pässwörd 😀', 'x'.repeat(1024)])('opens what it sealed (%#)', (plain) => {
    expect(box.open(box.seal(plain))).toBe(plain);
  });

  it('does not show the password in the sealed form', () => {
    const sealed = box.seal('correct horse battery staple');
    expect(sealed).not.toContain('correct horse');
    expect(sealed).not.toContain(Buffer.from('correct horse battery staple').toString('base64'));
    expect(sealed.startsWith('v1.')).toBe(true);
  });

  it('seals the same password differently each time', () => {
    const a = box.seal('same');
    const b = box.seal('same');
    expect(a).not.toBe(b);
    expect(a.split('.')[1]).not.toBe(b.split('.')[1]);
    expect(box.open(a)).toBe('same');
    expect(box.open(b)).toBe('same');
  });

  it('refuses to open with another key', () => {
    const sealed = box.seal('s3cret');
    expect(() => new SecretBox(randomBytes(32)).open(sealed)).toThrow();
  });

  it('opens with another box holding the same key', () => {
    const key = randomBytes(32);
    expect(new SecretBox(Buffer.from(key)).open(new SecretBox(key).seal('s3cret'))).toBe('s3cret');
  });

  it.each([
    [1, 'nonce'],
    [2, 'tag'],
    [3, 'ciphertext'],
  ])('refuses a value whose %s was tampered with (%s)', (index) => {
    const sealed = box.seal('s3cret password');
    expect(() => box.open(tamper(sealed, index))).toThrow();
  });

  it.each(['', 'plain text', 'v2.a.b.c', 'v1.onlynonce', 'v1.a.b'])('refuses the malformed value %j', (v) => {
    expect(() => box.open(v)).toThrow();
  });

  it('computes a key check that is the same for the same key, differs for another, and is not the key', () => {
    const key = randomBytes(32);
    const check = new SecretBox(key).keyCheck();
    expect(check).toMatch(/^[0-9a-f]{64}$/);
    expect(new SecretBox(Buffer.from(key)).keyCheck()).toBe(check);
    expect(new SecretBox(Buffer.from(key)).matchesKeyCheck(check)).toBe(true);
    expect(new SecretBox(randomBytes(32)).matchesKeyCheck(check)).toBe(false);
    expect(check).not.toContain(key.toString('hex'));
  });

  it.each([undefined, null, 42, '', 'zz', 'ab'.repeat(31), 'AB'.repeat(32)])(
    'does not match a malformed key check %j',
    (check) => {
      expect(box.matchesKeyCheck(check)).toBe(false);
    },
  );

  it('needs a 256-bit key', () => {
    expect(() => new SecretBox(randomBytes(16))).toThrow('256-bit');
    expect(() => new SecretBox(Buffer.alloc(0))).toThrow('256-bit');
  });
});
