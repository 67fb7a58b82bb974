/**
 * The command's output edge (src/cli/output.ts): text from a directory or
 * the API reaches the terminal without what a terminal would act on (#16),
 * while the command's own colours and layout stay.
 */
import { describe, expect, it } from 'vitest';
import { clean, fields, json, line, paint, Styled, table } from '../../src/cli/output.js';

/** Anything a terminal would act on: C0 but \n and \t, DEL, C1, the bidi controls. */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

const tty = { isTTY: true } as NodeJS.WriteStream;

describe('clean', () => {
  it.each([
    ['a CSI sequence (colour, clear screen, cursor moves)', 'a\u001b[31mb\u001b[2J\u001b[10;20Hc', 'abc'],
    ['an OSC window title ended by BEL', 'x\u001b]0;pwned\u0007y', 'xy'],
    ['an OSC hyperlink ended by ST', '\u001b]8;;http://evil.test\u001b\\link\u001b]8;;\u001b\\', 'link'],
    ['a DCS string', 'a\u001bPq#0;2;0;0;0\u001b\\b', 'ab'],
    ['two-character ESC sequences', 'a\u001bcb\u001b(Bc\u001b7d', 'abcd'],
    ['an unterminated OSC: its introducer', 'a\u001b]0;rest', 'a0;rest'],
    ['a lone ESC at the end', 'abc\u001b', 'abc'],
    ['8-bit CSI and OSC', 'a\u009b31mb\u009d0;t\u0007c', 'abc'],
    ['CR, backspace, bell, NUL, vertical tab, form feed', 'a\rb\bc\u0007d\u0000e\u000bf\u000cg', 'abcdefg'],
    ['DEL and the C1 controls', 'a\u007fb\u0085c\u009fd', 'abcd'],
    ['bidi overrides and isolates', 'a\u202ebc\u202c\u2066d\u2069\u202ae\u202d', 'abcde'],
  ])('removes %s', (_what, input, expected) => {
    expect(clean(input)).toBe(expected);
    expect(clean(input)).not.toMatch(CONTROL);
  });

  it('keeps text, newlines and tabs; inline turns newlines and tabs into spaces', () => {
    const text = 'Müller, Jürgen\tcn=Jürgen Müller,ou=Users\n日本語 🙂 [x] ~';
    expect(clean(text)).toBe(text);
    expect(clean('a\nb\tc', { inline: true })).toBe('a b c');
  });
});

describe('line, paint, table, fields', () => {
  const hostile = '\u001b]0;pwned\u0007Evil\u001b[2J\u202e';

  it('clean every value, keep the template and the painted codes', () => {
    const c = paint(tty);
    const out = line`${c.red(hostile)} said: ${hostile}`.text;
    expect(out).toBe('\u001b[31mEvil\u001b[0m said: Evil');
    // Only the command's own colour codes are left.
    expect(out.replace(/\u001b\[(?:31|0)m/g, '')).not.toMatch(CONTROL);
  });

  it('table cells and fields are cleaned and kept on one line', () => {
    const t = table(['NAME', 'VALUE'], [[hostile, 'multi\nline']]).text;
    expect(t).toBe('NAME  VALUE\nEvil  multi line');
    expect(
      fields([
        ['name', hostile],
        ['gone', null],
      ]).text,
    ).toBe('  name  Evil');
  });

  it('a Styled value is trusted as it is', () => {
    expect(line`${new Styled('\u001b[1mbold\u001b[0m')}`.text).toBe('\u001b[1mbold\u001b[0m');
  });
});

describe('json', () => {
  it('escapes every control, so that it is inert on a terminal, and keeps the value', () => {
    const value = { name: `${'\u001b]0;t\u0007'}a\u009b\u007f\u202e`, list: ['\u2066x'] };
    const out = json(value);
    expect(out).not.toMatch(CONTROL);
    expect(out).toContain('\\u009b');
    expect(JSON.parse(out)).toEqual(value);
  });
});
