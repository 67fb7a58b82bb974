/**
 * Distinguished names (RFC 4514) parsed and normalized, so that
 * `OU=Staff, DC=corp,DC=test` and `ou=staff,dc=corp,dc=test` compare equal.
 */

export interface Rdn {
  readonly type: string;
  readonly value: string;
}

export class DnSyntaxError extends Error {
  constructor(
    readonly dn: string,
    message: string,
  ) {
    super(message);
    this.name = 'DnSyntaxError';
  }
}

const TYPE = /^([A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)*)$/;

/** Parses a DN into its RDNs (multi-valued RDNs are kept as separate attribute-value pairs). */
export function parseDn(dn: string): Rdn[][] {
  const rdns: Rdn[][] = [];
  let i = 0;
  const n = dn.length;
  if (dn.trim() === '') throw new DnSyntaxError(dn, 'is empty');
  while (i < n) {
    const rdn: Rdn[] = [];
    for (;;) {
      while (i < n && dn[i] === ' ') i++;
      const eq = dn.indexOf('=', i);
      if (eq < 0) throw new DnSyntaxError(dn, `expected "=" after position ${i}`);
      const type = dn.slice(i, eq).trim();
      if (!TYPE.test(type)) throw new DnSyntaxError(dn, `"${type}" is not an attribute type`);
      i = eq + 1;
      while (i < n && dn[i] === ' ') i++;
      let value = '';
      if (dn[i] === '#') {
        const m = /^#([0-9A-Fa-f]{2})+/.exec(dn.slice(i));
        if (!m) throw new DnSyntaxError(dn, 'bad hex value');
        value = m[0];
        i += m[0].length;
      } else if (dn[i] === '"') {
        throw new DnSyntaxError(dn, 'quoted values are not supported');
      } else {
        let raw = '';
        while (i < n && dn[i] !== ',' && dn[i] !== '+' && dn[i] !== ';') {
          const ch = dn[i] as string;
          if (ch === '\\') {
            const next = dn.slice(i + 1, i + 3);
            if (/^[0-9A-Fa-f]{2}$/.test(next)) {
              // Hex pairs may form multi-byte UTF-8; collect them as bytes.
              const bytes: number[] = [];
              while (dn[i] === '\\' && /^[0-9A-Fa-f]{2}$/.test(dn.slice(i + 1, i + 3))) {
                bytes.push(Number.parseInt(dn.slice(i + 1, i + 3), 16));
                i += 3;
              }
              const text = Buffer.from(bytes).toString('utf8');
              if (text.includes('\uFFFD')) throw new DnSyntaxError(dn, 'escaped bytes are not UTF-8');
              raw += text;
              continue;
            }
            const escaped = dn[i + 1];
            if (escaped === undefined) throw new DnSyntaxError(dn, 'ends with a lone backslash');
            raw += escaped;
            i += 2;
            continue;
          }
          if (ch === '=' || ch === '<' || ch === '>' || ch === '"' || ch === '\u0000') {
            throw new DnSyntaxError(dn, `unescaped "${ch === '\u0000' ? 'NUL' : ch}" in a value`);
          }
          raw += ch;
          i++;
        }
        value = raw.trim();
      }
      if (value === '') throw new DnSyntaxError(dn, `empty value for "${type}"`);
      rdn.push({ type, value });
      while (i < n && dn[i] === ' ') i++;
      if (dn[i] === '+') {
        i++;
        continue;
      }
      break;
    }
    rdns.push(rdn);
    if (i < n) {
      if (dn[i] !== ',' && dn[i] !== ';') throw new DnSyntaxError(dn, `unexpected "${dn[i]}"`);
      i++;
      if (i >= n) throw new DnSyntaxError(dn, 'ends with a separator');
    }
  }
  return rdns;
}

function escapeValue(value: string): string {
  return value
    .replace(/[\\,+"<>;=]/g, (c) => `\\${c}`)
    .replace(/^[ #]/, (c) => `\\${c}`)
    .replace(/ $/, '\\ ');
}

/** Canonical lower-case form for comparison; throws DnSyntaxError. */
export function normalizeDn(dn: string): string {
  return parseDn(dn)
    .map((rdn) =>
      rdn
        .map((ava) => `${ava.type.toLowerCase()}=${escapeValue(ava.value.normalize('NFC').toLowerCase())}`)
        .sort()
        .join('+'),
    )
    .join(',');
}

const PLAIN_DN_EXCEPTIONS = /[^ -~]|[\\"+#;<>]|\s[,=]|[,=]\s|^\s|\s$/;
const UNPLAIN_DN = /[\\"+#;<>]|\s[,=]|[,=]\s|^\s|\s$/;

/** Normalizes when parsable, otherwise lower-cases: for matching member DNs the server sent. */
export function dnKey(dn: string): string {
  // Printable ASCII, nothing escaped or multi-valued, no blanks around separators: what the
  // parsing below would give is the lower-cased DN (a sync matches every member DN).
  if (!PLAIN_DN_EXCEPTIONS.test(dn)) return dn.toLowerCase();
  // The same for any text already in NFC, which is how directories store it: the value-by-value
  // NFC below changes nothing then, and lower-casing the whole DN equals lower-casing its parts
  // (the one context rule, Greek final sigma, stops at "," and "="). A unit test holds this
  // to the part-by-part definition.
  if (!UNPLAIN_DN.test(dn) && dn.normalize('NFC') === dn) return dn.toLowerCase();
  // Fast path for the common case (no escapes, no multi-valued RDNs): a sync matches every member DN.
  if (!/[\\"+#;<>]/.test(dn)) {
    const parts = dn.split(',');
    let out = '';
    for (const part of parts) {
      const eq = part.indexOf('=');
      if (eq <= 0) return dn.toLowerCase();
      out += `${out ? ',' : ''}${part.slice(0, eq).trim().toLowerCase()}=${part
        .slice(eq + 1)
        .trim()
        .normalize('NFC')
        .toLowerCase()}`;
    }
    return out;
  }
  try {
    return normalizeDn(dn);
  } catch {
    return dn.toLowerCase();
  }
}
