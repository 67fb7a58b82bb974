/**
 * Where a realm's KDCs are: the connection's `kdcs` when set, else DNS SRV
 * `_kerberos._tcp.<REALM>` then `_kerberos._udp.<REALM>` (RFC 4120 7.2.3.2,
 * as AD publishes them), asked through DIRGATE_DNS_SERVERS like the
 * directory's own SRV records. Every name is resolved here to an address:
 * MIT would otherwise resolve it with the system resolver, which does not
 * know a domain whose names only its own DNS serves. As for DCs, a SRV
 * target outside the realm's DNS domain is refused (the KDC would be given
 * our AS requests, and answer them with its own keys).
 */
import { isIP } from 'node:net';
import { KerberosError, LdapError } from '../errors.js';
import { resolveHost } from '../resolve-host.js';
import { isWithinDomain, orderSrvRecords, resolveSrvBounded } from '../srv-discovery.js';
import type { LdapLimits } from '../types.js';

export const KDC_PORT = 88;

export interface KdcAddress {
  /** As configured or as the SRV record named it, for messages. */
  readonly name: string;
  /** `address:port` for krb5.conf (IPv6 in brackets). */
  readonly endpoint: string;
}

export interface KdcList {
  readonly kdcs: readonly KdcAddress[];
  /** How they were found: `kdcs` or the SRV name that answered. */
  readonly source: string;
}

/** `host`, `host:port`, `[v6]` or `[v6]:port` → host and port; null when it is none of those. */
export function parseKdc(text: string): { host: string; port: number } | null {
  const trimmed = text.trim();
  const bracketed = /^\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?$/.exec(trimmed);
  const plain = /^([A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(trimmed);
  const match = bracketed ?? plain;
  if (!match?.[1]) return null;
  if (bracketed && isIP(match[1]) !== 6) return null;
  const port = match[2] === undefined ? KDC_PORT : Number(match[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return null;
  return { host: match[1], port };
}

function endpoint(address: string, port: number): string {
  return `${isIP(address) === 6 ? `[${address}]` : address}:${port}`;
}

export async function findKdcs(
  realm: string,
  configured: readonly string[],
  limits: LdapLimits,
  signal?: AbortSignal,
): Promise<KdcList> {
  if (configured.length > 0) {
    const kdcs: KdcAddress[] = [];
    for (const text of configured) {
      const parsed = parseKdc(text);
      if (parsed === null) {
        throw new KerberosError(
          'KDC_NOT_FOUND',
          `the KDC "${text}" is not host or host:port`,
          'KERBEROS',
          null,
        );
      }
      kdcs.push({ name: text, endpoint: endpoint(await address(parsed.host, text, limits), parsed.port) });
    }
    return { kdcs, source: 'kdcs' };
  }
  const domain = realm.toLowerCase();
  const asked: string[] = [];
  for (const name of [`_kerberos._tcp.${domain}`, `_kerberos._udp.${domain}`]) {
    asked.push(name);
    const records = await resolveSrvBounded(name, limits, signal).catch((err: unknown) => {
      throw new KerberosError(
        'KDC_NOT_FOUND',
        `DNS lookup of ${name} failed (${err instanceof Error ? err.message : String(err)}): set the connection's kdcs`,
        'KERBEROS',
        null,
        err,
      );
    });
    const usable = orderSrvRecords(records).filter(
      (r) => r.name !== '' && r.name !== '.' && isWithinDomain(r.name, domain),
    );
    if (usable.length === 0) continue;
    const kdcs: KdcAddress[] = [];
    for (const record of usable) {
      const host = record.name.replace(/\.$/, '');
      const shown = `${host}:${record.port}`;
      try {
        kdcs.push({ name: shown, endpoint: endpoint(await address(host, shown, limits), record.port) });
      } catch {
        // One target without an address: the others may still answer.
      }
    }
    if (kdcs.length > 0) return { kdcs, source: name };
  }
  throw new KerberosError(
    'KDC_NOT_FOUND',
    `no KDC for realm ${realm}: no usable SRV records at ${asked.join(' or ')} (set the connection's kdcs, or publish the records)`,
    'KERBEROS',
    null,
  );
}

async function address(host: string, shown: string, limits: LdapLimits): Promise<string> {
  try {
    return (await resolveHost(host, limits, shown)).address;
  } catch (err) {
    const detail = err instanceof LdapError ? err.message : String(err);
    throw new KerberosError(
      'KDC_NOT_FOUND',
      `the KDC ${shown} has no address: ${detail}`,
      'KERBEROS',
      null,
      err,
    );
  }
}
