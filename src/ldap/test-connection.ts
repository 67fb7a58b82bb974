/**
 * testConnection: the whole path for real, step by step — DNS (SRV discovery
 * or the server's host name), TCP connect, TLS handshake, bind, and counting
 * searches — with what failed and why. Directory failures are reported,
 * never thrown: an administrator is looking at the answer.
 */

import type { PrincipalKind } from '../model/principal.js';
import { type LdapConnection, openConnection } from './client.js';
import { BindError, LdapError, NoServerAvailableError, type ServerAttempt, toLdapError } from './errors.js';
import { readRootDse } from './root-dse.js';
import { schemaFor } from './schema-map.js';
import { candidateServers } from './servers.js';
import type {
  ConnectionTestReport,
  DirectoryFlavour,
  LdapLimits,
  LdapSettings,
  StepReport,
} from './types.js';

export async function testConnection(
  settings: LdapSettings,
  limits: LdapLimits,
): Promise<ConnectionTestReport> {
  const steps: StepReport[] = [];
  try {
    return await walk(settings, limits, steps);
  } catch (err) {
    // Whatever went wrong, the administrator gets a report, not an exception.
    const mapped = toLdapError(err, steps.at(-1)?.step ?? 'DNS', null, [settings.bindPassword]);
    return {
      ok: false,
      server: mapped.server,
      flavour: null,
      steps,
      error: mapped.message,
      users: null,
      groups: null,
      contacts: null,
    };
  }
}

async function walk(
  settings: LdapSettings,
  limits: LdapLimits,
  steps: StepReport[],
): Promise<ConnectionTestReport> {
  const secrets = [settings.bindPassword];
  const failed = (
    error: string,
    server: string | null,
    flavour: DirectoryFlavour | null = null,
  ): ConnectionTestReport => ({
    ok: false,
    server,
    flavour,
    steps,
    error,
    users: null,
    groups: null,
    contacts: null,
  });

  let urls: readonly string[];
  const dnsStart = performance.now();
  try {
    const candidates = await candidateServers(settings, limits);
    urls = candidates.urls;
    if (candidates.source !== 'configured') {
      steps.push({
        step: 'DNS',
        ok: true,
        ms: elapsed(dnsStart),
        detail: [`${candidates.source}: ${urls.join(', ')}`, ...candidates.warnings].join('; '),
      });
    }
  } catch (err) {
    const mapped = toLdapError(err, 'DNS', settings.domain, secrets);
    steps.push({ step: 'DNS', ok: false, ms: elapsed(dnsStart), detail: mapped.message });
    return failed(mapped.message, null);
  }
  if (urls.length === 0) return failed('no server configured and none discovered', null);

  const attempts: ServerAttempt[] = [];
  for (const url of urls) {
    let connection: LdapConnection;
    const stepsBefore = steps.length;
    try {
      connection = await openConnection(url, settings, limits, {
        onStep: (report) => steps.push({ ...report, detail: `${url}: ${report.detail ?? ''}`.trim() }),
      });
    } catch (err) {
      const mapped = toLdapError(err, 'TCP', url, secrets);
      const server = mapped.server ?? url;
      // A URL that cannot even be parsed fails before any step: still show it as one.
      if (steps.length === stepsBefore) {
        steps.push({ step: mapped.step, ok: false, ms: 0, detail: `${url}: ${mapped.message}` });
      }
      attempts.push({ server, step: mapped.step, code: mapped.code, message: mapped.message });
      // Rejected credentials would be rejected by every DC, and each try counts towards lockout.
      if (mapped instanceof BindError && mapped.code !== 'BIND_REFUSED')
        return failed(mapped.message, server);
      continue;
    }
    return await countWith(connection, settings, limits, steps);
  }
  const summary = new NoServerAvailableError(attempts);
  return failed(summary.message, attempts.at(-1)?.server ?? null);
}

async function countWith(
  connection: LdapConnection,
  settings: LdapSettings,
  limits: LdapLimits,
  steps: StepReport[],
): Promise<ConnectionTestReport> {
  const start = performance.now();
  let flavour: DirectoryFlavour | null = null;
  try {
    const rootDse = await readRootDse(connection);
    flavour = rootDse.flavour;
    const schema = schemaFor(rootDse.flavour, settings.overrides);
    const base = settings.searchBase.trim() || rootDse.defaultNamingContext || '';
    const count = async (kind: PrincipalKind): Promise<number> => {
      let n = 0;
      // Attribute 1.1 = "no attributes": the cheapest way to count with paged results.
      for await (const page of connection.pages(base, {
        scope: 'sub',
        filter: schema.filters[kind],
        attributes: ['1.1'],
        pageSize: limits.pageSize,
      })) {
        n += page.searchEntries.length;
      }
      return n;
    };
    const users = await count('USER');
    const groups = await count('GROUP');
    const contacts = settings.includeContacts ? await count('CONTACT') : null;
    steps.push({
      step: 'SEARCH',
      ok: true,
      ms: elapsed(start),
      detail: `${connection.url}: ${flavour} under ${base || '(root)'}: ${users} users, ${groups} groups${contacts === null ? '' : `, ${contacts} contacts`}`,
    });
    return { ok: true, server: connection.url, flavour, steps, error: null, users, groups, contacts };
  } catch (err) {
    const mapped =
      err instanceof LdapError ? err : toLdapError(err, 'SEARCH', connection.url, [settings.bindPassword]);
    steps.push({
      step: 'SEARCH',
      ok: false,
      ms: elapsed(start),
      detail: `${connection.url}: ${mapped.message}`,
    });
    return {
      ok: false,
      server: connection.url,
      flavour,
      steps,
      error: mapped.message,
      users: null,
      groups: null,
      contacts: null,
    };
  } finally {
    await connection.close();
  }
}

function elapsed(start: number): number {
  return Math.round(performance.now() - start);
}
