// The directory as the mail gateway sees it: a search box answering as the gateway UI's
// autocomplete does, and a page per principal with its addresses, groups, members, flags and the
// duplicate findings that involve it.
import { gql } from './console-api.js';
import { connectionHref, el, heading, plural, principalHref } from './console-dom.js';

const AUTOCOMPLETE = `query ConsoleAutocomplete($prefix: String!) {
  autocomplete(prefix: $prefix, first: 20) {
    address
    principal { id kind displayName connection { name } }
  }
}`;
const PRINCIPAL = `query ConsolePrincipal($id: ID!) {
  principal(id: $id) {
    id kind displayName dn guid primaryEmail emails spoofingProtection
    connection { id name }
    memberOf { id displayName }
    allGroups: memberOf(transitive: true) { id displayName }
    ... on User { enabled samAccountName userPrincipalName ntlmName personalBackupAllowed personalListsAllowed }
    ... on Group {
      members(first: 100) { totalCount nodes { id kind displayName primaryEmail } }
      allMembers: members(first: 1, transitive: true) { totalCount }
    }
  }
}`;
const FINDINGS = `query ConsolePrincipalFindings($connectionId: ID) {
  duplicateFindings(connectionId: $connectionId) {
    id kind value consequence sameObject
    principals { id kind displayName connection { name } }
  }
}`;

export async function directoryPage(params) {
  const q = params.get('q') ?? '';
  const search = el('input', {
    id: 'directory-search',
    type: 'search',
    value: q,
    autocomplete: 'off',
    spellcheck: 'false',
    'aria-controls': 'directory-results',
  });
  const results = el('div', { id: 'directory-results', 'aria-live': 'polite' });
  let timer = null;
  let asked = 0;
  const answer = async () => {
    const prefix = search.value.trim();
    // The query is the page's state: it goes in the hash (never the token).
    history.replaceState(null, '', prefix ? `#/directory?q=${encodeURIComponent(prefix)}` : '#/directory');
    const mine = ++asked;
    if (!prefix) {
      results.replaceChildren(el('p', { class: 'muted', text: 'Type the start of a name or an address.' }));
      return;
    }
    try {
      const { autocomplete } = await gql(AUTOCOMPLETE, { prefix });
      if (mine !== asked) return;
      results.replaceChildren(
        autocomplete.length === 0
          ? el('p', { class: 'muted no-match', text: `Nothing starts with “${prefix}”.` })
          : el(
              'ul',
              { class: 'suggestions' },
              autocomplete.map((s) =>
                el(
                  'li',
                  { 'data-principal-id': s.principal.id },
                  el(
                    'a',
                    { href: principalHref(s.principal.id) },
                    el('strong', { text: s.principal.displayName }),
                    ` <${s.address}>`,
                  ),
                  el('span', {
                    class: 'sub',
                    text: `${s.principal.kind.toLowerCase()} · ${s.principal.connection.name}`,
                  }),
                ),
              ),
            ),
      );
    } catch (err) {
      if (mine === asked) results.replaceChildren(el('p', { class: 'error', text: err.message }));
    }
  };
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => void answer(), 150);
  });
  await answer();
  return el(
    'div',
    { class: 'page directory-page' },
    heading('Directory'),
    el(
      'form',
      {
        class: 'card search',
        role: 'search',
        onsubmit: (e) => {
          e.preventDefault();
          void answer();
        },
      },
      el('label', {
        for: 'directory-search',
        text: 'Search names and addresses (as the mail gateway’s autocomplete)',
      }),
      search,
    ),
    results,
  );
}

function flag(ok, yes, no) {
  return el('li', { class: ok ? 'flag ok' : 'flag off', 'data-ok': String(ok), text: ok ? yes : no });
}

function principalLinks(list, empty) {
  if (list.length === 0) return el('p', { class: 'muted', text: empty });
  return el(
    'ul',
    { class: 'links' },
    list.map((p) =>
      el(
        'li',
        { 'data-principal-id': p.id },
        p.kind ? `${p.kind.toLowerCase()} ` : '',
        el('a', { href: principalHref(p.id), text: p.displayName }),
        p.primaryEmail ? ` <${p.primaryEmail}>` : '',
      ),
    ),
  );
}

export async function principalPage(id) {
  const { principal: p } = await gql(PRINCIPAL, { id });
  if (!p)
    return el(
      'div',
      { class: 'page' },
      heading('Not in the directory'),
      el('p', { text: `No principal ${id}.` }),
    );
  const { duplicateFindings } = await gql(FINDINGS, { connectionId: p.connection.id });
  const findings = duplicateFindings.filter((f) => f.principals.some((x) => x.id === p.id));
  const direct = new Set(p.memberOf.map((g) => g.id));
  const flags = [
    flag(
      p.spoofingProtection,
      'Protected against AD spoofing',
      'AD spoofing protection off (duplicated name)',
    ),
  ];
  if (p.kind === 'USER') {
    flags.push(
      flag(p.enabled, 'Account enabled', 'Account disabled'),
      flag(p.personalBackupAllowed, 'Personal Backup allowed', 'Personal Backup off (duplicated name)'),
      flag(
        p.personalListsAllowed,
        'Personal allow and deny lists applied',
        'Personal lists off (duplicated name)',
      ),
    );
  }
  const facts = [
    ['Kind', p.kind.toLowerCase()],
    ['Connection', el('a', { href: connectionHref(p.connection.id), text: p.connection.name })],
    ['DN', p.dn],
    ['Directory id', p.guid],
    p.kind === 'USER' ? ['Account name', p.samAccountName ?? '—'] : null,
    p.kind === 'USER' ? ['Kerberos name', p.userPrincipalName ?? '—'] : null,
    p.kind === 'USER' ? ['NTLM name', p.ntlmName ?? '—'] : null,
  ].filter(Boolean);
  return el(
    'div',
    { class: 'page principal-page', 'data-principal-id': p.id, 'data-kind': p.kind },
    el(
      'p',
      { class: 'crumbs' },
      el('a', { href: '#/directory', text: 'Directory' }),
      ` › ${p.kind.toLowerCase()}`,
    ),
    heading(p.displayName),
    el(
      'dl',
      { class: 'settings' },
      facts.map(([k, v]) => [el('dt', { text: k }), el('dd', {}, v)]),
    ),
    el(
      'section',
      { class: 'card', 'aria-labelledby': 'addresses-title' },
      el('h3', { id: 'addresses-title', text: 'Addresses' }),
      p.emails.length
        ? el(
            'ul',
            { class: 'addresses' },
            p.emails.map((a) =>
              el('li', {}, a, a === p.primaryEmail ? el('span', { class: 'sub', text: 'primary' }) : null),
            ),
          )
        : el('p', { class: 'muted', text: 'No address: the mail gateway cannot deliver to it.' }),
    ),
    el(
      'section',
      { class: 'card', 'aria-labelledby': 'flags-title' },
      el('h3', { id: 'flags-title', text: 'Flags' }),
      el('ul', { class: 'flags' }, flags),
    ),
    el(
      'section',
      { class: 'card groups', 'aria-labelledby': 'groups-title' },
      el('h3', { id: 'groups-title', text: 'Member of' }),
      el('h4', { text: `Directly (${p.memberOf.length})` }),
      el('div', { class: 'direct-groups' }, principalLinks(p.memberOf, 'No group.')),
      el('h4', { text: `Through nested groups too (${p.allGroups.length})` }),
      el(
        'div',
        { class: 'transitive-groups' },
        principalLinks(
          p.allGroups.map((g) => ({
            ...g,
            displayName: direct.has(g.id) ? g.displayName : `${g.displayName} (nested)`,
          })),
          'No group.',
        ),
      ),
    ),
    p.kind === 'GROUP'
      ? el(
          'section',
          { class: 'card members', 'aria-labelledby': 'members-title' },
          el('h3', { id: 'members-title', text: 'Members' }),
          el('p', {
            class: 'muted',
            text: `${plural(p.members.totalCount, 'direct member')}; ${plural(p.allMembers.totalCount, 'member')} counting nested groups.`,
          }),
          principalLinks(p.members.nodes, 'No member.'),
          p.members.totalCount > p.members.nodes.length
            ? el('p', { class: 'muted', text: `and ${p.members.totalCount - p.members.nodes.length} more` })
            : null,
        )
      : null,
    el(
      'section',
      { class: 'card findings', 'aria-labelledby': 'findings-title' },
      el('h3', { id: 'findings-title', text: `Duplicate findings (${findings.length})` }),
      findings.length === 0
        ? el('p', { class: 'muted', text: 'None: its names and addresses are unique.' })
        : findings.map((f) =>
            el(
              'div',
              { class: 'finding', 'data-finding-id': f.id, 'data-kind': f.kind },
              el('span', { class: 'value', text: f.value }),
              ` ${f.kind.toLowerCase().replace('_', ' ')}`,
              el('p', { class: 'consequence muted', text: f.consequence }),
              principalLinks(
                f.principals
                  .filter((x) => x.id !== p.id)
                  .map((x) => ({ ...x, displayName: `${x.displayName} (${x.connection.name})` })),
                '',
              ),
            ),
          ),
    ),
  );
}
