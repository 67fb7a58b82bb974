import { Client } from 'ldapts';
import { describe, expect, it } from 'vitest';
import { DirectoryLimitError } from '../../src/ldap/errors.js';
import { DEFAULT_LIMITS, EntryBudget, formatBytes } from '../../src/ldap/limits.js';
import { installReadBounds, MessageFramer, readFrameHeader } from '../../src/ldap/read-bounds.js';

const header = (...bytes: number[]) => readFrameHeader((i) => bytes[i]);

/** A framer that records what it delivers and why it refused. */
function framer(maxBytes: number) {
  const delivered: Buffer[] = [];
  const refused: unknown[] = [];
  const f = new MessageFramer(
    maxBytes,
    (m) => delivered.push(Buffer.from(m)),
    (r) => refused.push(r),
  );
  return { f, delivered, refused };
}

/** An LDAPMessage-shaped SEQUENCE with `n` content bytes. */
function message(n: number, fill = 0x41): Buffer {
  const content = Buffer.alloc(n, fill);
  if (n < 0x80) return Buffer.concat([Buffer.from([0x30, n]), content]);
  return Buffer.concat([Buffer.from([0x30, 0x82, n >> 8, n & 0xff]), content]);
}

describe('readFrameHeader', () => {
  it('reads short and long definite lengths, as unsigned (2 GiB is not negative)', () => {
    expect(header(0x30, 0x05)).toEqual({ kind: 'message', headerBytes: 2, contentBytes: 5 });
    expect(header(0x30, 0x82, 0x01, 0x00)).toEqual({ kind: 'message', headerBytes: 4, contentBytes: 256 });
    expect(header(0x30, 0x84, 0x80, 0x00, 0x00, 0x00)).toEqual({
      kind: 'message',
      headerBytes: 6,
      contentBytes: 2 ** 31,
    });
  });

  it('waits for a header cut short; refuses what LDAP does not allow', () => {
    expect(header(0x30)).toEqual({ kind: 'incomplete' });
    expect(header(0x30, 0x84, 0x80, 0x00)).toEqual({ kind: 'incomplete' });
    expect(header(0x04, 0x01)).toMatchObject({ kind: 'malformed' });
    expect(header(0x30, 0x80)).toMatchObject({ kind: 'malformed', detail: 'indefinite length' });
  });
});

describe('MessageFramer', () => {
  it('delivers whole messages one at a time, however the bytes are cut', () => {
    const messages = [message(3, 1), message(200, 2), message(0), message(90, 3)];
    const stream = Buffer.concat(messages);
    for (const cut of [1, 2, 7, 64, stream.length]) {
      const { f, delivered, refused } = framer(1024);
      for (let i = 0; i < stream.length; i += cut) f.push(stream.subarray(i, i + cut));
      expect(delivered).toEqual(messages);
      expect(refused).toEqual([]);
      expect(f.pendingBytes).toBe(0);
    }
  });

  it('refuses a 2 GiB length from its header: nothing kept, nothing read after', () => {
    const { f, delivered, refused } = framer(16 * 1024 * 1024);
    f.push(message(3));
    f.push(Buffer.from([0x30, 0x84, 0x80, 0x00, 0x00, 0x00, 0x02, 0x01, 0x05]));
    expect(refused).toEqual([{ length: 2 ** 31 }]);
    expect(f.pendingBytes).toBe(0);
    // What follows is dropped, not buffered: the peer cannot grow memory by trickling.
    for (let i = 0; i < 100; i++) f.push(Buffer.alloc(64 * 1024));
    expect(f.pendingBytes).toBe(0);
    expect(delivered).toEqual([message(3)]);
  });

  it('accepts a message of exactly the bound, refuses one byte more', () => {
    const ok = framer(200);
    ok.f.push(message(200));
    expect(ok.delivered).toHaveLength(1);
    const over = framer(200);
    over.f.push(message(201).subarray(0, 10));
    expect(over.refused).toEqual([{ length: 201 }]);
  });

  it('refuses bytes that are not an LDAP message', () => {
    const { f, refused } = framer(1024);
    f.push(Buffer.from([0x04, 0x01, 0x41]));
    expect(refused).toEqual([{ detail: 'tag 0x4' }]);
  });
});

describe('EntryBudget', () => {
  it('takes up to the bound across callers, then refuses with the setting named', () => {
    const budget = new EntryBudget({ ...DEFAULT_LIMITS, maxEntries: 2 });
    budget.take('ldap://a');
    budget.take('ldap://b');
    let refused: unknown;
    try {
      budget.take('ldap://a');
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(DirectoryLimitError);
    expect((refused as DirectoryLimitError).code).toBe('TOO_MANY_ENTRIES');
    expect((refused as Error).message).toBe(
      'search stopped at ldap://a: the directory sent more than 2 entries in one run, over the limit (DIRGATE_LDAP_MAX_ENTRIES)',
    );
  });
});

describe('installReadBounds', () => {
  it('finds the ldapts internals it hooks into (else connections are refused)', () => {
    const client = new Client({ url: 'ldap://127.0.0.1:1' });
    const bounds = installReadBounds(client, {
      limits: DEFAULT_LIMITS,
      budget: new EntryBudget(DEFAULT_LIMITS),
      server: 'ldap://127.0.0.1:1',
      onViolation: () => undefined,
    });
    expect(bounds).not.toBeNull();
    expect(bounds?.violation).toBeNull();
  });

  it('is null on a client without them', () => {
    expect(
      installReadBounds({} as Client, {
        limits: DEFAULT_LIMITS,
        budget: new EntryBudget(DEFAULT_LIMITS),
        server: 'x',
        onViolation: () => undefined,
      }),
    ).toBeNull();
  });

  it('formats the bound as operators set it', () => {
    expect(formatBytes(64 * 1024 * 1024)).toBe('64 MiB');
    expect(formatBytes(1536)).toBe('1536 bytes');
    expect(formatBytes(2048)).toBe('2 KiB');
  });
});
