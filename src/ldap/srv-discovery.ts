/**
 * Finding a domain's directory servers through DNS SRV records (RFC 2782),
 * as Windows clients find domain controllers.
 *
 * Port policy (a decision, see discoverServers): `_ldap._tcp` records carry
 * the plain LDAP port (AD publishes 389) and there is no standard SRV name for
 * LDAPS. For LDAPS, `_ldaps._tcp.<domain>` is asked first (some sites publish
 * it); its ports are used as they are. Without it, `_ldap._tcp` targets are
 * used with port 636, the LDAPS port every AD DC listens on.
 *
 * Domain policy: a target must be the domain itself or a name below it. The
 * gateway sends the bind password to whatever the records name, and
 * AD's locator records always name the domain's own DCs; a target elsewhere
 * (`_ldap._tcp.corp.test` → `evil.example.net`) is a forged or broken zone.
 * Such targets are skipped and reported; when nothing is left the
 * discovery fails naming them.
 */
import { promises as dns, type SrvRecord } from 'node:dns';
import { isIP } from 'node:net';
import { resolveSrvOnTheWire } from './dns-wire.js';
import { AbortedError, DnsDiscoveryError, LdapError, toLdapError } from './errors.js';
import type { LdapLimits, TlsMode } from './types.js';

export type { SrvRecord } from 'node:dns';

/**
 * Orders SRV records as RFC 2782 says: ascending priority; within one
 * priority, repeated weighted random selection where each record's chance is
 * proportional to its weight. Zero-weight records are placed first in their
 * group, so they are picked only when the random number is 0 — rarely when
 * weighted siblings exist, in order among themselves when all weights are 0.
 *
 * `random` returns a number in [0, 1) (Math.random by default); tests inject it.
 */
export function orderSrvRecords(
  records: readonly SrvRecord[],
  random: () => number = Math.random,
): SrvRecord[] {
  const byPriority = new Map<number, SrvRecord[]>();
  for (const record of records) {
    const group = byPriority.get(record.priority) ?? [];
    group.push(record);
    byPriority.set(record.priority, group);
  }
  const ordered: SrvRecord[] = [];
  for (const priority of [...byPriority.keys()].sort((a, b) => a - b)) {
    const group = byPriority.get(priority) ?? [];
    // Stable partition: zero weights first, as the RFC asks.
    const pending = [...group.filter((r) => r.weight === 0), ...group.filter((r) => r.weight !== 0)];
    while (pending.length > 0) {
      const total = pending.reduce((sum, r) => sum + r.weight, 0);
      // A uniform integer in [0, total], both ends included (RFC 2782).
      const pick = Math.min(total, Math.floor(random() * (total + 1)));
      let running = 0;
      let index = pending.length - 1;
      for (let i = 0; i < pending.length; i++) {
        running += pending[i]?.weight ?? 0;
        if (running >= pick) {
          index = i;
          break;
        }
      }
      const [chosen] = pending.splice(index, 1);
      if (chosen) ordered.push(chosen);
    }
  }
  return ordered;
}

/** `ldap://host:port` or `ldaps://host:port`; IPv6 literals bracketed, trailing root dot removed. */
export function serverUrl(scheme: 'ldap' | 'ldaps', host: string, port: number): string {
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  const shown = isIP(name) === 6 ? `[${name}]` : name;
  return `${scheme}://${shown}:${port}`;
}

/** Whether `target` is `domain` or a name below it: DNS names, case-insensitive, root dots ignored. */
export function isWithinDomain(target: string, domain: string): boolean {
  const name = target.toLowerCase().replace(/\.$/, '');
  const zone = domain.toLowerCase().replace(/\.$/, '');
  return zone !== '' && (name === zone || name.endsWith(`.${zone}`));
}

/** SRV records → URLs for the TLS mode, in RFC 2782 order. */
export function srvRecordsToUrls(
  records: readonly SrvRecord[],
  tls: TlsMode,
  recordsAreLdaps: boolean,
  random: () => number = Math.random,
): string[] {
  const urls: string[] = [];
  for (const record of orderSrvRecords(records, random)) {
    // A target of "." means "the service is decidedly not available at this domain" (RFC 2782).
    if (record.name === '.' || record.name === '') continue;
    const url =
      tls === 'LDAPS'
        ? serverUrl('ldaps', record.name, recordsAreLdaps ? record.port : 636)
        : serverUrl('ldap', record.name, record.port);
    if (!urls.includes(url)) urls.push(url);
  }
  return urls;
}

export interface DiscoveryResult {
  /** Server URLs in the order to try them. */
  readonly urls: readonly string[];
  /** The SRV name that answered. */
  readonly queried: string;
  /** Targets refused as outside the domain (`host:port`), from every name asked; empty normally. */
  readonly refused: readonly string[];
}

export interface DiscoveryOptions {
  readonly random?: () => number;
  readonly signal?: AbortSignal;
}

/**
 * Queries `_ldap._tcp.<domain>`, then `_ldap._tcp.dc._msdcs.<domain>` (AD's
 * DC-only locator name); for LDAPS first `_ldaps._tcp.<domain>`. Bounded by
 * limits.dnsTimeoutMs per name on top of the resolver's own per-server timeout.
 */
export async function discoverServers(
  domain: string,
  tls: TlsMode,
  limits: LdapLimits,
  options: DiscoveryOptions = {},
): Promise<DiscoveryResult> {
  const bare = domain.trim().replace(/\.$/, '');
  if (bare === '') throw new DnsDiscoveryError('NO_SRV_RECORDS', 'no domain to discover servers for', null);

  const candidates: { name: string; ldaps: boolean }[] = [];
  if (tls === 'LDAPS') candidates.push({ name: `_ldaps._tcp.${bare}`, ldaps: true });
  candidates.push(
    { name: `_ldap._tcp.${bare}`, ldaps: false },
    { name: `_ldap._tcp.dc._msdcs.${bare}`, ldaps: false },
  );

  const asked: string[] = [];
  const refused: string[] = [];
  for (const candidate of candidates) {
    asked.push(candidate.name);
    const records = await resolveSrvBounded(candidate.name, limits, options.signal);
    const kept: SrvRecord[] = [];
    for (const record of records) {
      const absent = record.name === '.' || record.name === '';
      if (absent || isWithinDomain(record.name, bare)) {
        kept.push(record);
        continue;
      }
      const target = `${record.name.replace(/\.$/, '')}:${record.port}`;
      if (!refused.includes(target)) refused.push(target);
    }
    const urls = srvRecordsToUrls(kept, tls, candidate.ldaps, options.random);
    if (urls.length > 0) return { urls, queried: candidate.name, refused };
  }
  if (refused.length > 0) {
    throw new DnsDiscoveryError(
      'SRV_TARGETS_OUTSIDE_DOMAIN',
      `SRV records of ${bare} name only servers outside the domain, refused: ${refused.join(', ')} (asked ${asked.join(', ')})`,
      bare,
    );
  }
  throw new DnsDiscoveryError('NO_SRV_RECORDS', `no SRV records for ${asked.join(', ')}`, bare);
}

/** The warning for targets discovery refused, or null when it refused none. */
export function refusedTargetsWarning(domain: string, refused: readonly string[]): string | null {
  return refused.length === 0
    ? null
    : `SRV targets outside ${domain} refused (a DC must be ${domain} or below it): ${refused.join(', ')}`;
}

/** Resolves one SRV name; "no such name / no records" is an empty list, other failures throw. */
export async function resolveSrvBounded(
  name: string,
  limits: LdapLimits,
  signal?: AbortSignal,
): Promise<SrvRecord[]> {
  // c-ares retries per server with its own timeout; `tries: 1` keeps one slow server from multiplying the wait.
  const resolver = new dns.Resolver({ timeout: limits.dnsTimeoutMs, tries: 1 });
  if (limits.dnsServers.length > 0) resolver.setServers([...limits.dnsServers]);
  const lookup = async (): Promise<SrvRecord[]> => {
    try {
      return await resolver.resolveSrv(name);
    } catch (err) {
      // c-ares refuses compressed SRV targets (Samba's DNS writes them): read the reply ourselves.
      if (errorCode(err) === 'EBADRESP') {
        return await resolveSrvOnTheWire(name, limits.dnsServers, limits.dnsTimeoutMs);
      }
      throw err;
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const onAbort = (): void => resolver.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
  // Each configured DNS server may use its full timeout, twice with the wire fallback.
  const bound = 2 * limits.dnsTimeoutMs * Math.max(1, limits.dnsServers.length) + 250;
  try {
    return await Promise.race([
      lookup(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          resolver.cancel();
          reject(
            new DnsDiscoveryError('DNS_TIMEOUT', `DNS query for ${name} timed out after ${bound} ms`, name),
          );
        }, bound);
      }),
    ]);
  } catch (err) {
    if (signal?.aborted) throw new AbortedError('DNS', name);
    if (err instanceof LdapError) throw err;
    const code = errorCode(err);
    if (code === 'ENOTFOUND' || code === 'ENODATA' || code === 'NXDOMAIN') return [];
    if (code === 'ETIMEOUT' || code === 'ECANCELLED') {
      throw new DnsDiscoveryError('DNS_TIMEOUT', `DNS query for ${name} timed out`, name, err);
    }
    throw toLdapError(err, 'DNS', name);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

function errorCode(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
}
