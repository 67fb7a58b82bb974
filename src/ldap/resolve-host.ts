/**
 * Host name → address for a server URL. With `limits.dnsServers` set, the
 * same DNS servers that answered the SRV query resolve its targets (a
 * domain's DC names are often known only to its own DNS); otherwise the
 * system resolver, as any client would.
 */
import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import { DnsDiscoveryError, LdapError, toLdapError } from './errors.js';
import type { LdapLimits } from './types.js';

export interface ResolvedHost {
  readonly address: string;
  /** False when the host was already an IP address: nothing was looked up. */
  readonly lookedUp: boolean;
}

export async function resolveHost(host: string, limits: LdapLimits, server: string): Promise<ResolvedHost> {
  if (isIP(host) !== 0) return { address: host, lookedUp: false };
  try {
    if (limits.dnsServers.length === 0) {
      const { address } = await dns.lookup(host);
      return { address, lookedUp: true };
    }
    const resolver = new dns.Resolver({ timeout: limits.dnsTimeoutMs, tries: 1 });
    resolver.setServers([...limits.dnsServers]);
    const v4 = await resolver.resolve4(host).catch((err: unknown) => {
      if (isNotFound(err)) return [];
      throw err;
    });
    const address = v4[0] ?? (await resolver.resolve6(host))[0];
    if (!address) throw new DnsDiscoveryError('HOST_NOT_FOUND', `no address for ${host}`, server);
    return { address, lookedUp: true };
  } catch (err) {
    if (err instanceof LdapError) throw err;
    const mapped = toLdapError(err, 'DNS', server);
    if (mapped instanceof DnsDiscoveryError && mapped.code === 'HOST_NOT_FOUND') {
      throw new DnsDiscoveryError('HOST_NOT_FOUND', `host name ${host} not found`, server, err);
    }
    throw mapped;
  }
}

function isNotFound(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
  return code === 'ENOTFOUND' || code === 'ENODATA';
}
