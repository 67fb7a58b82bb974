/**
 * The generator options of the shared test directories. Tests regenerate
 * the same data from these (generateDirectory is pure) to compute exact
 * expectations. The two datasets use disjoint index ranges, so syncing both
 * directories into one cache finds only the planted duplicates.
 */
import type { GeneratorOptions } from '../../scripts/directories/generator.js';

/** slapd: slapadd is fast, so every duplicate kind is planted here (NTLM and Kerberos too). */
export const SHARED_SLAPD_DATASET: GeneratorOptions = {
  users: 2000,
  groups: 50,
  contacts: 150,
  seed: 'dirgate-shared-slapd',
  baseDn: 'dc=corp,dc=test',
  largeGroupSize: 1600,
  duplicates: {
    userNames: 4,
    groupNames: 2,
    contactNames: 2,
    kerberosNames: 2,
    ntlmNames: 2,
    emailAddresses: 8,
  },
};

/**
 * Samba: ≈2.5 ms per entry to load, and at least 1,600 users for the
 * range-retrieval group. Samba refuses duplicate sAMAccountName and
 * userPrincipalName within a domain, so none are planted here.
 */
export const SHARED_SAMBA_DATASET: GeneratorOptions = {
  users: 1700,
  groups: 40,
  contacts: 100,
  seed: 'dirgate-shared-samba',
  baseDn: 'DC=corp,DC=test',
  largeGroupSize: 1600,
  indexOffset: 5000,
  duplicates: { userNames: 4, groupNames: 2, contactNames: 2, emailAddresses: 8 },
};
