/**
 * The RootDSE says what kind of server this is (AD's capability OID) and
 * where its naming contexts are; AD's NetBIOS domain name, needed for NTLM
 * names (`CORP\jdoe`), lives in the configuration partition.
 */
import { AndFilter, EqualityFilter } from 'ldapts';
import type { LdapConnection } from './client.js';
import { EntryValues } from './entry-decoder.js';
import { LdapError } from './errors.js';
import { AD_CAPABILITY_OID } from './schema-map.js';
import type { DirectoryFlavour } from './types.js';

export interface RootDse {
  readonly flavour: DirectoryFlavour;
  readonly defaultNamingContext: string | null;
  readonly configurationNamingContext: string | null;
  readonly namingContexts: readonly string[];
  readonly dnsHostName: string | null;
  readonly supportedCapabilities: readonly string[];
  readonly supportedControls: readonly string[];
  /** AD: the newest change committed on this DC (decimal, 64-bit); null elsewhere. */
  readonly highestCommittedUsn: string | null;
  /** AD: the DN of this DC's DSA object (`CN=NTDS Settings,CN=DC1,…`), which holds its invocationId. */
  readonly dsServiceName: string | null;
}

export function flavourOf(supportedCapabilities: readonly string[]): DirectoryFlavour {
  return supportedCapabilities.includes(AD_CAPABILITY_OID) ? 'ACTIVE_DIRECTORY' : 'LDAP';
}

export async function readRootDse(connection: LdapConnection, signal?: AbortSignal): Promise<RootDse> {
  const result = await connection.search(
    '',
    {
      scope: 'base',
      filter: '(objectClass=*)',
      attributes: [
        'defaultNamingContext',
        'configurationNamingContext',
        'namingContexts',
        'dnsHostName',
        'supportedCapabilities',
        'supportedControl',
        'highestCommittedUSN',
        'dsServiceName',
      ],
    },
    signal,
  );
  const entry = result.searchEntries[0];
  const values = entry ? new EntryValues(entry) : null;
  const capabilities = values?.strings('supportedCapabilities') ?? [];
  return {
    flavour: flavourOf(capabilities),
    defaultNamingContext: values?.first('defaultNamingContext') ?? null,
    configurationNamingContext: values?.first('configurationNamingContext') ?? null,
    namingContexts: values?.strings('namingContexts') ?? [],
    dnsHostName: values?.first('dnsHostName') ?? null,
    supportedCapabilities: capabilities,
    supportedControls: values?.strings('supportedControl') ?? [],
    highestCommittedUsn: values?.first('highestCommittedUSN') ?? null,
    dsServiceName: values?.first('dsServiceName') ?? null,
  };
}

/**
 * AD's NetBIOS domain name: `nETBIOSName` of the crossRef under
 * `CN=Partitions,<configurationNamingContext>` whose nCName is the domain.
 * Null when not AD or not readable (an account without read access to the
 * configuration partition must not fail the whole sync: NTLM names are then
 * simply unknown).
 */
export async function readNetbiosName(
  connection: LdapConnection,
  rootDse: RootDse,
  signal?: AbortSignal,
): Promise<string | null> {
  if (
    rootDse.flavour !== 'ACTIVE_DIRECTORY' ||
    !rootDse.configurationNamingContext ||
    !rootDse.defaultNamingContext
  ) {
    return null;
  }
  try {
    const result = await connection.search(
      `CN=Partitions,${rootDse.configurationNamingContext}`,
      {
        scope: 'one',
        // Filter objects, not a string: the DN goes in verbatim, no escaping pitfalls.
        filter: new AndFilter({
          filters: [
            new EqualityFilter({ attribute: 'objectClass', value: 'crossRef' }),
            new EqualityFilter({ attribute: 'nCName', value: rootDse.defaultNamingContext }),
          ],
        }),
        attributes: ['nETBIOSName'],
      },
      signal,
    );
    for (const entry of result.searchEntries) {
      const name = new EntryValues(entry).first('nETBIOSName');
      if (name) return name;
    }
    return null;
  } catch (err) {
    // Only server-side refusals are tolerated; a dead connection or an abort must surface.
    if (err instanceof LdapError && err.code === 'SEARCH_FAILED') return null;
    throw err;
  }
}
