// The dirgate status page: plain DOM, the public GraphQL API over HTTP POST,
// and live updates over graphql-ws (the library's browser build, served by
// the gateway from node_modules). The token stays in this tab's sessionStorage.
(() => {
  const TOKEN_KEY = 'dirgate-token';
  const httpUrl = `${location.origin}/graphql`;
  const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;

  const STATUS_QUERY = `query StatusPage {
    node { name }
    clusterNodes {
      name lastSeenAt hasWarning
      connections { id status }
      duplicateFindings { id kind sameObject connectionIds }
    }
    connections {
      id name searchBase servers status activeServer enabled schedule heldRunId
      tls allowPlaintextBind hasBindPassword
      userCount groupCount contactCount
      overlapsWith { id name }
      domain { name }
      lastSync {
        id status trigger mode fallbackReason phase progress startedAt finishedAt server error
        changes { addedCount updatedCount removedCount }
      }
      lastSuccessfulSync { id finishedAt }
    }
    duplicateFindings {
      id kind value consequence detectedAt sameObject
      principals { id guid kind displayName dn primaryEmail connection { id name } }
    }
  }`;
  const START_SYNC = `mutation StartSync($connectionId: ID) {
    startSync(connectionId: $connectionId) { id connectionId status phase progress }
  }`;
  const SYNC_EVENTS = `subscription SyncEvents {
    syncEvents { node run { id connectionId mode status phase progress server error startedAt finishedAt } }
  }`;
  const DUPLICATE_WARNINGS = `subscription DuplicateWarnings {
    duplicateWarnings { node connectionId resolved added { id kind value } }
  }`;

  const KIND_TITLES = {
    USER_NAME: 'User names',
    GROUP_NAME: 'Group names',
    CONTACT_NAME: 'Contact names',
    KERBEROS_NAME: 'Kerberos names',
    NTLM_NAME: 'NTLM names',
    EMAIL_ADDRESS: 'Email addresses',
  };
  const KIND_ORDER = Object.keys(KIND_TITLES);

  const $ = (id) => document.getElementById(id);
  let wsClient = null;
  let refreshTimer = null;
  let nodeName = null;
  /** Connection id → name, from the last refresh (for findings of other nodes' rows). */
  let connectionNames = new Map();

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs ?? {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'class') node.className = value;
      else if (key === 'text') node.textContent = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function when(iso) {
    if (!iso) return '—';
    const date = new Date(iso);
    const seconds = Math.round((Date.now() - date.getTime()) / 1000);
    if (seconds < 5) return 'just now';
    if (seconds < 90) return `${seconds} s ago`;
    if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
    return date.toLocaleString();
  }

  function duration(run) {
    if (!run?.finishedAt) return '';
    const ms = Date.parse(run.finishedAt) - Date.parse(run.startedAt);
    return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
  }

  function plural(n, one, many) {
    return `${n.toLocaleString('en')} ${n === 1 ? one : (many ?? `${one}s`)}`;
  }

  /** "A", "A and B", "A, B and C". */
  function names(list) {
    return list.length <= 1 ? list.join('') : `${list.slice(0, -1).join(', ')} and ${list.at(-1)}`;
  }

  function connectionName(id) {
    return connectionNames.get(id) ?? id;
  }

  // Findings that come from overlapping connections: one directory object (one guid) read through
  // several connections is several accounts. Per set of connections reading the same objects (a
  // cause), the objects they share, and the findings that involve nothing else (pure overlap).
  function overlapCauses(findings) {
    const causes = new Map();
    const causeOf = (ids) => {
      const key = [...ids].sort().join(',');
      if (!causes.has(key))
        causes.set(key, { key, connectionIds: key.split(','), objects: new Map(), findings: [] });
      return causes.get(key);
    };
    const pure = new Set();
    for (const f of findings) {
      if (!f.sameObject) continue;
      const byGuid = new Map();
      for (const p of f.principals) {
        const guid = p.guid;
        if (!byGuid.has(guid)) byGuid.set(guid, []);
        byGuid.get(guid).push(p);
      }
      for (const [guid, accounts] of byGuid) {
        const connections = new Set(accounts.map((p) => p.connection.id));
        if (connections.size < 2) continue;
        const cause = causeOf(connections);
        if (!cause.objects.has(guid)) cause.objects.set(guid, accounts);
        if (byGuid.size === 1) {
          cause.findings.push(f);
          pure.add(f.id);
        }
      }
    }
    const list = [...causes.values()].sort(
      (a, b) => b.objects.size - a.objects.size || a.key.localeCompare(b.key),
    );
    return { causes: list, pure };
  }

  function causeText(connectionIds, objects) {
    const who = names(connectionIds.map(connectionName).sort());
    return `connections ${who} read the same ${plural(objects, 'object')}: narrow one search base`;
  }

  function token() {
    return sessionStorage.getItem(TOKEN_KEY);
  }

  class AuthError extends Error {}

  async function gql(query, variables) {
    const response = await fetch(httpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token()}` },
      body: JSON.stringify({ query, variables: variables ?? {} }),
    });
    const body = await response.json().catch(() => ({}));
    if (response.status === 401) throw new AuthError('the token was not accepted');
    if (body.errors?.length) throw new Error(body.errors.map((e) => e.message).join('; '));
    return body.data;
  }

  function showMessage(text) {
    const box = $('message');
    box.textContent = text ?? '';
    box.hidden = !text;
  }

  function statusBadge(status, run) {
    const label = status === 'RUNNING' && run ? `RUNNING · ${run.phase.toLowerCase()}` : status;
    return el('span', { class: `badge ${status}`, 'data-status': status, text: label });
  }

  function renderNodes(nodes) {
    const body = $('nodes').tBodies[0];
    body.replaceChildren(
      ...nodes.map((n) =>
        el(
          'tr',
          { 'data-node': n.name, 'data-warning': n.hasWarning ? 'true' : 'false' },
          el(
            'td',
            {},
            el('strong', { text: n.name }),
            n.name === nodeName ? el('span', { class: 'sub', text: 'this node' }) : null,
          ),
          el('td', { text: when(n.lastSeenAt) }),
          el('td', { class: 'num', text: n.connections.length }),
          el(
            'td',
            {},
            n.hasWarning
              ? el('span', {
                  class: 'badge warning node-warning',
                  // The other warning: a cache kept for a connection the settings store lost (see the log).
                  text:
                    n.duplicateFindings.length > 0
                      ? findingsWarning(n.duplicateFindings)
                      : '⚠ serving a cache whose connection settings are missing',
                })
              : el('span', { class: 'badge ok', text: 'no warnings' }),
          ),
        ),
      ),
    );
  }

  // The node's badge: how many findings, and the overlap behind them when there is one.
  function findingsWarning(findings) {
    const text = `⚠ ${plural(findings.length, 'duplicate finding')}`;
    const overlapping = new Set(findings.filter((f) => f.sameObject).flatMap((f) => f.connectionIds));
    if (overlapping.size < 2) return text;
    return `${text}, from overlapping connections ${names([...overlapping].map(connectionName).sort())}`;
  }

  // The run's mode; a full run that was asked to be incremental says so (the console says why).
  function modeWord(run) {
    if (run.mode === 'INCREMENTAL') return 'incremental';
    if (run.mode !== 'FULL') return '';
    return run.fallbackReason ? 'full (asked to be incremental)' : 'full';
  }

  function runCell(run) {
    if (!run) return el('td', { class: 'muted', text: 'never' });
    const changes = run.changes
      ? `+${run.changes.addedCount} ~${run.changes.updatedCount} −${run.changes.removedCount}`
      : '';
    return el(
      'td',
      { class: 'last-run', 'data-run-id': run.id, 'data-mode': run.mode },
      statusBadge(run.status, run),
      ' ',
      [run.trigger?.toLowerCase(), modeWord(run)].filter(Boolean).join(' · '),
      el('span', {
        class: 'sub',
        text: [when(run.finishedAt ?? run.startedAt), duration(run), changes].filter(Boolean).join(' · '),
      }),
      run.status === 'RUNNING'
        ? el('span', { class: 'sub progress', text: `${run.progress} entries read` })
        : null,
      run.error ? el('span', { class: 'sub error', text: run.error }) : null,
    );
  }

  function renderConnections(connections) {
    const body = $('connections').tBodies[0];
    $('no-connections').hidden = connections.length > 0;
    body.replaceChildren(
      ...connections.map((c) =>
        el(
          'tr',
          { 'data-connection-id': c.id, 'data-status': c.status },
          el(
            'td',
            {},
            el('strong', {}, el('a', { href: `#/connections/${encodeURIComponent(c.id)}`, text: c.name })),
            el('span', { class: 'sub', text: `${c.domain.name} · ${c.searchBase}` }),
            el('span', {
              class: 'sub',
              text: c.activeServer ?? (c.servers.length ? c.servers.join(', ') : 'DNS SRV discovery'),
            }),
            // A password that travels in clear, because the connection allows it (allowPlaintextBind).
            c.allowPlaintextBind && c.tls === 'NONE' && c.hasBindPassword
              ? el('span', {
                  class: 'sub plaintext',
                  text: '⚠ sends its bind password without TLS (allowPlaintextBind)',
                })
              : null,
            c.overlapsWith.length
              ? el('span', {
                  class: 'sub overlaps',
                  text: `⚠ reads some of the same objects as ${names(c.overlapsWith.map((o) => o.name))}`,
                })
              : null,
          ),
          el(
            'td',
            { class: 'status' },
            statusBadge(c.status, c.lastSync),
            c.enabled ? null : el('span', { class: 'sub', text: 'disabled' }),
          ),
          el('td', { class: 'num users', text: c.userCount }),
          el('td', { class: 'num groups', text: c.groupCount }),
          el('td', { class: 'num contacts', text: c.contactCount }),
          runCell(c.lastSync),
          el('td', { text: when(c.lastSuccessfulSync?.finishedAt) }),
          el(
            'td',
            {},
            el('button', {
              type: 'button',
              class: 'sync admin-only',
              'data-sync': c.id,
              disabled: c.status === 'RUNNING',
              text: 'Sync',
              onclick: () => startSync(c.id),
            }),
          ),
        ),
      ),
    );
  }

  function principalItem(p) {
    return el(
      'li',
      { 'data-principal-id': p.id },
      `${p.kind.toLowerCase()} `,
      el('strong', {}, el('a', { href: `#/principal/${encodeURIComponent(p.id)}`, text: p.displayName })),
      p.primaryEmail ? ` <${p.primaryEmail}>` : '',
      el('span', { class: 'sub', text: `${p.dn} · ${p.connection.name}` }),
    );
  }

  /** Objects listed per cause at most; the rest are counted. */
  const OBJECTS_SHOWN = 50;

  function renderCause(cause) {
    const byKind = new Map();
    for (const f of cause.findings) byKind.set(f.kind, (byKind.get(f.kind) ?? 0) + 1);
    const kinds = [...byKind]
      .sort(([a], [b]) => KIND_ORDER.indexOf(a) - KIND_ORDER.indexOf(b))
      .map(([kind, n]) => `${n} ${(KIND_TITLES[kind] ?? kind).toLowerCase()}`);
    const objects = [...cause.objects.values()];
    return el(
      'section',
      { class: 'overlap', 'data-overlap': cause.key, 'data-objects': cause.objects.size },
      el(
        'h3',
        {},
        'Overlapping connections ',
        el('span', { class: 'count', text: `${cause.findings.length}` }),
      ),
      el('p', { class: 'cause', text: causeText(cause.connectionIds, cause.objects.size) }),
      el('p', {
        class: 'consequence muted',
        text:
          `Each of these objects is one account per connection to the mail gateway, so its names and addresses are duplicated` +
          (kinds.length ? ` (${kinds.join(', ')})` : '') +
          ': protection against Active Directory spoofing, personal Backup and personal lists are off for them until one search base no longer holds them.',
      }),
      el(
        'details',
        {},
        el('summary', { text: `the ${plural(objects.length, 'object')}` }),
        el(
          'ul',
          {},
          ...objects.slice(0, OBJECTS_SHOWN).map((accounts) =>
            el(
              'li',
              { 'data-guid': accounts[0].guid },
              `${accounts[0].kind.toLowerCase()} `,
              el('strong', { text: accounts[0].displayName }),
              el('span', {
                class: 'sub',
                text: `${accounts[0].dn} · ${names([...new Set(accounts.map((p) => p.connection.name))])}`,
              }),
            ),
          ),
          objects.length > OBJECTS_SHOWN
            ? el('li', { class: 'muted', text: `and ${objects.length - OBJECTS_SHOWN} more` })
            : null,
        ),
      ),
    );
  }

  function renderFindings(findings) {
    $('findings-count').textContent = findings.length ? `(${findings.length})` : '';
    const box = $('findings');
    if (findings.length === 0) {
      box.replaceChildren(
        el('p', { class: 'muted', text: 'No duplicates: every name and address is unique.' }),
      );
      return;
    }
    // Findings that only repeat one object read through overlapping connections go under their cause.
    const { causes, pure } = overlapCauses(findings);
    const groups = new Map();
    for (const f of findings) {
      if (pure.has(f.id)) continue;
      if (!groups.has(f.kind)) groups.set(f.kind, []);
      groups.get(f.kind).push(f);
    }
    const kinds = [...groups.keys()].sort((a, b) => KIND_ORDER.indexOf(a) - KIND_ORDER.indexOf(b));
    box.replaceChildren(
      ...causes.map(renderCause),
      ...kinds.map((kind) => {
        const list = groups.get(kind);
        return el(
          'section',
          { class: 'kind', 'data-kind': kind },
          el(
            'h3',
            {},
            `${KIND_TITLES[kind] ?? kind} `,
            el('span', { class: 'count', text: `${list.length}` }),
          ),
          el('p', { class: 'consequence muted', text: list[0].consequence }),
          ...list.map((f) =>
            el(
              'div',
              {
                class: 'finding',
                'data-finding-id': f.id,
                'data-same-object': f.sameObject ? 'true' : 'false',
              },
              el('span', { class: 'value', text: f.value }),
              ' ',
              el('span', { class: 'muted', text: `${f.principals.length} objects` }),
              f.sameObject
                ? el('span', {
                    class: 'sub',
                    text: 'some of them are one object read through overlapping connections',
                  })
                : null,
              el('ul', {}, ...f.principals.map(principalItem)),
            ),
          ),
        );
      }),
    );
  }

  async function refresh() {
    try {
      const data = await gql(STATUS_QUERY);
      nodeName = data.node.name;
      connectionNames = new Map(data.connections.map((c) => [c.id, c.name]));
      renderNodes(data.clusterNodes);
      renderConnections(data.connections);
      renderFindings(data.duplicateFindings);
      document.body.dataset.loaded = 'true';
      showMessage(null);
    } catch (err) {
      if (err instanceof AuthError) return logout(err.message);
      showMessage(`Could not load: ${err.message}`);
    }
  }

  function scheduleRefresh(ms) {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, ms);
  }

  async function startSync(connectionId) {
    try {
      const data = await gql(START_SYNC, { connectionId });
      for (const run of data.startSync) applyRun(run);
    } catch (err) {
      if (err instanceof AuthError) return logout(err.message);
      showMessage(`Could not start the sync: ${err.message}`);
    }
  }

  // A run event: update its connection's row at once; refetch counts and findings when it ends.
  function applyRun(run) {
    const row = document.querySelector(`tr[data-connection-id="${CSS.escape(run.connectionId)}"]`);
    if (row) {
      row.dataset.status = run.status;
      row.querySelector('td.status')?.replaceChildren(statusBadge(run.status, run));
      const button = row.querySelector('button.sync');
      if (button) button.disabled = run.status === 'RUNNING';
      if (run.status === 'RUNNING') {
        const last = row.querySelector('td.last-run') ?? row.cells[5];
        if (last) last.replaceWith(runCell(run));
      }
    }
    if (run.status !== 'RUNNING') scheduleRefresh(50);
  }

  function setLive(on) {
    const badge = $('live');
    badge.className = `live ${on ? 'on' : 'off'}`;
    badge.dataset.state = on ? 'on' : 'off';
    badge.textContent = on ? 'live' : 'offline';
  }

  function connectLive() {
    wsClient?.dispose();
    wsClient = window.graphqlWs.createClient({
      url: wsUrl,
      connectionParams: () => ({ authorization: `Bearer ${token()}` }),
      retryAttempts: Number.POSITIVE_INFINITY,
      shouldRetry: () => true,
      lazy: false,
      on: {
        connected: () => {
          setLive(true);
          // Anything missed while disconnected.
          scheduleRefresh(0);
        },
        closed: () => setLive(false),
      },
    });
    wsClient.subscribe(
      { query: SYNC_EVENTS },
      {
        next: (msg) => {
          if (msg.data?.syncEvents?.node === nodeName || !nodeName) applyRun(msg.data.syncEvents.run);
          else scheduleRefresh(200);
        },
        error: () => setLive(false),
        complete: () => {},
      },
    );
    wsClient.subscribe(
      { query: DUPLICATE_WARNINGS },
      { next: () => scheduleRefresh(50), error: () => setLive(false), complete: () => {} },
    );
  }

  function logout(reason) {
    sessionStorage.removeItem(TOKEN_KEY);
    wsClient?.dispose();
    wsClient = null;
    setLive(false);
    $('app').hidden = true;
    $('forget').hidden = true;
    $('login').hidden = false;
    $('login-error').textContent = reason ?? '';
    $('token').focus();
    document.dispatchEvent(new CustomEvent('dirgate:logout'));
  }

  async function open() {
    $('login').hidden = true;
    $('app').hidden = false;
    $('forget').hidden = false;
    // The console (console.js) shows its pages and the token's role.
    document.dispatchEvent(new CustomEvent('dirgate:open'));
    await refresh();
    if (token()) connectLive();
  }

  $('login').addEventListener('submit', (event) => {
    event.preventDefault();
    const value = $('token').value.trim();
    if (!value) return;
    sessionStorage.setItem(TOKEN_KEY, value);
    $('token').value = '';
    void open();
  });
  $('forget').addEventListener('click', () => logout(null));
  $('sync-all').addEventListener('click', () => startSync(null));
  // Relative times stay fresh without a refetch storm.
  setInterval(() => {
    if (token() && !document.hidden) scheduleRefresh(0);
  }, 30_000);

  if (token()) void open();
  else logout(null);
})();
