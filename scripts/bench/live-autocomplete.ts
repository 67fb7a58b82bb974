/**
 * Autocomplete as a gateway without a cache must answer it: one live LDAP
 * search for every object the prefix matches (start of an address, of any
 * word of the display name, or of the account name), then the same ranking
 * the gateway applies (exact before prefix, address over name word over
 * account, primary before alias, enabled before disabled), first ten kept.
 * An LDAP sizeLimit cannot stand in for the ranking: the directory returns
 * matches in its own order, so "the best ten" needs all of them.
 */
import type { Client, Entry } from 'ldapts';
import { fold, nameWords } from '../../src/directory/fold.js';

const ATTRIBUTES = ['mail', 'proxyAddresses', 'displayName', 'sAMAccountName', 'userAccountControl'];

/** RFC 4515 escaping of an assertion value. */
export function escapeFilterValue(value: string): string {
  return value.replace(/[\\*()\u0000]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Every principal whose address, display-name word or account name starts with `prefix`. */
export function liveFilter(prefix: string): string {
  const p = escapeFilterValue(prefix);
  return `(|(mail=${p}*)(proxyAddresses=smtp:${p}*)(displayName=${p}*)(displayName=* ${p}*)(sAMAccountName=${p}*))`;
}

function values(entry: Entry, name: string): string[] {
  const v = entry[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map((x) => x.toString());
}

interface Ranked {
  readonly address: string;
  readonly folded: string;
  readonly key: number;
}

/** How a key matched: 0 exactly, 1 by its start, -1 not at all. */
function matchOf(keys: readonly string[], prefix: string): number {
  if (keys.includes(prefix)) return 0;
  return keys.some((k) => k.startsWith(prefix)) ? 1 : -1;
}

/**
 * The suggestions of one entry for the folded prefix, keyed by the gateway's
 * rules 1 to 4 (exact before prefix; address, then name, then account;
 * primary before alias; enabled before disabled). Rule 5 (folded address)
 * breaks the ties in the sort.
 */
function suggestionsOf(entry: Entry, prefix: string): Ranked[] {
  const mail = values(entry, 'mail')[0] ?? null;
  const proxies = values(entry, 'proxyAddresses').filter((a) => /^smtp:/i.test(a));
  const primary = proxies.find((a) => a.startsWith('SMTP:'))?.slice(5) ?? mail;
  // One suggestion per address, however its copies are spelled (mail and proxy often differ in case).
  const byFolded = new Map<string, string>();
  for (const a of [...(primary ? [primary] : []), ...(mail ? [mail] : []), ...proxies.map((p) => p.slice(5))])
    if (!byFolded.has(fold(a))) byFolded.set(fold(a), a);
  const addresses = [...byFolded.values()];
  const enabled = (Number(values(entry, 'userAccountControl')[0] ?? 0) & 2) === 0;
  const words = nameWords(values(entry, 'displayName')[0] ?? '');
  // A whole word, or the rest of the name from a word on, matches exactly.
  const nameKeys = words.map((_, i) => words.slice(i).join(' ')).concat(words);
  const name = matchOf(nameKeys, prefix);
  const account = matchOf(values(entry, 'sAMAccountName').map(fold), prefix);
  const out: Ranked[] = [];
  for (const address of addresses) {
    const folded = fold(address);
    const own = folded === prefix ? 0 : folded.startsWith(prefix) ? 1 : -1;
    // Tier = 3 × (exact ? 0 : 1) + what matched (0 address, 1 name, 2 account); best match wins.
    const tiers = [own, name, account].map((m, what) => (m < 0 ? Number.POSITIVE_INFINITY : m * 3 + what));
    const tier = Math.min(...tiers);
    if (tier === Number.POSITIVE_INFINITY) continue;
    const cls = (address.toLowerCase() === primary?.toLowerCase() ? 0 : 2) + (enabled ? 0 : 1);
    out.push({ address, folded, key: tier * 4 + cls });
  }
  return out;
}

/** The first `first` suggestions for `prefix`, read live; returns them and how many entries matched. */
export async function liveAutocomplete(
  client: Client,
  baseDn: string,
  prefix: string,
  first = 10,
): Promise<{ addresses: string[]; entries: number }> {
  const folded = fold(prefix);
  const { searchEntries } = await client.search(baseDn, {
    scope: 'sub',
    filter: liveFilter(prefix),
    attributes: ATTRIBUTES,
    paged: { pageSize: 1000 },
  });
  const ranked = searchEntries.flatMap((e) => suggestionsOf(e, folded));
  ranked.sort((a, b) => a.key - b.key || (a.folded < b.folded ? -1 : a.folded > b.folded ? 1 : 0));
  return { addresses: ranked.slice(0, first).map((r) => r.address), entries: searchEntries.length };
}
