// One connection: its settings, its schedule with the next runs, its run history with what each run
// changed (by name), a held run to confirm or keep, live progress of a running run (graphql-ws), and,
// for an admin, Edit, Sync now, Sync changes now (an incremental run) and Delete (with what deleting
// removes).
import { gatewayTimeZone, gql } from './console-api.js';
import { schedulePreview } from './console-connection-form.js';
import { CronError, describeCron } from './console-cron.js';
import { connectionHref, duration, el, heading, plural, principalHref, when } from './console-dom.js';

const CONNECTION = `query ConsoleConnection($id: ID!) {
  connection(id: $id) {
    id name searchBase servers tls tlsVerify hasCaCertificate auth bindDn hasBindPassword hasKeytab keytabPrincipal kdcs
    allowPlaintextBind includeContacts userFilter groupFilter contactFilter netbiosName schedule incrementalSchedule changeTracking enabled
    deleteThreshold status heldRunId activeServer userCount groupCount contactCount
    domain { name }
  }
  syncRuns(connectionId: $id, last: 20) {
    id node trigger mode fallbackReason fallbackMessage deletionCheck status phase progress startedAt
    finishedAt server error
    counts { users groups contacts }
    changes { addedCount updatedCount removedCount }
  }
}`;
const RUN_CHANGES = `query ConsoleRunChanges($id: ID!) {
  syncRuns(connectionId: $id, last: 100) {
    id changes { added updated removed addedCount updatedCount removedCount removedObjects { id kind name } }
  }
}`;
const START_SYNC = `mutation ConsoleStartSync($id: ID, $mode: SyncMode) {
  startSync(connectionId: $id, mode: $mode) { id status }
}`;
const CONFIRM = `mutation ConsoleConfirmSync($connectionId: ID!, $runId: ID!) {
  confirmSync(connectionId: $connectionId, runId: $runId) { id status }
}`;
const DISCARD = `mutation ConsoleDiscardSync($connectionId: ID!, $runId: ID!) {
  discardSync(connectionId: $connectionId, runId: $runId) { id status }
}`;
const DELETE = `mutation ConsoleDeleteConnection($id: ID!) { deleteConnection(id: $id) }`;
const RUN_EVENTS = `subscription ConsoleRunEvents($id: ID) {
  syncEvents(connectionId: $id) { run { id mode status phase progress server error startedAt finishedAt } }
}`;

/** Names shown per list of a run's changes; the API allows 50 aliases of one field per request. */
const NAMES_SHOWN = 15;

/** Display names of principals by id, in one request; ids the served view no longer holds map to null. */
async function principalNames(ids) {
  if (ids.length === 0) return new Map();
  const vars = ids.map((_, i) => `$i${i}: ID!`).join(', ');
  const fields = ids.map((_, i) => `p${i}: principal(id: $i${i}) { id kind displayName }`).join('\n');
  const data = await gql(
    `query ConsolePrincipalNames(${vars}) {\n${fields}\n}`,
    Object.fromEntries(ids.map((id, i) => [`i${i}`, id])),
  );
  return new Map(ids.map((id, i) => [id, data[`p${i}`] ?? null]));
}

/** The names a run recorded for the objects it removed, by id (empty for runs recorded before them). */
function removedNames(ch) {
  return new Map((ch.removedObjects ?? []).map((o) => [o.id, o]));
}

/**
 * One list of changed objects: linked by name while the served view holds them; a removed one the
 * view no longer holds by the name the run recorded (`recorded`), else by its id.
 */
function nameList(title, kind, ids, count, names, recorded = new Map()) {
  if (count === 0) return null;
  return el(
    'div',
    { class: 'change-list', 'data-change': kind },
    el('h4', { text: `${title} (${count.toLocaleString('en')})` }),
    el(
      'ul',
      {},
      ids.slice(0, NAMES_SHOWN).map((id) => {
        const p = names.get(id);
        return p
          ? el(
              'li',
              {},
              `${p.kind.toLowerCase()} `,
              el('a', { href: principalHref(p.id), text: p.displayName }),
            )
          : recorded.has(id)
            ? el(
                'li',
                { class: 'gone' },
                `${recorded.get(id).kind.toLowerCase()} `,
                el('span', { class: 'name', text: recorded.get(id).name }),
                el('span', { class: 'muted', text: ' (no longer in the directory)' }),
              )
            : el('li', { class: 'muted', text: `${id} (no longer in the directory)` });
      }),
      count > NAMES_SHOWN
        ? el('li', { class: 'muted', text: `and ${(count - NAMES_SHOWN).toLocaleString('en')} more` })
        : null,
    ),
  );
}

/** What a run changed, by name (fetched when opened: names cost a request). */
async function changesOf(connectionId, runId) {
  const run = (await gql(RUN_CHANGES, { id: connectionId })).syncRuns.find((r) => r.id === runId);
  const ch = run?.changes;
  if (!ch) return el('p', { class: 'muted', text: 'This run recorded no changes.' });
  const ids = [
    ...ch.added.slice(0, NAMES_SHOWN),
    ...ch.updated.slice(0, NAMES_SHOWN),
    ...ch.removed.slice(0, NAMES_SHOWN),
  ];
  const names = await principalNames([...new Set(ids)].slice(0, 45));
  const lists = [
    nameList('Added', 'added', ch.added, ch.addedCount, names),
    nameList('Updated', 'updated', ch.updated, ch.updatedCount, names),
    nameList('Removed', 'removed', ch.removed, ch.removedCount, names, removedNames(ch)),
  ].filter(Boolean);
  return lists.length
    ? el('div', { class: 'changes' }, lists)
    : el('p', { class: 'muted', text: 'Nothing changed.' });
}

function changeSummary(run) {
  const ch = run.changes;
  if (!ch) return '';
  return `+${ch.addedCount} ~${ch.updatedCount} −${ch.removedCount}`;
}

/** How the directory says what changed (Connection.changeTracking), in words. */
export const CHANGE_TRACKING = {
  UNKNOWN: 'not known yet: the next full run finds out',
  DIRSYNC: 'Active Directory DirSync',
  USN: 'Active Directory update sequence numbers (uSNChanged)',
  TIMESTAMP: 'modification times (modifyTimestamp)',
  NONE: 'full runs only: the directory does not say what changed',
};

/** Why a run asked to be incremental read in full (SyncRun.fallbackReason), in words. */
export const FALLBACK = {
  NO_WATERMARK:
    'there was nothing to compare with yet (no snapshot, or one that does not say where it read up to)',
  SETTINGS_CHANGED: 'the search base, a filter or the contacts setting changed since the last run',
  NOT_SUPPORTED: 'the directory (or this account) does not say what changed',
  OTHER_SERVER: 'the last run read another server or domain controller',
  INVOCATION_ID_CHANGED: "the domain controller's database was restored from a backup",
  USN_WENT_BACKWARDS: "the domain controller's update sequence number went backwards",
  KIND_CHANGED: 'the directory now tracks changes another way',
  COOKIE_REFUSED: 'the domain controller refused the DirSync cookie',
  TOMBSTONE_LIFETIME_PASSED:
    'the last run is older than the tombstone lifetime: deletions since may be forgotten',
  REFUSED: 'the directory refused to say what changed since the last run',
};

/** How an incremental run found deletions (SyncRun.deletionCheck), in words. */
export const DELETION_CHECK = {
  TOMBSTONES: "deletions from the directory's deleted objects",
  CHANGE_LOG: "deletions from the directory's change log",
  ID_COMPARISON: "deletions by comparing every object's id",
};

/** The Mode cell of a run: Full or Incremental, why a run asked to be incremental was full, how deletions were found. */
function modeCell(run) {
  const incremental = run.mode === 'INCREMENTAL';
  return el(
    'td',
    { class: 'mode', 'data-mode': run.mode },
    el('span', { class: 'mode-name', text: incremental ? 'Incremental' : 'Full' }),
    !incremental && run.fallbackReason
      ? el('span', {
          class: 'sub fallback',
          'data-reason': run.fallbackReason,
          text: `asked to be incremental; full because ${FALLBACK[run.fallbackReason] ?? run.fallbackReason}`,
        })
      : null,
    // Null for readers: the directory's own words are an administrator's.
    !incremental && run.fallbackMessage
      ? el('span', { class: 'sub fallback-message', text: run.fallbackMessage })
      : null,
    incremental && run.deletionCheck
      ? el('span', {
          class: 'sub deletion-check',
          'data-check': run.deletionCheck,
          text: DELETION_CHECK[run.deletionCheck] ?? run.deletionCheck,
        })
      : null,
  );
}

function runRow(connectionId, run) {
  const details = el(
    'details',
    { class: 'run-changes' },
    el('summary', { text: changeSummary(run) || 'details' }),
    el('div', { class: 'slot' }),
  );
  details.addEventListener('toggle', async () => {
    const slot = details.querySelector('.slot');
    if (!details.open || slot.dataset.loaded) return;
    slot.dataset.loaded = 'true';
    slot.replaceChildren(el('p', { class: 'muted', text: 'Loading…' }));
    try {
      slot.replaceChildren(await changesOf(connectionId, run.id));
    } catch (err) {
      slot.replaceChildren(el('p', { class: 'error', text: err.message }));
    }
  });
  return el(
    'tr',
    { 'data-run-id': run.id, 'data-status': run.status },
    el('td', { text: when(run.startedAt) }),
    el('td', { text: run.trigger.toLowerCase() }),
    modeCell(run),
    el(
      'td',
      {},
      el('span', { class: `badge ${run.status}`, text: run.status }),
      run.status === 'RUNNING'
        ? el('span', {
            class: 'sub progress',
            text: `${run.phase.toLowerCase()} · ${plural(run.progress, 'entry', 'entries')} read`,
          })
        : null,
      run.error ? el('span', { class: 'sub error', text: run.error }) : null,
    ),
    el('td', { text: run.server ?? '—' }),
    el('td', { text: duration(run) }),
    el('td', {}, run.changes ? details : el('span', { class: 'muted', text: '—' })),
  );
}

/** The incremental schedule (or off) in words, and how the directory says what changed. */
function incrementalSummary(c) {
  let words = '';
  if (c.incrementalSchedule) {
    try {
      words = ` (${describeCron(c.incrementalSchedule)})`;
    } catch (err) {
      if (!(err instanceof CronError)) throw err;
    }
  }
  return el(
    'dl',
    { class: 'settings incremental' },
    el('dt', { text: 'Incremental runs' }),
    el(
      'dd',
      { class: 'incremental-schedule' },
      c.incrementalSchedule
        ? [el('code', { class: 'cron', text: c.incrementalSchedule }), words]
        : 'off: full runs only',
      c.incrementalSchedule && c.changeTracking === 'NONE'
        ? ' (not run: the directory tracks no changes)'
        : '',
    ),
    el('dt', { text: 'Changes tracked by' }),
    el('dd', {
      class: 'change-tracking',
      'data-tracking': c.changeTracking,
      text: CHANGE_TRACKING[c.changeTracking] ?? c.changeTracking,
    }),
  );
}

/** Whether the bind password may travel in clear, and whether it does (as the status page marks it). */
function plaintextBind(c) {
  if (!c.allowPlaintextBind) return 'refused';
  return c.tls === 'NONE' && c.hasBindPassword
    ? '⚠ allowed, and sent so: no TLS (allowPlaintextBind)'
    : 'allowed (allowPlaintextBind)';
}

const AUTH_WORDS = {
  ANONYMOUS: 'anonymous',
  SIMPLE: 'simple bind (DN and password)',
  KERBEROS: 'Kerberos (SASL GSSAPI, keytab)',
};

function settingsList(c, isAdmin) {
  // A reader's view withholds the bind DN and filters (null): say so rather than "default".
  const shown = (value, fallback) => value ?? (isAdmin ? fallback : 'not shown to readers');
  const rows = [
    ['Mail domain', c.domain.name],
    ['Search base', c.searchBase],
    ['Servers', c.servers.length ? c.servers.join(', ') : 'found through DNS SRV records of the domain'],
    ['Active server', c.activeServer ?? '—'],
    [
      'TLS',
      `${c.tls}${c.tls === 'NONE' ? '' : c.tlsVerify ? ', certificate verified' : ', certificate NOT verified'}`,
    ],
    ['CA bundle', c.hasCaCertificate ? 'set' : 'none (system trust store)'],
    ['Authentication', AUTH_WORDS[c.auth] ?? c.auth],
    ...(c.auth === 'KERBEROS'
      ? [
          ['Keytab', c.hasKeytab ? 'stored (write-only)' : 'none: upload one (Edit)'],
          ['Kerberos principal', shown(c.keytabPrincipal, '—')],
          ['KDCs', c.kdcs.length ? c.kdcs.join(', ') : 'found through DNS SRV records of the realm'],
        ]
      : [
          ['Bind DN', shown(c.bindDn, 'anonymous')],
          ['Bind password', c.hasBindPassword ? 'stored (write-only)' : 'none'],
          ['Password without TLS', plaintextBind(c)],
        ]),
    ['Contacts', c.includeContacts ? 'included' : 'not read'],
    ['User filter', shown(c.userFilter, 'default')],
    ['Group filter', shown(c.groupFilter, 'default')],
    ['Contact filter', shown(c.contactFilter, 'default')],
    ['NetBIOS name', c.netbiosName ?? '—'],
    ['Enabled', c.enabled ? 'yes' : 'no'],
    [
      'Hold runs removing more than',
      c.deleteThreshold === null ? "the node's default" : `${Math.round(c.deleteThreshold * 1000) / 10} %`,
    ],
  ];
  return el(
    'dl',
    { class: 'settings' },
    rows.map(([k, v]) => [el('dt', { text: k }), el('dd', { text: v })]),
  );
}

/** What the page says once a held run was discarded ("Keep the current data"). */
const KEPT_TEXT =
  'Kept: the gateway goes on serving the data from before this run, and the run is recorded as discarded. The next run compares again.';

/** `rerender` after a confirmation; `onKept` once the held run is discarded. */
async function heldPanel(c, run, isAdmin, rerender, onKept) {
  const removed = await gql(RUN_CHANGES, { id: c.id }).then((d) => d.syncRuns.find((r) => r.id === run.id));
  const ch = removed?.changes;
  const names = ch ? await principalNames(ch.removed.slice(0, 45)) : new Map();
  const status = el('p', { class: 'held-status', role: 'status' });
  return el(
    'section',
    { class: 'card held', 'data-held-run': run.id, 'aria-labelledby': 'held-title' },
    el('h3', { id: 'held-title', text: 'A run is held for confirmation' }),
    el('p', { text: run.error ?? 'This run would remove more of the cache than allowed.' }),
    el('p', {
      text: 'Until it is confirmed the gateway keeps serving the data from before it.',
      class: 'muted',
    }),
    ch ? nameList('It would remove', 'removed', ch.removed, ch.removedCount, names, removedNames(ch)) : null,
    isAdmin
      ? el(
          'div',
          { class: 'actions' },
          el('button', {
            type: 'button',
            class: 'danger confirm-held',
            text: 'Confirm: apply this run',
            onclick: async (e) => {
              e.target.disabled = true;
              try {
                await gql(CONFIRM, { connectionId: c.id, runId: run.id });
                rerender();
              } catch (err) {
                status.textContent = err.message;
                e.target.disabled = false;
              }
            },
          }),
          el('button', {
            type: 'button',
            class: 'secondary keep-held',
            text: 'Keep the current data',
            // discardSync: the staged data goes, the run is recorded FAILED (discarded), the
            // served data stays, and the next run compares with it again.
            onclick: async (e) => {
              e.target.disabled = true;
              try {
                await gql(DISCARD, { connectionId: c.id, runId: run.id });
                onKept(run.id);
              } catch (err) {
                status.textContent = err.message;
                e.target.disabled = false;
              }
            },
          }),
        )
      : null,
    status,
  );
}

function deleteDialog(c) {
  const dialog = el(
    'dialog',
    { class: 'confirm-delete', 'aria-labelledby': 'delete-title' },
    el('h3', { id: 'delete-title', text: `Delete ${c.name}?` }),
    el('p', {
      class: 'what',
      text: `This removes the connection's settings and everything cached from it: ${plural(c.userCount, 'user')}, ${plural(c.groupCount, 'group')} and ${plural(c.contactCount, 'contact')}, and its run history. The mail gateway stops seeing them at once.`,
    }),
    el('p', { class: 'error', role: 'alert' }),
    el(
      'div',
      { class: 'actions' },
      el('button', {
        type: 'button',
        class: 'danger do-delete',
        text: 'Delete connection',
        onclick: async () => {
          try {
            await gql(DELETE, { id: c.id });
            dialog.close();
            location.hash = '#/';
          } catch (err) {
            dialog.querySelector('.error').textContent = err.message;
          }
        },
      }),
      el('button', { type: 'button', class: 'secondary', text: 'Cancel', onclick: () => dialog.close() }),
    ),
  );
  return dialog;
}

/** The page of one connection; `context.onCleanup` gets the live subscription's disposer. */
export async function connectionPage(id, context) {
  const box = el('div', { class: 'page connection-page', 'data-connection-id': id });
  // The held run this page discarded: said where its panel was while it is the latest run (a
  // re-render on the run's event keeps it); the focus goes there once.
  let kept = null;
  const render = async () => {
    const [data, zone] = await Promise.all([gql(CONNECTION, { id }), gatewayTimeZone()]);
    const c = data.connection;
    if (!c) {
      box.replaceChildren(heading('No such connection'), el('p', { text: `No connection ${id}.` }));
      return;
    }
    const isAdmin = context.role === 'ADMIN';
    const dialog = isAdmin ? deleteDialog(c) : null;
    const message = el('p', { class: 'error', role: 'alert' });
    const held = c.heldRunId ? data.syncRuns.find((r) => r.id === c.heldRunId) : null;
    const syncButton = (cls, text, mode) =>
      el('button', {
        type: 'button',
        class: cls,
        text,
        disabled: c.status === 'RUNNING',
        onclick: async () => {
          message.textContent = '';
          try {
            await gql(START_SYNC, { id: c.id, mode });
          } catch (err) {
            message.textContent = err.message;
          }
        },
      });
    box.dataset.status = c.status;
    // replaceChildren would write null as text: absent parts are dropped first.
    const parts = [
      el('p', { class: 'crumbs' }, el('a', { href: '#/', text: 'Status' }), ' › connection'),
      heading(c.name),
      el(
        'p',
        { class: 'summary' },
        el('span', { class: `badge ${c.status}`, 'data-status': c.status, text: c.status }),
        ` ${plural(c.userCount, 'user')} · ${plural(c.groupCount, 'group')} · ${plural(c.contactCount, 'contact')}`,
      ),
      isAdmin
        ? el(
            'div',
            { class: 'actions' },
            el('a', { class: 'button', href: connectionHref(c.id, '/edit'), text: 'Edit settings' }),
            syncButton('sync-now', 'Sync now', 'FULL'),
            // An incremental run while one is held is refused (CONFLICT): its message shows below.
            syncButton('sync-changes', 'Sync changes now', 'INCREMENTAL'),
            el('button', {
              type: 'button',
              class: 'danger delete',
              text: 'Delete…',
              onclick: () => dialog.showModal(),
            }),
          )
        : null,
      message,
      held
        ? await heldPanel(
            c,
            held,
            isAdmin,
            () => void render(),
            (runId) => {
              kept = { runId, focus: true };
              void render();
            },
          )
        : kept && data.syncRuns[0]?.id === kept.runId
          ? el('p', { class: 'kept', role: 'status', tabindex: '-1', text: KEPT_TEXT })
          : null,
      el(
        'section',
        { class: 'card', 'aria-labelledby': 'schedule-title' },
        el('h3', { id: 'schedule-title', text: 'Schedule' }),
        el(
          'p',
          {},
          el('code', { class: 'cron', text: c.schedule }),
          c.enabled ? '' : ' (disabled: not run on schedule)',
        ),
        schedulePreview(c.schedule, zone),
        incrementalSummary(c),
      ),
      el(
        'section',
        { class: 'card', 'aria-labelledby': 'runs-title' },
        el('h3', { id: 'runs-title', text: 'Runs' }),
        el(
          'div',
          { class: 'table-wrap' },
          el(
            'table',
            { class: 'runs' },
            el(
              'thead',
              {},
              el(
                'tr',
                {},
                ['Started', 'Trigger', 'Mode', 'Status', 'Server', 'Duration', 'Changes'].map((h) =>
                  el('th', { text: h }),
                ),
              ),
            ),
            el(
              'tbody',
              {},
              data.syncRuns.length
                ? data.syncRuns.map((r) => runRow(c.id, r))
                : el('tr', {}, el('td', { colspan: '7', class: 'muted', text: 'No runs yet.' })),
            ),
          ),
        ),
      ),
      el(
        'section',
        { class: 'card', 'aria-labelledby': 'settings-title' },
        el('h3', { id: 'settings-title', text: 'Settings' }),
        settingsList(c, isAdmin),
      ),
      dialog,
    ];
    // A run's event re-renders too, maybe just after the render that focused the note: the focus
    // stays on the note that replaces it.
    const noteFocused = box.contains(document.activeElement) && document.activeElement.matches('.kept');
    // A run's changes opened before the re-render stay open (they load again).
    const opened = [...box.querySelectorAll('tr[data-run-id] details.run-changes[open]')].map(
      (d) => d.closest('tr').dataset.runId,
    );
    box.replaceChildren(...parts.filter(Boolean));
    for (const runId of opened) {
      const details = box.querySelector(`tr[data-run-id="${CSS.escape(runId)}"] details.run-changes`);
      if (details) details.open = true;
    }
    if (kept?.focus || noteFocused) {
      if (kept) kept.focus = false;
      box.querySelector('.kept')?.focus();
    }
  };
  await render();
  follow(id, box, render, context);
  return box;
}

/** Runs of this connection as they happen: the row of a running run updates; an ended run re-renders. */
function follow(id, box, render, context) {
  if (!window.graphqlWs) return;
  const client = window.graphqlWs.createClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
    connectionParams: () => ({ authorization: `Bearer ${sessionStorage.getItem('dirgate-token')}` }),
    lazy: false,
  });
  let pending = null;
  const dispose = client.subscribe(
    { query: RUN_EVENTS, variables: { id } },
    {
      next: (msg) => {
        const run = msg.data?.syncEvents?.run;
        if (!run) return;
        if (run.status === 'RUNNING') {
          box.dataset.status = 'RUNNING';
          const live = box.querySelector('.live-run') ?? el('p', { class: 'live-run', role: 'status' });
          live.dataset.runId = run.id;
          live.textContent = `Running${run.mode === 'INCREMENTAL' ? ' (incremental)' : ''}: ${run.phase.toLowerCase()}, ${plural(run.progress, 'entry', 'entries')} read${run.server ? ` from ${run.server}` : ''}`;
          if (!live.isConnected) box.querySelector('.summary')?.after(live);
          for (const b of box.querySelectorAll('button.sync-now')) b.disabled = true;
        } else {
          clearTimeout(pending);
          pending = setTimeout(() => void render(), 50);
        }
      },
      error: () => {},
      complete: () => {},
    },
  );
  context.onCleanup(() => {
    dispose();
    void client.dispose();
  });
}
