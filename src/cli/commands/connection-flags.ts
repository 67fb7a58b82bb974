/**
 * The flags of `dirgate connections add` and `update`: one per field of the
 * API's connection input, turned into that input, and the way back, from a
 * field the API refused to the flag the operator typed.
 */
import { readFile } from 'node:fs/promises';
import { commandSettings } from '../../config/environment.js';
import {
  type OptionSpec,
  type ParsedValues,
  stringOption,
  stringsOption,
  switchOption,
  UsageError,
} from '../command.js';
import { readSecret, readSecretBytes } from '../secret-input.js';

const TLS_MODES: Readonly<Record<string, string>> = { none: 'NONE', starttls: 'STARTTLS', ldaps: 'LDAPS' };
export const AUTH_METHODS: Readonly<Record<string, string>> = {
  anonymous: 'ANONYMOUS',
  simple: 'SIMPLE',
  kerberos: 'KERBEROS',
};

/** The flags both commands take; `update` adds the ones that remove a setting. */
export const CONNECTION_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  name: { type: 'string', value: 'NAME', help: 'a name for people (unique names let commands take it)' },
  domain: {
    type: 'string',
    value: 'DOMAIN',
    help: 'the mail domain, e.g. corp.test (add: default from --base dc=…; fixed once added)',
  },
  base: { type: 'string', value: 'DN', help: 'the search base, e.g. dc=corp,dc=test' },
  url: {
    type: 'string',
    multiple: true,
    value: 'URL',
    help: 'an ldap:// or ldaps:// server, tried in order (repeat for several)',
  },
  srv: {
    type: 'boolean',
    help: 'find the domain controllers through DNS SRV records of the domain (no --url)',
  },
  tls: {
    type: 'string',
    value: 'MODE',
    help: 'none, starttls or ldaps (add: ldaps for ldaps:// URLs, else none)',
  },
  ca: {
    type: 'string',
    value: 'FILE',
    help: "PEM CA bundle: the only CAs trusted for the directory's certificate (default: the system's)",
  },
  'tls-verify': { type: 'boolean', help: "verify the directory's certificate (the default)" },
  'no-tls-verify': { type: 'boolean', help: "do not verify the directory's certificate" },
  'allow-plaintext-bind': {
    type: 'boolean',
    help: 'allow sending the bind password without TLS (refused by default)',
  },
  auth: {
    type: 'string',
    value: 'METHOD',
    help: 'anonymous, simple or kerberos (add: kerberos with --keytab, simple with --bind-dn, else anonymous)',
  },
  'bind-dn': { type: 'string', value: 'DN', help: "bind DN or user principal name ('' : anonymous)" },
  'password-file': {
    type: 'string',
    value: 'FILE',
    help: 'file holding the bind password (- for standard input; or DIRGATE_BIND_PASSWORD)',
  },
  keytab: {
    type: 'string',
    value: 'FILE',
    help: 'keytab file of the service account (kerberos; - for standard input); implies --auth kerberos',
  },
  kdc: {
    type: 'string',
    multiple: true,
    value: 'HOST[:PORT]',
    help: 'a Kerberos KDC, tried in order (repeat for several; default: DNS SRV records of the realm)',
  },
  contacts: { type: 'boolean', help: 'read contacts too' },
  'no-contacts': { type: 'boolean', help: 'do not read contacts (the default for add)' },
  schedule: { type: 'string', value: 'CRON', help: "cron expression of the syncs (add: '*/30 * * * *')" },
  'incremental-schedule': {
    type: 'string',
    value: 'CRON',
    help: "cron expression of the incremental syncs between them (add: '* * * * *'; '' : none)",
  },
  enabled: { type: 'boolean', help: 'sync on the schedule (the default for add)' },
  disabled: { type: 'boolean', help: 'sync by hand only (dirgate sync)' },
  'delete-threshold': {
    type: 'string',
    value: 'SHARE',
    help: 'share of the cache a sync may remove before it is held: 0–1 or N% (add: the node default)',
  },
  'user-filter': { type: 'string', value: 'FILTER', help: "LDAP filter for users ('' : the default)" },
  'group-filter': { type: 'string', value: 'FILTER', help: "LDAP filter for groups ('' : the default)" },
  'contact-filter': { type: 'string', value: 'FILTER', help: "LDAP filter for contacts ('' : the default)" },
  'netbios-name': {
    type: 'string',
    value: 'NAME',
    help: 'NetBIOS domain name, when the directory states none',
  },
};

export const UPDATE_ONLY_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  'no-ca': { type: 'boolean', help: 'remove the CA bundle' },
  'no-allow-plaintext-bind': { type: 'boolean', help: 'refuse a password bind without TLS again' },
  'no-password': { type: 'boolean', help: 'remove the stored bind password' },
  'no-kdcs': { type: 'boolean', help: 'find the KDCs through DNS SRV records again' },
};

/** Which flag sets each input field: how a refused field is told to the operator. */
const FLAG_OF_FIELD: Readonly<Record<string, string>> = {
  name: '--name',
  domain: '--domain',
  searchBase: '--base',
  servers: '--url',
  tls: '--tls',
  caCertificate: '--ca',
  tlsVerify: '--no-tls-verify',
  allowPlaintextBind: '--allow-plaintext-bind',
  auth: '--auth',
  bindDn: '--bind-dn',
  bindPassword: '--password-file',
  keytab: '--keytab',
  kdcs: '--kdc',
  includeContacts: '--contacts',
  schedule: '--schedule',
  incrementalSchedule: '--incremental-schedule',
  enabled: '--enabled',
  deleteThreshold: '--delete-threshold',
  userFilter: '--user-filter',
  groupFilter: '--group-filter',
  contactFilter: '--contact-filter',
  netbiosName: '--netbios-name',
};

/**
 * The flag behind an input field the API named (`servers[1]` is the second --url), or the
 * field itself for one no flag sets.
 */
export function flagOf(field: string, values: ParsedValues): string {
  const item = /^(\w+)\[(\d+)\]$/.exec(field);
  const name = item?.[1] ?? field;
  const flag = FLAG_OF_FIELD[name];
  if (!flag) return field;
  if ((name === 'servers' || name === 'kdcs') && item) {
    const given = stringsOption(values, name === 'servers' ? 'url' : 'kdc')[Number(item[2])];
    return given === undefined ? flag : `${flag} ${given}`;
  }
  return flag;
}

/** dc=corp,dc=test → corp.test: the mail domain a base names. */
export function domainOfBase(base: string): string {
  return base
    .split(',')
    .map((part) => /^\s*dc\s*=\s*(.+?)\s*$/i.exec(part)?.[1])
    .filter((v): v is string => v !== undefined)
    .join('.')
    .toLowerCase();
}

function threshold(raw: string): number {
  const percent = raw.trim().endsWith('%');
  const n = Number(percent ? raw.trim().slice(0, -1) : raw);
  if (raw.trim() === '' || !Number.isFinite(n)) {
    throw new UsageError(`--delete-threshold must be a share (0–1) or a percentage (got "${raw}")`);
  }
  return percent ? n / 100 : n;
}

async function readText(flag: string, file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${flag}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
}

type Input = Record<string, string | number | boolean | readonly string[] | null>;

/**
 * The API input the flags say: only what was given (an update changes only that). The password
 * comes from --password-file (a file, or `-` for standard input) or DIRGATE_BIND_PASSWORD, never
 * from the command line, where other users can read it; a keytab from --keytab FILE, likewise.
 */
export async function inputFromFlags(values: ParsedValues, mode: 'add' | 'update'): Promise<Input> {
  const input: Input = {};
  const text = (flag: string, field: string) => {
    const v = stringOption(values, flag);
    if (v !== undefined) input[field] = v;
  };
  text('name', 'name');
  if (mode === 'update' && stringOption(values, 'domain') !== undefined) {
    throw new UsageError('--domain cannot be changed: add a connection for the other domain');
  }
  text('domain', 'domain');
  text('base', 'searchBase');
  text('bind-dn', 'bindDn');
  text('schedule', 'schedule');
  text('incremental-schedule', 'incrementalSchedule');
  text('user-filter', 'userFilter');
  text('group-filter', 'groupFilter');
  text('contact-filter', 'contactFilter');
  text('netbios-name', 'netbiosName');

  const urls = stringsOption(values, 'url');
  if (urls.length > 0 && values.srv === true) throw new UsageError('--url and --srv exclude each other');
  if (urls.length > 0) input.servers = urls;
  if (values.srv === true) input.servers = [];

  const tls = stringOption(values, 'tls');
  if (tls !== undefined) {
    const tlsMode = TLS_MODES[tls.toLowerCase()];
    if (!tlsMode) throw new UsageError(`--tls must be none, starttls or ldaps (got "${tls}")`);
    input.tls = tlsMode;
  } else if (mode === 'add' && urls.length > 0 && urls.every((u) => u.toLowerCase().startsWith('ldaps://'))) {
    input.tls = 'LDAPS';
  }

  const ca = stringOption(values, 'ca');
  if (ca !== undefined && values['no-ca'] === true)
    throw new UsageError('--ca and --no-ca exclude each other');
  if (ca !== undefined) input.caCertificate = await readText('--ca', ca);
  // An empty bundle is how the API removes one.
  if (values['no-ca'] === true) input.caCertificate = '';

  const verify = switchOption(values, 'tls-verify', 'no-tls-verify');
  if (verify !== undefined) input.tlsVerify = verify;
  const plaintext = switchOption(values, 'allow-plaintext-bind', 'no-allow-plaintext-bind');
  if (plaintext !== undefined) input.allowPlaintextBind = plaintext;
  const contacts = switchOption(values, 'contacts', 'no-contacts');
  if (contacts !== undefined) input.includeContacts = contacts;
  const enabled = switchOption(values, 'enabled', 'disabled');
  if (enabled !== undefined) input.enabled = enabled;

  const share = stringOption(values, 'delete-threshold');
  if (share !== undefined) input.deleteThreshold = threshold(share);

  const passwordFile = stringOption(values, 'password-file');
  if (passwordFile !== undefined && values['no-password'] === true) {
    throw new UsageError('--password-file and --no-password exclude each other');
  }
  const password =
    passwordFile !== undefined
      ? await readSecret('--password-file', passwordFile)
      : commandSettings().bindPassword;
  if (password !== null && password !== undefined) input.bindPassword = password;
  // An empty password is how the API removes the stored one.
  if (values['no-password'] === true) input.bindPassword = '';

  const auth = stringOption(values, 'auth');
  if (auth !== undefined) {
    const method = AUTH_METHODS[auth.toLowerCase()];
    if (!method) throw new UsageError(`--auth must be anonymous, simple or kerberos (got "${auth}")`);
    input.auth = method;
  }
  const keytabFile = stringOption(values, 'keytab');
  if (keytabFile !== undefined) {
    if (keytabFile === '-' && passwordFile === '-') {
      throw new UsageError('--keytab - and --password-file - cannot both read standard input');
    }
    // Base64 for the API, as the keytab is binary; the file itself is never echoed.
    input.keytab = (await readSecretBytes('--keytab', keytabFile)).toString('base64');
    input.auth ??= 'KERBEROS';
  }
  // DIRGATE_BIND_PASSWORD may be set for other connections: a KERBEROS one takes none.
  if (input.auth === 'KERBEROS' && passwordFile === undefined && values['no-password'] !== true) {
    delete input.bindPassword;
  }
  const kdcs = stringsOption(values, 'kdc');
  if (kdcs.length > 0 && values['no-kdcs'] === true)
    throw new UsageError('--kdc and --no-kdcs exclude each other');
  if (kdcs.length > 0) input.kdcs = kdcs;
  if (values['no-kdcs'] === true) input.kdcs = [];

  if (mode === 'add') {
    if (input.searchBase === undefined) throw new UsageError('--base (the search base DN) is required');
    if (input.name === undefined) throw new UsageError('--name is required');
    // No server named is SRV discovery: said, so that a forgotten --url is not taken for it.
    if (input.servers === undefined) throw new UsageError('give --url, or --srv for DNS SRV discovery');
    if (input.domain === undefined) {
      const domain = domainOfBase(String(input.searchBase));
      if (!domain) throw new UsageError('--domain is required (the base names no dc= parts)');
      input.domain = domain;
    }
  }
  return input;
}
