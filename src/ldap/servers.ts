/** Which servers a connection tries, in order: the configured URLs, or DNS SRV discovery. */
import { discoverServers, refusedTargetsWarning } from './srv-discovery.js';
import type { LdapLimits, LdapSettings } from './types.js';

export interface Candidates {
  readonly urls: readonly string[];
  /** How they were found, for reports: "configured" or the SRV name that answered. */
  readonly source: string;
  /** What a report should show besides, e.g. SRV targets refused as outside the domain. */
  readonly warnings: readonly string[];
}

export async function candidateServers(
  settings: LdapSettings,
  limits: LdapLimits,
  signal?: AbortSignal,
): Promise<Candidates> {
  const configured = settings.servers.map((s) => s.trim()).filter((s) => s !== '');
  if (configured.length > 0) return { urls: configured, source: 'configured', warnings: [] };
  const found = await discoverServers(settings.domain, settings.tls, limits, signal ? { signal } : {});
  const warning = refusedTargetsWarning(settings.domain.trim().replace(/\.$/, ''), found.refused);
  return { urls: found.urls, source: found.queried, warnings: warning ? [warning] : [] };
}
