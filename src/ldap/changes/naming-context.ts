/**
 * The naming context that holds a search base, and whether a DN lies under
 * another, compared as DNs (dnKey), not as text: `OU=Staff, DC=corp,DC=test`
 * is under `dc=corp,dc=test`. An object moved out of the search base stays in
 * its naming context (a move across naming contexts is a deletion on AD and
 * impossible on slapd), so a search there finds it at its new DN.
 */
import { dnKey } from '../../model/dn.js';
import type { RootDse } from '../root-dse.js';

/** Splits a normalized DN at its unescaped commas: its RDNs, leaf first. */
function rdnsOf(key: string): string[] {
  const rdns: string[] = [];
  let current = '';
  for (let i = 0; i < key.length; i++) {
    const ch = key[i] as string;
    if (ch === '\\' && i + 1 < key.length) {
      current += ch + (key[i + 1] as string);
      i++;
    } else if (ch === ',') {
      rdns.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  rdns.push(current);
  return rdns;
}

/** Whether `dn` is `ancestor` or lies beneath it. */
export function isUnder(dn: string, ancestor: string): boolean {
  const inner = rdnsOf(dnKey(dn));
  const outer = rdnsOf(dnKey(ancestor));
  if (outer.length > inner.length) return false;
  const offset = inner.length - outer.length;
  return outer.every((rdn, i) => inner[offset + i] === rdn);
}

/**
 * The longest naming context (RootDSE namingContexts, or defaultNamingContext)
 * that holds `searchBase`; null when the server names none that does.
 */
export function namingContextOf(rootDse: RootDse, searchBase: string): string | null {
  const candidates = [...rootDse.namingContexts];
  if (rootDse.defaultNamingContext) candidates.push(rootDse.defaultNamingContext);
  let best: string | null = null;
  let bestDepth = -1;
  for (const context of candidates) {
    if (!context.trim() || !isUnder(searchBase, context)) continue;
    const depth = rdnsOf(dnKey(context)).length;
    if (depth > bestDepth) {
      best = context;
      bestDepth = depth;
    }
  }
  return best;
}
