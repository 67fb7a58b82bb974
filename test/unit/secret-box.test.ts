import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  bindEndpoint,
  type PasswordBindingFields,
  passwordBinding,
  SealedSecretError,
  SecretBox,
} from '../../src/store/secret-box.js';

const key = randomBytes(32);
const box = new SecretBox(key);
const binding: PasswordBindingFields = {
  id: 'c0ffee00-0000-4000-8000-000000000001',
  domain: 'corp.test',
  servers: ['ldaps://dc1.corp.test', 'ldaps://dc2.corp.test'],
  tls: 'LDAPS',
  tlsVerify: true,
  caCertificate: null,
  bindDn: 'cn=reader,dc=corp,dc=test',
  allowPlaintextBind: false,
};
const srv: PasswordBindingFields = { ...binding, servers: [], tls: 'STARTTLS' };

/** A value as the SecretBox before bindings sealed it (v1: no AAD, no key id). */
function sealV1(k: Buffer, plain: string): string {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', k, nonce);
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return [
    'v1',
    nonce.toString('base64'),
    cipher.getAuthTag().toString('base64'),
    body.toString('base64'),
  ].join('.');
}

function kindOf(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    return err instanceof SealedSecretError ? err.kind : `other: ${String(err)}`;
  }
  return 'opened';
}

/** Flips one bit of the base64 part `index` (2 nonce, 3 tag, 4 body) of a sealed value. */
function tamper(sealed: string, index: number): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[index] ?? '', 'base64');
  bytes[0] = (bytes[0] ?? 0) ^ 0x01;
  parts[index] = bytes.toString('base64');
  return parts.join('.');
}

describe('SecretBox', () => {
  it.each(['s3cret!', '', 'pässwörd 😀', 'x'.repeat(1024)])('opens what it sealed (%#)', (plain) => {
    expect(box.open(box.seal(plain, binding), binding)).toBe(plain);
  });

  it('does not show the password in the sealed form', () => {
    const sealed = box.seal('correct horse battery staple', binding);
    expect(sealed).not.toContain('correct horse');
    expect(sealed).not.toContain(Buffer.from('correct horse battery staple').toString('base64'));
    expect(sealed.startsWith('v2.')).toBe(true);
    expect(SecretBox.version(sealed)).toBe('v2');
  });

  it('seals the same password differently each time', () => {
    const a = box.seal('same', binding);
    const b = box.seal('same', binding);
    expect(a).not.toBe(b);
    expect(a.split('.')[2]).not.toBe(b.split('.')[2]);
    expect(box.open(a, binding)).toBe('same');
    expect(box.open(b, binding)).toBe('same');
  });

  it('refuses to open with another key', () => {
    const sealed = box.seal('s3cret', binding);
    expect(kindOf(() => new SecretBox(randomBytes(32)).open(sealed, binding))).toBe('KEY');
  });

  it('opens with another box holding the same key', () => {
    const k = randomBytes(32);
    expect(new SecretBox(Buffer.from(k)).open(new SecretBox(k).seal('s3cret', binding), binding)).toBe(
      's3cret',
    );
  });

  it.each([
    [2, 'nonce'],
    [3, 'tag'],
    [4, 'ciphertext'],
  ])('refuses a value whose %s was tampered with (%s)', (index) => {
    const sealed = box.seal('s3cret password', binding);
    expect(() => box.open(tamper(sealed, index), binding)).toThrow(SealedSecretError);
  });

  it('refuses a tag cut short (no forgery by truncation)', () => {
    const parts = box.seal('s3cret password', binding).split('.');
    parts[3] = Buffer.from(parts[3] ?? '', 'base64')
      .subarray(0, 4)
      .toString('base64');
    expect(() => box.open(parts.join('.'), binding)).toThrow(SealedSecretError);
  });

  it.each(['', 'plain text', 'v2.a.b.c', 'v3.a.b.c.d', 'v1.onlynonce', 'v1.a.b', 'v2.a.b.c.d.e'])(
    'refuses the malformed value %j',
    (v) => {
      expect(kindOf(() => box.open(v, binding))).toBe('FORMAT');
    },
  );

  describe('bound to its connection and endpoint (AAD)', () => {
    const sealed = box.seal('s3cret', binding);
    it.each<[string, Partial<PasswordBindingFields>]>([
      ['another connection id', { id: 'c0ffee00-0000-4000-8000-000000000002' }],
      ['another server', { servers: ['ldaps://evil.example'] }],
      ['the servers in another order', { servers: ['ldaps://dc2.corp.test', 'ldaps://dc1.corp.test'] }],
      ['one server less', { servers: ['ldaps://dc1.corp.test'] }],
      ['SRV discovery instead of servers', { servers: [] }],
      ['another TLS mode', { tls: 'STARTTLS' }],
      ['verification off', { tlsVerify: false }],
      ['a CA bundle', { caCertificate: '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----' }],
      ['another bind DN', { bindDn: 'cn=admin,dc=corp,dc=test' }],
      ['an anonymous bind', { bindDn: null }],
      ['a plaintext bind allowed', { allowPlaintextBind: true }],
    ])('does not open for %s', (_what, change) => {
      expect(kindOf(() => box.open(sealed, { ...binding, ...change }))).toBe('BINDING');
    });

    it('opens a password sealed before allowPlaintextBind existed (no field) for a record that keeps it off', () => {
      const { allowPlaintextBind: _, ...before } = binding;
      const old = box.seal('s3cret', before as PasswordBindingFields);
      expect(box.open(old, binding)).toBe('s3cret');
      expect(kindOf(() => box.open(old, { ...binding, allowPlaintextBind: true }))).toBe('BINDING');
    });

    it('ignores the domain while servers are named, and binds it under SRV discovery', () => {
      expect(box.open(sealed, { ...binding, domain: 'other.test' })).toBe('s3cret');
      const bySrv = box.seal('s3cret', srv);
      expect(box.open(bySrv, srv)).toBe('s3cret');
      expect(kindOf(() => box.open(bySrv, { ...srv, domain: 'evil.example' }))).toBe('BINDING');
    });

    it('encodes the binding canonically: no two endpoints share an encoding', () => {
      // A comma inside a value cannot pass for a separator, null is not "null".
      const a = bindEndpoint({ ...binding, servers: ['ldap://a,ldap://b'] });
      const b = bindEndpoint({ ...binding, servers: ['ldap://a', 'ldap://b'] });
      expect(a).not.toBe(b);
      expect(bindEndpoint({ ...binding, bindDn: null })).not.toBe(
        bindEndpoint({ ...binding, bindDn: 'null' }),
      );
      expect(passwordBinding(binding)).toBe(passwordBinding({ ...binding, servers: [...binding.servers] }));
      expect(passwordBinding(binding)).toContain(binding.id);
    });

    it('cannot be downgraded to the unbound v1 format', () => {
      const [, , nonce, tag, body] = sealed.split('.');
      expect(kindOf(() => box.open(['v1', nonce, tag, body].join('.'), binding))).toBe('KEY');
    });

    it('tells a wrong key from a changed binding', () => {
      expect(kindOf(() => new SecretBox(randomBytes(32)).open(sealed, binding))).toBe('KEY');
      expect(kindOf(() => box.open(sealed, { ...binding, bindDn: 'cn=x' }))).toBe('BINDING');
    });
  });

  describe('values sealed before bindings (v1)', () => {
    it('still open, whatever the binding (read-only: new seals are v2)', () => {
      const old = sealV1(key, 'old password');
      expect(SecretBox.version(old)).toBe('v1');
      expect(box.open(old, binding)).toBe('old password');
      expect(box.open(old, { ...binding, servers: ['ldap://elsewhere'] })).toBe('old password');
      expect(SecretBox.version(box.seal('old password', binding))).toBe('v2');
    });

    it('refuse another key, and tampering', () => {
      const old = sealV1(key, 'old password');
      expect(kindOf(() => new SecretBox(randomBytes(32)).open(old, binding))).toBe('KEY');
      const parts = old.split('.');
      const bytes = Buffer.from(parts[3] ?? '', 'base64');
      bytes[0] = (bytes[0] ?? 0) ^ 1;
      parts[3] = bytes.toString('base64');
      expect(kindOf(() => box.open(parts.join('.'), binding))).toBe('KEY');
    });
  });

  it('computes a key check that is the same for the same key, differs for another, and is not the key', () => {
    const k = randomBytes(32);
    const check = new SecretBox(k).keyCheck();
    expect(check).toMatch(/^[0-9a-f]{64}$/);
    expect(new SecretBox(Buffer.from(k)).keyCheck()).toBe(check);
    expect(new SecretBox(Buffer.from(k)).matchesKeyCheck(check)).toBe(true);
    expect(new SecretBox(randomBytes(32)).matchesKeyCheck(check)).toBe(false);
    expect(check).not.toContain(k.toString('hex'));
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
