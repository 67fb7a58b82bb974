// Add and edit a connection: every field of AddConnectionInput / UpdateConnectionInput, each API
// error on its field, the schedule previewed as it is typed, and Test (testConnection) with its steps.
import { ApiError, gatewayTimeZone, gql } from './console-api.js';
import { CronError, describeCron, nextRuns, shortestGap } from './console-cron.js';
import { connectionHref, el, field, heading, ms, plural, setFieldError } from './console-dom.js';

const SETTINGS = `query ConsoleConnectionSettings($id: ID!) {
  connection(id: $id) {
    id name searchBase servers tls tlsVerify hasCaCertificate ...PlaintextBind ...Kerberos bindDn hasBindPassword includeContacts
    userFilter groupFilter contactFilter netbiosName schedule incrementalSchedule changeTracking enabled deleteThreshold
    domain { name }
  }
}`;
const INPUT_FIELDS = `query ConsoleInputFields { __type(name: "AddConnectionInput") { inputFields { name } } }`;
const PLAINTEXT_FRAGMENT = 'fragment PlaintextBind on Connection { allowPlaintextBind }';
const KERBEROS_FRAGMENT = 'fragment Kerberos on Connection { auth hasKeytab keytabPrincipal kdcs }';
const ADD = `mutation ConsoleAddConnection($input: AddConnectionInput!) { addConnection(input: $input) { id } }`;
const UPDATE = `mutation ConsoleUpdateConnection($id: ID!, $input: UpdateConnectionInput!) {
  updateConnection(id: $id, input: $input) { id }
}`;
const TEST = `mutation ConsoleTestConnection($input: AddConnectionInput!) {
  testConnection(input: $input) { ok server error users groups contacts steps { step ok ms detail } }
}`;
// An edited connection is tested with its stored settings under the changes, as Save would merge
// them: the stored password and CA bundle stay on the gateway (the password only while the
// connection binds where and how it did).
const TEST_STORED = `mutation ConsoleTestStoredConnection($id: ID!, $input: UpdateConnectionInput) {
  testStoredConnection(id: $id, input: $input) { ok server error users groups contacts steps { step ok ms detail } }
}`;

const TLS_MODES = [
  ['NONE', 'None: plain LDAP (ldap://)'],
  ['STARTTLS', 'StartTLS on ldap://'],
  ['LDAPS', 'LDAPS (ldaps://)'],
];
const AUTH_METHODS = [
  ['ANONYMOUS', 'Anonymous (no credentials)'],
  ['SIMPLE', 'Simple bind: DN and password'],
  ['KERBEROS', 'Kerberos (SASL GSSAPI) with a keytab'],
];
const TEXT_FIELDS = [
  'name',
  'searchBase',
  'bindDn',
  'userFilter',
  'groupFilter',
  'contactFilter',
  'netbiosName',
];
const STEP_NAMES = {
  DNS: 'DNS',
  TCP: 'TCP connect',
  TLS: 'TLS',
  KERBEROS: 'Kerberos',
  BIND: 'Bind',
  SEARCH: 'Search',
};

function input(name, attrs = {}) {
  return el('input', { name, type: 'text', autocomplete: 'off', spellcheck: 'false', ...attrs });
}

function checkbox(name, checked) {
  return el('input', { name, type: 'checkbox', checked });
}

/** Incremental runs may come at most once a minute (the gateway's MIN_INCREMENTAL_INTERVAL_MS). */
const INCREMENTAL_MIN_GAP_S = 60;

function gapWords(seconds) {
  return seconds % 60 === 0 ? plural(seconds / 60, 'minute') : plural(seconds, 'second');
}

/**
 * The schedule's words and next five runs, or why it is refused. The runs are computed in the
 * gateway's zone (`gatewayZone`, where its scheduler fires) and shown in this browser's, with the
 * gateway's wall clock beside each when the zones differ. `minGapSeconds`: runs closer than this
 * are refused, as the gateway refuses them (`tooShort` says what may come how often).
 */
export function schedulePreview(
  expression,
  gatewayZone,
  { className = 'schedule-preview', minGapSeconds = 0, tooShort = '' } = {},
) {
  const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const zone = gatewayZone ?? browserZone;
  const sameZone = zone === browserZone;
  try {
    const runs = nextRuns(expression, 5, new Date(), { timeZone: zone });
    const gap = minGapSeconds > 0 ? shortestGap(expression) : null;
    if (gap && gap.seconds < minGapSeconds)
      return el(
        'div',
        { class: className, 'data-valid': 'false' },
        el('p', {
          class: 'error refused',
          text: `it runs ${gapWords(gap.seconds)} apart (at ${gap.between}); ${tooShort}`,
        }),
      );
    return el(
      'div',
      { class: className, 'data-valid': 'true', 'data-zone': zone },
      el('p', { class: 'words', text: describeCron(expression) }),
      el(
        'ol',
        { class: 'next-runs', 'aria-label': `Next runs, in this browser's time zone (${browserZone})` },
        runs.map((d) =>
          el(
            'li',
            {},
            el('time', { datetime: d.toISOString(), text: d.toLocaleString() }),
            sameZone
              ? null
              : el('span', {
                  class: 'sub gateway-time',
                  text: ` · ${d.toLocaleString(undefined, { timeZone: zone })} ${zone}`,
                }),
          ),
        ),
      ),
      el('p', {
        class: 'hint zones',
        text: !gatewayZone
          ? `The gateway did not say its time zone: the runs are computed in this browser's (${browserZone}).`
          : sameZone
            ? `The gateway fires schedules in its time zone, ${zone}, which is this browser's too.`
            : `The gateway fires schedules in its time zone, ${zone}: the times are shown in this browser's (${browserZone}), the gateway's after each.`,
      }),
    );
  } catch (err) {
    if (!(err instanceof CronError)) throw err;
    return el(
      'div',
      { class: className, 'data-valid': err.unsupported ? 'unknown' : 'false' },
      el('p', { class: err.unsupported ? 'hint' : 'error refused', text: err.message }),
      err.unsupported
        ? null
        : el('p', {
            class: 'hint',
            text: 'Five fields: minute hour day-of-month month day-of-week, e.g. */30 * * * * (every 30 minutes) or 0 2 * * * (02:00 every day).',
          }),
    );
  }
}

/**
 * The incremental schedule's preview: off when empty (full runs only), else as the schedule's,
 * refused under a minute between runs.
 */
export function incrementalPreview(expression, gatewayZone) {
  if (String(expression ?? '').trim() === '')
    return el(
      'div',
      { class: 'incremental-preview', 'data-valid': 'off' },
      el('p', { class: 'words', text: 'off: full runs only, on the schedule above' }),
    );
  return schedulePreview(expression, gatewayZone, {
    className: 'incremental-preview',
    minGapSeconds: INCREMENTAL_MIN_GAP_S,
    tooShort: 'incremental runs may come at most once a minute',
  });
}

function testReport(result) {
  const failed = result.steps.find((s) => !s.ok);
  return el(
    'div',
    { class: `test-report ${result.ok ? 'ok' : 'failed'}`, 'data-ok': String(result.ok), role: 'status' },
    el('p', {
      class: 'verdict',
      text: result.ok
        ? `Connected to ${result.server}: ${plural(result.users ?? 0, 'user')}, ${plural(result.groups ?? 0, 'group')}, ${plural(result.contacts ?? 0, 'contact')}`
        : `Failed${failed ? ` at ${STEP_NAMES[failed.step] ?? failed.step}` : ''}: ${result.error ?? 'no detail'}`,
    }),
    el(
      'ol',
      { class: 'steps' },
      result.steps.map((s) =>
        el(
          'li',
          { 'data-step': s.step, 'data-ok': String(s.ok), class: s.ok ? 'ok' : 'failed' },
          el('span', { class: 'mark', 'aria-hidden': 'true', text: s.ok ? '✓' : '✗' }),
          el('strong', { text: STEP_NAMES[s.step] ?? s.step }),
          ` ${s.ok ? 'ok' : 'failed'} · ${ms(s.ms)}`,
          s.detail ? el('span', { class: 'sub', text: s.detail }) : null,
        ),
      ),
    ),
  );
}

/** The form for a new connection (id null) or for editing one. */
export async function connectionForm(id) {
  const inputFields = new Set((await gql(INPUT_FIELDS)).__type?.inputFields.map((f) => f.name) ?? []);
  // allowPlaintextBind is offered once the gateway's schema has it (introspection is on).
  const plaintextOption = inputFields.has('allowPlaintextBind');
  // The auth method and the keytab, likewise, once the gateway has them (#17).
  const kerberosOption = inputFields.has('keytab');
  let settings = plaintextOption
    ? `${SETTINGS}\n${PLAINTEXT_FRAGMENT}`
    : SETTINGS.replace(' ...PlaintextBind', '');
  settings = kerberosOption ? `${settings}\n${KERBEROS_FRAGMENT}` : settings.replace(' ...Kerberos', '');
  const current = id ? (await gql(settings, { id })).connection : null;
  const zone = await gatewayTimeZone();
  if (id && !current) return el('p', { class: 'error', text: `No connection ${id}.` });
  const c = current ?? {
    name: '',
    searchBase: '',
    servers: [],
    tls: 'NONE',
    tlsVerify: true,
    bindDn: '',
    auth: null,
    kdcs: [],
    includeContacts: false,
    schedule: '*/30 * * * *',
    // The API's default for a new connection: every minute (where the directory tracks changes).
    incrementalSchedule: '* * * * *',
    enabled: true,
    deleteThreshold: null,
    domain: { name: '' },
  };
  let caText = null;
  /** The keytab file chosen, base64 (what the API takes); null: none chosen (the stored one is kept). */
  let keytabText = null;
  /** A new connection's method is sent only once chosen: left alone, the gateway derives it from the bind DN. */
  let authChosen = false;
  // A new form starts at Simple, the usual method; an empty bind DN still adds an anonymous one.
  const derivedAuth = c.bindDn || !current ? 'SIMPLE' : 'ANONYMOUS';

  const controls = {
    name: input('name', { value: c.name, required: true }),
    domain: input('domain', { value: c.domain.name, required: true, readonly: Boolean(current) }),
    searchBase: input('searchBase', { value: c.searchBase, required: true }),
    servers: el('textarea', { name: 'servers', rows: '3', spellcheck: 'false', value: c.servers.join('\n') }),
    tls: el(
      'select',
      { name: 'tls' },
      TLS_MODES.map(([v, label]) => el('option', { value: v, text: label, selected: v === c.tls })),
    ),
    tlsVerify: checkbox('tlsVerify', c.tlsVerify),
    allowPlaintextBind: checkbox('allowPlaintextBind', c.allowPlaintextBind ?? false),
    caCertificate: el('input', { name: 'caCertificate', type: 'file', accept: '.pem,.crt,.cer,text/plain' }),
    removeCa: checkbox('removeCa', false),
    bindDn: input('bindDn', { value: c.bindDn ?? '' }),
    bindPassword: el('input', { name: 'bindPassword', type: 'password', autocomplete: 'new-password' }),
    removePassword: checkbox('removePassword', false),
    auth: el(
      'select',
      { name: 'auth' },
      AUTH_METHODS.map(([v, label]) =>
        el('option', { value: v, text: label, selected: v === (c.auth ?? derivedAuth) }),
      ),
    ),
    keytab: el('input', { name: 'keytab', type: 'file', accept: '.keytab,application/octet-stream' }),
    kdcs: el('textarea', { name: 'kdcs', rows: '2', spellcheck: 'false', value: (c.kdcs ?? []).join('\n') }),
    includeContacts: checkbox('includeContacts', c.includeContacts),
    userFilter: input('userFilter', { value: c.userFilter ?? '' }),
    groupFilter: input('groupFilter', { value: c.groupFilter ?? '' }),
    contactFilter: input('contactFilter', { value: c.contactFilter ?? '' }),
    netbiosName: input('netbiosName', { value: c.netbiosName ?? '' }),
    schedule: input('schedule', { value: c.schedule }),
    incrementalSchedule: input('incrementalSchedule', { value: c.incrementalSchedule ?? '' }),
    enabled: checkbox('enabled', c.enabled),
    deleteThreshold: el('input', {
      name: 'deleteThreshold',
      type: 'number',
      min: '0',
      max: '100',
      step: 'any',
      inputmode: 'decimal',
      value:
        c.deleteThreshold === null || c.deleteThreshold === undefined ? '' : String(c.deleteThreshold * 100),
    }),
  };
  const srv = el('input', {
    type: 'radio',
    name: 'discovery',
    value: 'srv',
    checked: c.servers.length === 0,
  });
  const listed = el('input', {
    type: 'radio',
    name: 'discovery',
    value: 'servers',
    checked: c.servers.length > 0,
  });
  const caStatus = el('span', {
    class: 'hint ca-status',
    text: current?.hasCaCertificate ? 'A CA bundle is set.' : 'No CA bundle: the system trust store only.',
  });
  const preview = el(
    'div',
    { class: 'preview-slot', 'aria-live': 'polite' },
    schedulePreview(c.schedule, zone),
  );
  const incrementalSlot = el(
    'div',
    { class: 'preview-slot', 'aria-live': 'polite' },
    incrementalPreview(controls.incrementalSchedule.value, zone),
  );
  const formError = el('p', { class: 'error form-error', role: 'alert' });
  const testSlot = el('div', { class: 'test-slot', 'aria-live': 'polite' });
  const serversField = field(
    'servers',
    'Servers (one ldap:// or ldaps:// URL a line, tried in order)',
    controls.servers,
  );

  const showServers = () => {
    serversField.hidden = !listed.checked;
  };
  srv.addEventListener('change', showServers);
  listed.addEventListener('change', showServers);
  showServers();
  controls.schedule.addEventListener('input', () =>
    preview.replaceChildren(schedulePreview(controls.schedule.value, zone)),
  );
  controls.incrementalSchedule.addEventListener('input', () =>
    incrementalSlot.replaceChildren(incrementalPreview(controls.incrementalSchedule.value, zone)),
  );
  const keytabStatus = el('span', {
    class: 'hint keytab-status',
    text: current?.hasKeytab
      ? `A keytab${current.keytabPrincipal ? ` for ${current.keytabPrincipal}` : ''} is stored and never shown: choose a file only to replace it (needed again when servers, TLS or KDCs change).`
      : "The service account's keytab (ktpass, msktutil, samba-tool domain exportkeytab --principal=…): checked and sealed by the gateway, never shown again.",
  });
  // The bind fields of each method, shown for the method chosen (showAuth).
  const credentialFields = {
    bindDn: field(
      'bindDn',
      'Bind DN (or user@realm, DOMAIN\\user)',
      controls.bindDn,
      'Empty: anonymous bind.',
    ),
    bindPassword: field(
      'bindPassword',
      'Bind password',
      controls.bindPassword,
      current?.hasBindPassword
        ? 'A password is stored and never shown: leave empty to keep it (and to test with it); type it again when servers, TLS, CA or bind DN change.'
        : 'Write-only: it is never shown again.',
    ),
    removePassword: current?.hasBindPassword
      ? field('removePassword', 'Remove the stored password', controls.removePassword)
      : null,
    allowPlaintextBind: plaintextOption
      ? field(
          'allowPlaintextBind',
          'Allow sending the password without TLS',
          controls.allowPlaintextBind,
          'Only for a directory on a trusted network: with TLS None the password crosses it in clear.',
        )
      : null,
    keytab: kerberosOption ? field('keytab', 'Keytab file', controls.keytab) : null,
    kdcs: kerberosOption
      ? field(
          'kdcs',
          'KDCs (one host or host:port a line, tried in order)',
          controls.kdcs,
          "Empty: found through DNS SRV records of the keytab's realm (_kerberos._tcp).",
        )
      : null,
  };
  const showAuth = () => {
    const auth = controls.auth.value;
    for (const [name, box] of Object.entries(credentialFields)) {
      if (!box) continue;
      const kerberosField = name === 'keytab' || name === 'kdcs';
      // Anonymous hides the bind fields once chosen; as stored, a bind DN typed in makes it Simple.
      const anonymous = auth === 'ANONYMOUS' && authChosen;
      hide(box, kerberosOption && (auth === 'KERBEROS' ? !kerberosField : kerberosField || anonymous));
    }
    hide(keytabStatus, auth !== 'KERBEROS');
  };
  controls.auth.addEventListener('change', () => {
    authChosen = true;
    showAuth();
  });
  controls.keytab.addEventListener('change', async () => {
    const file = controls.keytab.files?.[0];
    keytabText = file ? base64Of(new Uint8Array(await file.arrayBuffer())) : null;
    keytabStatus.textContent = file
      ? `${file.name}: ${plural(file.size, 'byte')}, checked when you save or test.`
      : '';
  });
  controls.caCertificate.addEventListener('change', async () => {
    const file = controls.caCertificate.files?.[0];
    caText = file ? await file.text() : null;
    const blocks = caText?.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;
    caStatus.textContent = file ? `${file.name}: ${plural(blocks, 'certificate')}, sent when you save.` : '';
  });

  const form = el(
    'form',
    {
      class: 'card connection-form',
      novalidate: true,
      'aria-label': current ? 'Connection settings' : 'New connection',
    },
    el('fieldset', {}, el('legend', { text: 'The connection' }), [
      field('name', 'Name', controls.name),
      field(
        'domain',
        'Mail domain',
        controls.domain,
        current ? 'Fixed once added: add a connection for another domain.' : 'e.g. corp.example',
      ),
      field('searchBase', 'Search base (DN)', controls.searchBase, 'e.g. dc=corp,dc=example'),
      field('enabled', 'Enabled (synchronized on its schedule)', controls.enabled),
      field('includeContacts', 'Include contacts', controls.includeContacts),
    ]),
    el('fieldset', {}, el('legend', { text: 'Where the directory is' }), [
      el(
        'div',
        { class: 'field radios', role: 'radiogroup', 'aria-label': 'How servers are found' },
        el('label', {}, srv, ' DNS SRV records of the mail domain (_ldap._tcp)'),
        el('label', {}, listed, ' These servers'),
      ),
      serversField,
      field('tls', 'TLS', controls.tls),
      field('tlsVerify', "Verify the directory's certificate", controls.tlsVerify),
      field('caCertificate', 'CA bundle (PEM file)', controls.caCertificate),
      caStatus,
      current?.hasCaCertificate ? field('removeCa', 'Remove the CA bundle', controls.removeCa) : null,
    ]),
    el('fieldset', {}, el('legend', { text: 'Bind' }), [
      kerberosOption ? field('auth', 'Authentication', controls.auth) : null,
      credentialFields.bindDn,
      credentialFields.bindPassword,
      credentialFields.removePassword,
      credentialFields.allowPlaintextBind,
      credentialFields.keytab,
      kerberosOption ? keytabStatus : null,
      credentialFields.kdcs,
    ]),
    el('fieldset', {}, el('legend', { text: 'What is read' }), [
      field('userFilter', 'User filter', controls.userFilter, 'Empty: the directory type’s default.'),
      field('groupFilter', 'Group filter', controls.groupFilter),
      field('contactFilter', 'Contact filter', controls.contactFilter),
      field(
        'netbiosName',
        'NetBIOS domain name',
        controls.netbiosName,
        'For NTLM names where the directory states none (AD does).',
      ),
    ]),
    el('fieldset', {}, el('legend', { text: 'Schedule and safety' }), [
      field('schedule', 'Schedule (cron)', controls.schedule),
      preview,
      field(
        'incrementalSchedule',
        'Incremental schedule (cron)',
        controls.incrementalSchedule,
        current?.changeTracking === 'NONE'
          ? 'Runs that read only what changed since the last run, between the full runs above; at most once a minute. Empty: off (full runs only). As its last run found, this directory does not say what changed: every run is full.'
          : 'Runs that read only what changed since the last run, between the full runs above; at most once a minute. Empty: off (full runs only). Where the directory does not say what changed, every run is full.',
      ),
      incrementalSlot,
      field(
        'deleteThreshold',
        'Hold a run that would remove more than (%)',
        controls.deleteThreshold,
        current
          ? "Empty keeps the current value (the API cannot set a connection back to the node's default)."
          : "Empty: the node's default.",
      ),
    ]),
    formError,
    el(
      'div',
      { class: 'actions' },
      el('button', { type: 'submit', class: 'primary', text: current ? 'Save changes' : 'Add connection' }),
      el('button', { type: 'button', class: 'secondary test', text: 'Test', onclick: () => void runTest() }),
      el('a', { href: current ? connectionHref(current.id) : '#/', text: 'Cancel' }),
    ),
    testSlot,
  );

  function clearErrors() {
    formError.textContent = '';
    for (const box of form.querySelectorAll('[data-field]')) setFieldError(form, box.dataset.field, null);
  }

  function showErrors(err) {
    if (!(err instanceof ApiError)) {
      formError.textContent = err.message;
      return;
    }
    const byField = err.byField();
    let first = null;
    const elsewhere = [];
    for (const [name, message] of byField) {
      // `kdcs[2]` is shown on the KDC list, as the API names one line of it.
      if (setFieldError(form, name, message) || setFieldError(form, name.replace(/\[\d+\]$/, ''), message))
        first ??= form.querySelector(`[data-field="${name}"] [aria-invalid]`);
      else elsewhere.push(`${name}: ${message}`);
    }
    const unfielded = err.errors.filter((e) => typeof e.extensions?.field !== 'string').map((e) => e.message);
    formError.textContent = [...elsewhere, ...unfielded].join('; ');
    if (first && !listed.checked && first.name === 'servers') listed.checked = true;
    showServers();
    (first ?? formError).focus?.();
  }

  /** What the form says, as AddConnectionInput. */
  function values() {
    const v = {};
    for (const name of TEXT_FIELDS) v[name] = controls[name].value.trim();
    v.domain = controls.domain.value.trim();
    v.servers = listed.checked
      ? controls.servers.value
          .split('\n')
          .map((s) => s.trim())
          .filter(Boolean)
      : [];
    v.tls = controls.tls.value;
    v.tlsVerify = controls.tlsVerify.checked;
    if (plaintextOption) v.allowPlaintextBind = controls.allowPlaintextBind.checked;
    v.includeContacts = controls.includeContacts.checked;
    v.enabled = controls.enabled.checked;
    v.schedule = controls.schedule.value.trim();
    // Empty is sent as such: it turns incremental runs off (left out, a new connection gets the default).
    v.incrementalSchedule = controls.incrementalSchedule.value.trim();
    const pct = controls.deleteThreshold.value.trim();
    v.deleteThreshold = pct === '' ? null : Number(pct) / 100;
    return v;
  }

  function kdcLines() {
    return controls.kdcs.value
      .split('\n')
      .map((s) => s.trim())
      .filter(Boolean);
  }

  /** Each method sends only its own credentials: the hidden fields of another are left out. */
  function credentialsFor(out, auth) {
    if (auth === 'KERBEROS' || auth === 'ANONYMOUS') {
      delete out.bindDn;
      delete out.bindPassword;
      delete out.allowPlaintextBind;
    }
    if (auth !== 'KERBEROS') return out;
    if (keytabText) out.keytab = keytabText;
    return out;
  }

  function newInput() {
    const v = values();
    const out = { ...v };
    for (const name of [...TEXT_FIELDS, 'schedule']) if (out[name] === '') delete out[name];
    if (caText) out.caCertificate = caText;
    if (controls.bindPassword.value) out.bindPassword = controls.bindPassword.value;
    if (!kerberosOption || !authChosen) return out;
    out.auth = controls.auth.value;
    if (out.auth === 'KERBEROS') out.kdcs = kdcLines();
    return credentialsFor(out, out.auth);
  }

  /** Only what changed: unchanged fields are left out, so they keep their stored values. */
  function updateInput() {
    const v = values();
    const out = {};
    const was = { ...c, servers: c.servers };
    for (const name of [...TEXT_FIELDS, 'schedule', 'incrementalSchedule'])
      if (v[name] !== (was[name] ?? '')) out[name] = v[name];
    if (v.servers.join('\n') !== was.servers.join('\n')) out.servers = v.servers;
    for (const name of ['tls', 'tlsVerify', 'allowPlaintextBind', 'includeContacts', 'enabled'])
      if (v[name] !== undefined && v[name] !== (was[name] ?? false)) out[name] = v[name];
    if (v.deleteThreshold !== null && v.deleteThreshold !== was.deleteThreshold)
      out.deleteThreshold = v.deleteThreshold;
    if (caText) out.caCertificate = caText;
    else if (controls.removeCa.checked) out.caCertificate = '';
    if (controls.bindPassword.value) out.bindPassword = controls.bindPassword.value;
    else if (controls.removePassword.checked) out.bindPassword = '';
    if (!kerberosOption) return out;
    const auth = controls.auth.value;
    const switched = auth !== (c.auth ?? derivedAuth);
    if (switched) out.auth = auth;
    if (auth === 'KERBEROS' && kdcLines().join('\n') !== (c.kdcs ?? []).join('\n')) out.kdcs = kdcLines();
    return switched || auth === 'KERBEROS' ? credentialsFor(out, auth) : out;
  }

  async function runTest() {
    clearErrors();
    testSlot.replaceChildren(el('p', { class: 'muted', text: 'Testing…' }));
    try {
      const result = current
        ? (await gql(TEST_STORED, { id: current.id, input: updateInput() })).testStoredConnection
        : (await gql(TEST, { input: newInput() })).testConnection;
      testSlot.replaceChildren(testReport(result));
    } catch (err) {
      testSlot.replaceChildren();
      showErrors(err);
    }
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors();
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const saved = current
        ? (await gql(UPDATE, { id: current.id, input: updateInput() })).updateConnection
        : (await gql(ADD, { input: newInput() })).addConnection;
      location.hash = connectionHref(saved.id);
    } catch (err) {
      showErrors(err);
    } finally {
      button.disabled = false;
    }
  });

  showAuth();
  return el('div', { class: 'page' }, heading(current ? `Edit ${current.name}` : 'Add a connection'), form);
}

/** `hidden`, and display none: the stylesheet's `.field { display: flex }` would show it anyway. */
function hide(element, hidden) {
  element.hidden = hidden;
  element.style.display = hidden ? 'none' : '';
}

/** Bytes as base64, in slices (String.fromCharCode takes a bounded number of arguments). */
function base64Of(bytes) {
  let binary = '';
  for (let at = 0; at < bytes.length; at += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(at, at + 0x8000));
  }
  return btoa(binary);
}
