/**
 * Validation of connection settings as an administrator enters them. Every
 * rule throws a ValidationError naming the field, before anything is stored.
 */
import { X509Certificate } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import cronParser from 'cron-parser';
import { checkKeytab, filterProblem, KeytabError, type KeytabSummary } from '../ldap/index.js';
import type { TlsMode } from '../ldap/types.js';
import {
  type AuthMethod,
  type ConnectionRecord,
  DEFAULT_INCREMENTAL_SCHEDULE,
  DEFAULT_SCHEDULE,
} from '../model/connection.js';
import { DnSyntaxError, normalizeDn } from '../model/dn.js';
import { ValidationError } from '../model/errors.js';
import { isCleanText } from '../model/text.js';

export interface ConnectionInput {
  name?: string | null;
  domain?: string | null;
  searchBase?: string | null;
  servers?: readonly string[] | null;
  tls?: TlsMode | null;
  caCertificate?: string | null;
  tlsVerify?: boolean | null;
  allowPlaintextBind?: boolean | null;
  bindDn?: string | null;
  bindPassword?: string | null;
  /** Absent or null: SIMPLE when bindDn is given, ANONYMOUS otherwise. */
  auth?: AuthMethod | null;
  /** A keytab file, base64 (KERBEROS). */
  keytab?: string | null;
  kdcs?: readonly string[] | null;
  includeContacts?: boolean | null;
  schedule?: string | null;
  /** Absent or null: every minute (on update: unchanged); empty: off. */
  incrementalSchedule?: string | null;
  enabled?: boolean | null;
  deleteThreshold?: number | null;
  userFilter?: string | null;
  groupFilter?: string | null;
  contactFilter?: string | null;
  netbiosName?: string | null;
}

/** A complete, validated set of settings: what is stored, less the id, the sealed secrets and the times. */
export type ValidConnection = Omit<
  ConnectionRecord,
  'id' | 'bindPasswordSealed' | 'keytabSealed' | 'createdAt' | 'updatedAt'
>;

export const LIMITS = {
  name: 200,
  domain: 253,
  dn: 2048,
  servers: 20,
  url: 512,
  caCertificate: 256 * 1024,
  password: 1024,
  filter: 4096,
  schedule: 128,
  /**
   * A keytab of one service account is well under 1 KiB (three keys); 64 KiB leaves room for
   * many key versions and stays far inside the API's request body limit.
   */
  keytabBytes: 64 * 1024,
  kdcs: 10,
  kdc: 300,
} as const;

function text(field: string, value: string, max: number): string {
  if (!isCleanText(value))
    throw new ValidationError(field, 'is not valid text (NUL or lone surrogate)', 'INVALID_TEXT');
  if (value.length > max) throw new ValidationError(field, `is longer than ${max} characters`, 'TOO_LONG');
  return value;
}

function validateName(value: string): string {
  const name = text('name', value, LIMITS.name).trim();
  if (name === '') throw new ValidationError('name', 'must not be empty', 'EMPTY');
  return name;
}

function validateDomain(value: string): string {
  const domain = text('domain', value, LIMITS.domain).trim().toLowerCase().replace(/\.$/, '');
  if (
    !/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/.test(
      domain,
    )
  ) {
    throw new ValidationError('domain', `"${domain}" is not a DNS domain name`, 'INVALID_DOMAIN');
  }
  return domain;
}

function validateDn(field: string, value: string): string {
  const dn = text(field, value, LIMITS.dn).trim();
  try {
    normalizeDn(dn);
  } catch (err) {
    if (err instanceof DnSyntaxError)
      throw new ValidationError(field, `is not a DN: ${err.message}`, 'INVALID_DN');
    throw err;
  }
  return dn;
}

export function validateServerUrl(field: string, value: string, tls: TlsMode): string {
  const raw = text(field, value, LIMITS.url).trim();
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ValidationError(field, `"${raw}" is not a URL`, 'INVALID_URL');
  }
  if (url.protocol !== 'ldap:' && url.protocol !== 'ldaps:') {
    throw new ValidationError(field, `"${raw}" is not an ldap:// or ldaps:// URL`, 'INVALID_URL');
  }
  if (
    !url.hostname ||
    url.username ||
    url.password ||
    (url.pathname !== '' && url.pathname !== '/') ||
    url.search
  ) {
    throw new ValidationError(field, `"${raw}" must be scheme://host[:port] only`, 'INVALID_URL');
  }
  if (tls === 'LDAPS' && url.protocol !== 'ldaps:') {
    throw new ValidationError(field, `"${raw}": tls LDAPS needs ldaps:// URLs`, 'TLS_MISMATCH');
  }
  if (tls !== 'LDAPS' && url.protocol === 'ldaps:') {
    throw new ValidationError(field, `"${raw}": an ldaps:// URL needs tls LDAPS`, 'TLS_MISMATCH');
  }
  return `${url.protocol}//${url.host.toLowerCase()}`;
}

export function validateSchedule(value: string, field = 'schedule'): string {
  const schedule = text(field, value, LIMITS.schedule).trim();
  const fields = schedule.split(/\s+/);
  if (fields.length < 5 || fields.length > 6) {
    throw new ValidationError(
      field,
      `"${schedule}" is not a cron expression (5 or 6 fields)`,
      'INVALID_CRON',
    );
  }
  try {
    cronParser.parseExpression(schedule);
  } catch (err) {
    throw new ValidationError(
      field,
      `"${schedule}" is not a cron expression: ${(err as Error).message}`,
      'INVALID_CRON',
    );
  }
  return schedule;
}

const DAY_S = 86_400;

function timeOfDay(seconds: number): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  const t = ((seconds % DAY_S) + DAY_S) % DAY_S;
  return `${pad(Math.floor(t / 3600))}:${pad(Math.floor(t / 60) % 60)}:${pad(t % 60)}`;
}

/**
 * The shortest gap between two runs of a (valid) schedule, worked out from its expanded fields
 * rather than by stepping through runs (cron-parser takes up to a millisecond a run): the closest
 * two times of day it runs at, or the last of a day and the first of the next. That assumes two
 * consecutive days can both match, which errs towards the shorter gap.
 */
export function shortestInterval(schedule: string): { readonly ms: number; readonly between: string } {
  const { second, minute, hour } = cronParser.parseExpression(schedule).fields;
  const times: number[] = [];
  for (const h of hour) for (const m of minute) for (const s of second) times.push(h * 3600 + m * 60 + s);
  // A value listed twice (`0,30,0`) is one run, not two 0 s apart: cron-parser keeps the repeat.
  times.splice(0, times.length, ...new Set(times));
  times.sort((x, y) => x - y);
  const first = times[0] ?? 0;
  const last = times.at(-1) ?? 0;
  let gap = Number.POSITIVE_INFINITY;
  let between = '';
  for (let i = 1; i < times.length; i++) {
    const a = times[i - 1] ?? 0;
    const b = times[i] ?? 0;
    if (b - a < gap) {
      gap = b - a;
      between = `${timeOfDay(a)} and ${timeOfDay(b)}`;
    }
  }
  if (DAY_S - (last - first) < gap) {
    gap = DAY_S - (last - first);
    between = `${timeOfDay(last)} and ${timeOfDay(first)} the next day`;
  }
  return { ms: gap * 1000, between };
}

function describeMs(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000} minute${ms === 60_000 ? '' : 's'}`;
  return `${ms / 1000} second${ms === 1000 ? '' : 's'}`;
}

/**
 * Refuses a schedule whose runs come closer than `minMs` (every full run reads the whole
 * directory from a domain controller): names the shortest gap, two runs that make it, and the node setting.
 */
export function validateScheduleInterval(schedule: string, minMs: number): string {
  if (minMs <= 0) return schedule;
  const shortest = shortestInterval(schedule);
  if (shortest.ms < minMs) {
    throw new ValidationError(
      'schedule',
      `"${schedule}" runs ${describeMs(shortest.ms)} apart (at ${shortest.between}); the shortest ` +
        `interval allowed is ${describeMs(minMs)} (DIRGATE_MIN_SCHEDULE_INTERVAL_MS)`,
      'INTERVAL_TOO_SHORT',
    );
  }
  return schedule;
}

/**
 * Incremental runs read only what changed, so they may come often, but not more than once a
 * minute: a six-field expression firing every second is a typo, and each run still binds and
 * asks the directory for its watermark.
 */
export const MIN_INCREMENTAL_INTERVAL_MS = 60_000;

/** Absent: every minute (the default); empty: incremental runs off (null); else a cron expression. */
export function validateIncrementalSchedule(value: string | null | undefined): string | null {
  if (value === undefined || value === null) return DEFAULT_INCREMENTAL_SCHEDULE;
  if (value.trim() === '') return null;
  const schedule = validateSchedule(value, 'incrementalSchedule');
  const shortest = shortestInterval(schedule);
  if (shortest.ms < MIN_INCREMENTAL_INTERVAL_MS) {
    throw new ValidationError(
      'incrementalSchedule',
      `"${schedule}" runs ${describeMs(shortest.ms)} apart (at ${shortest.between}); incremental runs ` +
        `may come at most once a minute`,
      'INTERVAL_TOO_SHORT',
    );
  }
  return schedule;
}

export function validateCaCertificate(value: string): string {
  const pem = text('caCertificate', value, LIMITS.caCertificate).trim();
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0)
    throw new ValidationError('caCertificate', 'holds no PEM certificate', 'INVALID_CERTIFICATE');
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch {
      throw new ValidationError(
        'caCertificate',
        'holds a certificate that cannot be parsed',
        'INVALID_CERTIFICATE',
      );
    }
  }
  return blocks.join('\n');
}

/** A bind name is a DN, a user principal name (user@realm) or NETBIOS\user. */
export function validateBindDn(value: string): string {
  const v = text('bindDn', value, LIMITS.dn).trim();
  if (/^[^@\s\\]+@[^@\s\\]+$/.test(v) || /^[^\\\s]+\\[^\\\s]+$/.test(v)) return v;
  return validateDn('bindDn', v);
}

/** Parsed as the LDAP layer will send it, when entered: a typo fails here, not at the next sync. */
function validateFilter(field: string, value: string): string {
  const f = text(field, value, LIMITS.filter).trim();
  const problem = filterProblem(f);
  if (problem !== null) throw new ValidationError(field, problem, 'INVALID_FILTER');
  return f;
}

/**
 * A NetBIOS domain name: 1 to 15 characters, none of those Windows forbids.
 * Needed for NTLM names on directories that do not state one (AD does).
 */
export function validateNetbiosName(value: string): string {
  const name = text('netbiosName', value, 64).trim();
  if (!/^[^\\/:*?"<>|.\s][^\\/:*?"<>|\s]{0,14}$/.test(name)) {
    throw new ValidationError(
      'netbiosName',
      `"${name}" is not a NetBIOS domain name (1–15 characters)`,
      'INVALID_NETBIOS',
    );
  }
  return name;
}

/** A keytab as uploaded: its bytes and what keytab-check found in them. */
export interface CheckedKeytab {
  readonly bytes: Buffer;
  readonly summary: KeytabSummary;
}

/** Line breaks are allowed (base64 tools wrap at 76 columns); anything else not of the alphabet is refused. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2,3})?$/;

/**
 * A keytab entered as base64, decoded and checked (src/ldap/kerberos/keytab-check.ts); every
 * refusal names `keytab`, with keytab-check's reason code and fix. The message never quotes the
 * value: it is the account's key.
 */
export function validateKeytab(value: string): CheckedKeytab {
  const compact = value.replace(/[\r\n\t ]/g, '');
  if (compact === '') throw new ValidationError('keytab', 'is empty', 'KEYTAB_EMPTY');
  const maxChars = Math.ceil(LIMITS.keytabBytes / 3) * 4;
  if (compact.length > maxChars) {
    throw new ValidationError(
      'keytab',
      `is larger than ${LIMITS.keytabBytes} bytes: export the service account's keys only`,
      'KEYTAB_TOO_LARGE',
    );
  }
  // Buffer.from skips what is not base64 without a word: a text file pasted in would decode to junk.
  if (!BASE64.test(compact)) {
    throw new ValidationError(
      'keytab',
      'is not base64: give the keytab file base64-encoded (base64 -w0 FILE)',
      'KEYTAB_NOT_BASE64',
    );
  }
  const bytes = Buffer.from(compact, 'base64');
  try {
    return { bytes, summary: checkKeytab(bytes) };
  } catch (err) {
    if (err instanceof KeytabError) {
      // keytab-check's messages start with "the keytab …": keep them whole after the field name.
      throw new ValidationError('keytab', err.message, err.code);
    }
    throw err;
  }
}

const DNS_NAME =
  /^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?)(\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?)*\.?$/;

/** One KDC: `host`, `host:port`, `[v6]` or `[v6]:port`; lower-cased, the port kept as given. */
export function validateKdc(field: string, value: string): string {
  const raw = text(field, value, LIMITS.kdc).trim().toLowerCase();
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(raw);
  const plain = bracketed ? null : /^([^:[\]]+)(?::(\d{1,5}))?$/.exec(raw);
  const host = bracketed?.[1] ?? plain?.[1];
  const port = bracketed?.[2] ?? plain?.[2];
  const refuse = (why: string): never => {
    throw new ValidationError(field, `"${raw}" ${why}`, 'INVALID_KDC');
  };
  if (host === undefined) {
    if (raw.split(':').length > 2) refuse('is not host[:port]: write an IPv6 address in brackets ([::1]:88)');
    refuse('is not host[:port]');
  }
  if (bracketed && !isIPv6(host ?? '')) refuse('is not an IPv6 address in brackets');
  if (plain && !isIPv4(host ?? '') && !DNS_NAME.test(host ?? '')) refuse('is not a host name or IP address');
  if (port !== undefined && !(Number(port) >= 1 && Number(port) <= 65_535))
    refuse('has no valid port (1–65535)');
  return raw;
}

export function validateKdcs(values: readonly string[]): string[] {
  if (values.length > LIMITS.kdcs) {
    throw new ValidationError('kdcs', `at most ${LIMITS.kdcs} KDCs`, 'TOO_MANY');
  }
  return [...new Set(values.map((v, i) => validateKdc(`kdcs[${i}]`, v)))];
}

/** What a stored connection already holds, for an update: a KERBEROS one may keep its keytab. */
export interface StoredSecrets {
  readonly hasKeytab: boolean;
  readonly keytabPrincipal: string | null;
}

const NO_STORED_SECRETS: StoredSecrets = { hasKeytab: false, keytabPrincipal: null };

/** The authentication settings, checked together: which secrets go with which method. */
interface ValidAuth {
  readonly auth: AuthMethod;
  readonly bindDn: string | null;
  readonly keytab: CheckedKeytab | null;
  readonly keytabPrincipal: string | null;
  readonly kdcs: string[];
}

function given(value: string | null | undefined): value is string {
  return value !== undefined && value !== null && value.trim() !== '';
}

function validateAuth(input: ConnectionInput, stored: StoredSecrets): ValidAuth {
  if (input.bindPassword !== undefined && input.bindPassword !== null) {
    text('bindPassword', input.bindPassword, LIMITS.password);
  }
  const bindDn = input.bindDn?.trim() ? validateBindDn(input.bindDn) : null;
  const auth: AuthMethod = input.auth ?? (bindDn !== null ? 'SIMPLE' : 'ANONYMOUS');
  const kdcs = input.kdcs ?? [];
  if (auth !== 'KERBEROS') {
    if (given(input.keytab)) {
      throw new ValidationError(
        'keytab',
        `only a KERBEROS connection takes a keytab (auth is ${auth}): give auth KERBEROS with it`,
        'KEYTAB_NOT_USED',
      );
    }
    if (kdcs.length > 0) {
      throw new ValidationError(
        'kdcs',
        `only a KERBEROS connection uses KDCs (auth is ${auth})`,
        'KDCS_NOT_USED',
      );
    }
    if (auth === 'SIMPLE' && bindDn === null) {
      throw new ValidationError('bindDn', 'a SIMPLE connection needs a bindDn', 'BIND_DN_REQUIRED');
    }
    // Given explicitly, ANONYMOUS means no credentials (left out, it is what no bindDn means).
    if (input.auth === 'ANONYMOUS' && (bindDn !== null || given(input.bindPassword))) {
      throw new ValidationError(
        bindDn !== null ? 'bindDn' : 'bindPassword',
        'an ANONYMOUS connection takes no bindDn or bindPassword',
        'CREDENTIALS_NOT_USED',
      );
    }
    return { auth, bindDn, keytab: null, keytabPrincipal: null, kdcs: [] };
  }
  if (bindDn !== null || given(input.bindPassword)) {
    throw new ValidationError(
      bindDn !== null ? 'bindDn' : 'bindPassword',
      'a KERBEROS connection takes no bindDn or bindPassword: it authenticates with the keytab',
      'CREDENTIALS_NOT_USED',
    );
  }
  const validKdcs = validateKdcs(kdcs);
  if (input.keytab !== undefined && input.keytab !== null) {
    const keytab = validateKeytab(input.keytab);
    return { auth, bindDn: null, keytab, keytabPrincipal: keytab.summary.principal, kdcs: validKdcs };
  }
  if (!stored.hasKeytab) {
    throw new ValidationError(
      'keytab',
      "a KERBEROS connection needs a keytab (the service account's keys, base64-encoded)",
      'KEYTAB_REQUIRED',
    );
  }
  return { auth, bindDn: null, keytab: null, keytabPrincipal: stored.keytabPrincipal, kdcs: validKdcs };
}

/** What the node's settings add to the rules of input. */
export interface InputRules {
  /** The shortest time between two runs a schedule may ask for (0: any). */
  readonly minScheduleIntervalMs: number;
}

/** DIRGATE_MIN_SCHEDULE_INTERVAL_MS's default: five minutes. */
export const DEFAULT_MIN_SCHEDULE_INTERVAL_MS = 5 * 60_000;

/** Validates a complete new connection (defaults per the contract). */
export function validateNew(
  input: ConnectionInput & { name: string; domain: string; searchBase: string },
  rules: InputRules = { minScheduleIntervalMs: DEFAULT_MIN_SCHEDULE_INTERVAL_MS },
): ValidConnection {
  return validateConnection(input, rules).valid;
}

/**
 * Validates a complete connection, new or merged from an update (`stored`: what the stored one
 * holds); `keytab` is the keytab entered now, checked, for the caller to seal.
 */
export function validateConnection(
  input: ConnectionInput & { name: string; domain: string; searchBase: string },
  rules: InputRules = { minScheduleIntervalMs: DEFAULT_MIN_SCHEDULE_INTERVAL_MS },
  stored: StoredSecrets = NO_STORED_SECRETS,
): { readonly valid: ValidConnection; readonly keytab: CheckedKeytab | null } {
  const tls = input.tls ?? 'NONE';
  const overrides: {
    userFilter?: string;
    groupFilter?: string;
    contactFilter?: string;
    netbiosName?: string;
  } = {};
  if (input.userFilter) overrides.userFilter = validateFilter('userFilter', input.userFilter);
  if (input.groupFilter) overrides.groupFilter = validateFilter('groupFilter', input.groupFilter);
  if (input.contactFilter) overrides.contactFilter = validateFilter('contactFilter', input.contactFilter);
  if (input.netbiosName?.trim()) overrides.netbiosName = validateNetbiosName(input.netbiosName);
  const servers = input.servers ?? [];
  if (servers.length > LIMITS.servers) {
    throw new ValidationError('servers', `at most ${LIMITS.servers} servers`, 'TOO_MANY');
  }
  const threshold = input.deleteThreshold ?? null;
  if (threshold !== null && !(threshold >= 0 && threshold <= 1)) {
    throw new ValidationError('deleteThreshold', 'must be between 0 and 1', 'OUT_OF_RANGE');
  }
  const auth = validateAuth(input, stored);
  const valid: ValidConnection = {
    name: validateName(input.name),
    domain: validateDomain(input.domain),
    searchBase: validateDn('searchBase', input.searchBase),
    servers: [...new Set(servers.map((s, i) => validateServerUrl(`servers[${i}]`, s, tls)))],
    tls,
    caCertificate: input.caCertificate?.trim() ? validateCaCertificate(input.caCertificate) : null,
    tlsVerify: input.tlsVerify ?? true,
    allowPlaintextBind: input.allowPlaintextBind ?? false,
    auth: auth.auth,
    bindDn: auth.bindDn,
    keytabPrincipal: auth.keytabPrincipal,
    kdcs: auth.kdcs,
    includeContacts: input.includeContacts ?? false,
    schedule: validateScheduleInterval(
      validateSchedule(input.schedule ?? DEFAULT_SCHEDULE),
      rules.minScheduleIntervalMs,
    ),
    incrementalSchedule: validateIncrementalSchedule(input.incrementalSchedule),
    enabled: input.enabled ?? true,
    deleteThreshold: threshold,
    overrides,
  };
  return { valid, keytab: auth.keytab };
}
