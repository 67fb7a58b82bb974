/**
 * Everything a directory view answers, asked many ways, as plain data: two
 * views that answer alike give equal results (the patched view against a
 * fresh whole build, test/unit/directory-view-patch.test.ts).
 */
import type { SuggestOptions } from '../../src/directory/autocomplete/index.js';
import type { DirectoryView } from '../../src/directory/directory-view.js';
import { DUPLICATE_KINDS } from '../../src/model/finding.js';
import { PRINCIPAL_KINDS, type PrincipalRecord } from '../../src/model/principal.js';

export interface Probes {
  /** Ids to look up (held or not). */
  readonly ids: readonly string[];
  /** Addresses to look up, as typed. */
  readonly addresses: readonly string[];
  /** What to search list() for. */
  readonly searches: readonly string[];
  /** What to type into autocomplete. */
  readonly prefixes: readonly string[];
  readonly suggestOptions: readonly SuggestOptions[];
  readonly connectionIds: readonly string[];
}

/** The probes of the records a view may hold: their ids, addresses, names and the starts of each. */
export function probesOf(
  records: readonly PrincipalRecord[],
  connectionIds: readonly string[],
  domains: readonly string[],
): Probes {
  const ids = new Set<string>();
  const addresses = new Set<string>(['nobody@nowhere.test']);
  const texts = new Set<string>();
  for (const p of records) {
    ids.add(p.id);
    for (const m of p.memberIds) ids.add(m);
    for (const a of p.emails) {
      addresses.add(a);
      addresses.add(a.toUpperCase());
      texts.add(a);
    }
    texts.add(p.displayName);
    if (p.samAccountName) texts.add(p.samAccountName);
    if (p.userPrincipalName) texts.add(p.userPrincipalName);
  }
  const prefixes = new Set<string>();
  for (const t of texts) {
    for (const len of [1, 2, 4]) prefixes.add(t.slice(0, len));
    prefixes.add(t);
    for (const word of t.split(/[\s.@]+/)) if (word) prefixes.add(word.slice(0, 3));
  }
  const suggestOptions: SuggestOptions[] = [
    {},
    { first: 1 },
    { first: 3 },
    { first: 50 },
    { kinds: ['USER'] },
    { kinds: ['GROUP', 'CONTACT'], first: 5 },
    ...domains.map((domain) => ({ domain, first: 4 })),
    { domain: 'unknown.example' },
  ];
  const searches = ['', ...[...prefixes].filter((_, i) => i % 3 === 0).slice(0, 30)];
  return {
    ids: [...ids],
    addresses: [...addresses],
    searches,
    prefixes: [...prefixes],
    suggestOptions,
    connectionIds,
  };
}

const idsOf = (list: readonly PrincipalRecord[]) => list.map((p) => p.id);

/** Every answer of the view to the probes. */
export function answers(view: DirectoryView, probes: Probes): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  out.size = view.size;
  out.connectionIds = view.connectionIds();
  for (const c of [...probes.connectionIds, 'absent']) {
    out[`meta ${c}`] = view.snapshotMeta(c);
    out[`counts ${c}`] = view.counts(c);
    out[`overlaps ${c}`] = [...view.overlaps(c)];
    for (const kind of DUPLICATE_KINDS)
      out[`findingsFor ${c} ${kind}`] = view.findingsFor({ kind, connectionId: c });
  }
  out.findings = view.findings;
  out.findingsFor = view.findingsFor();
  for (const id of probes.ids) {
    out[`byId ${id}`] = view.byId(id);
    out[`consequences ${id}`] = view.consequencesFor(id);
    out[`memberOf ${id}`] = idsOf(view.memberOf(id));
    out[`memberOf* ${id}`] = idsOf(view.memberOf(id, true));
    for (const transitive of [false, true])
      out[`members${transitive ? '*' : ''} ${id}`] = walk((after) => view.members(id, transitive, 2, after));
  }
  for (const address of probes.addresses) {
    out[`byEmail ${address}`] = view.byEmail(address);
    out[`addressInfo ${address}`] = view.addressInfo(address);
  }
  const groups = probes.ids.filter((id) => view.byId(id)?.kind === 'GROUP');
  for (const g of groups) {
    for (const address of probes.addresses) out[`isMember ${address} ${g}`] = view.isMember(address, g);
  }
  for (const kind of PRINCIPAL_KINDS) {
    for (const connectionId of [null, ...probes.connectionIds]) {
      for (const search of probes.searches) {
        out[`list ${kind} ${connectionId} ${search}`] = walk((after) =>
          view.list(kind, { connectionId, search, first: 3, after }),
        );
      }
    }
  }
  for (const prefix of probes.prefixes) {
    for (const options of probes.suggestOptions) {
      out[`autocomplete ${prefix} ${JSON.stringify(options)}`] = view
        .autocomplete(prefix, options)
        .map((s) => [s.address, s.principal.id]);
    }
  }
  return out;
}

interface PageLike {
  readonly nodes: readonly PrincipalRecord[];
  readonly pageInfo: { readonly endCursor: string | null; readonly hasNextPage: boolean };
  readonly totalCount: number;
}

/** Every page, followed by its cursors: ids, cursors and counts. */
function walk(page: (after: string | null) => PageLike): unknown[] {
  const pages: unknown[] = [];
  let after: string | null = null;
  for (let i = 0; i < 100; i++) {
    const p = page(after);
    pages.push([idsOf(p.nodes), p.pageInfo, p.totalCount]);
    if (!p.pageInfo.hasNextPage) break;
    after = p.pageInfo.endCursor;
  }
  return pages;
}
