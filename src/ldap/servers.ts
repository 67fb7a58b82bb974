/** Which servers a connection tries, in order: the configured URLs, or DNS SRV discovery. */
import { discoverServers } from './srv-discovery.js';
import type { LdapLimits, LdapSettings } from './types.js';

export interface Candidates {
  readonly urls: readonly string[];
  /** How they were found, for reports: "configured" or the SRV name that answered. */
  readonly source: string;
}

export async function candidateServers(
  settings: LdapSettings,
  limits: LdapLimits,
  signal?: AbortSignal,
): Promise<Candidates> {
  const configured = settings.servers.map((s) => s.trim()).filter((s) => s !== '');
  if (configured.length > 0) return { urls: configured, source: 'configured' };
  const found = await discoverServers(settings.domain, settings.tls, limits, signal ? { signal } : {});
  return { urls: found.urls, source: found.queried };
}
