/**
 * Validation of connection settings as an administrator enters them. Every
 * rule throws a ValidationError naming the field, before anything is stored.
 */
import { X509Certificate } from 'node:crypto';
import cronParser from 'cron-parser';
import { filterProblem } from '../ldap/index.js';
import type { TlsMode } from '../ldap/types.js';
import {
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

/** A complete, validated set of settings: what is stored, less the id, the sealed password and the times. */
export type ValidConnection = Omit<ConnectionRecord, 'id' | 'bindPasswordSealed' | 'createdAt' | 'updatedAt'>;

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
  if (input.bindPassword !== undefined && input.bindPassword !== null) {
    text('bindPassword', input.bindPassword, LIMITS.password);
  }
  const bindDn = input.bindDn?.trim() ? validateBindDn(input.bindDn) : null;
  return {
    name: validateName(input.name),
    domain: validateDomain(input.domain),
    searchBase: validateDn('searchBase', input.searchBase),
    servers: [...new Set(servers.map((s, i) => validateServerUrl(`servers[${i}]`, s, tls)))],
    tls,
    caCertificate: input.caCertificate?.trim() ? validateCaCertificate(input.caCertificate) : null,
    tlsVerify: input.tlsVerify ?? true,
    allowPlaintextBind: input.allowPlaintextBind ?? false,
    bindDn,
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
}
