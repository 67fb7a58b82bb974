// The admin console around the status page: hash routes for the pages beyond it, the token's role
// (a reader gets no button the API would refuse), and page changes that move the focus to the new
// page's heading. The status page (status.js) stays the home view and handles the token.
import { AuthError, forgetRole, role, token } from './console-api.js';
import { connectionPage } from './console-connection.js';
import { connectionForm } from './console-connection-form.js';
import { directoryPage, principalPage } from './console-directory.js';
import { el } from './console-dom.js';

const ROUTES = [
  [
    /^#\/connections\/new$/,
    'Add a connection',
    (_m, ctx) => (ctx.role === 'ADMIN' ? connectionForm(null) : readOnly()),
  ],
  [
    /^#\/connections\/([^/?]+)\/edit$/,
    'Edit a connection',
    (m, ctx) => (ctx.role === 'ADMIN' ? connectionForm(decodeURIComponent(m[1])) : readOnly()),
  ],
  [/^#\/connections\/([^/?]+)$/, 'Connection', (m, ctx) => connectionPage(decodeURIComponent(m[1]), ctx)],
  [/^#\/directory(?:\?(.*))?$/, 'Directory', (m) => directoryPage(new URLSearchParams(m[1] ?? ''))],
  [/^#\/principal\/(.+)$/, 'Directory', (m) => principalPage(decodeURIComponent(m[1]))],
];

const $ = (id) => document.getElementById(id);
let cleanups = [];
let shown = 0;

function readOnly() {
  return el('p', {
    class: 'error',
    role: 'alert',
    text: 'This token is a reader’s: the console is read-only.',
  });
}

function cleanup() {
  for (const f of cleanups) f();
  cleanups = [];
}

async function show() {
  if (!token()) return;
  const mine = ++shown;
  cleanup();
  let who;
  try {
    who = await role();
  } catch (err) {
    if (err instanceof AuthError) return;
    throw err;
  }
  if (mine !== shown) return;
  document.body.dataset.role = who;
  $('role').textContent = who === 'ADMIN' ? 'admin' : 'reader (read-only)';
  const hash = location.hash;
  const home = hash === '' || hash === '#' || hash === '#/';
  $('home').hidden = !home;
  $('view').hidden = home;
  for (const a of document.querySelectorAll('#console-nav a')) {
    const current =
      a.dataset.route ===
      (home
        ? 'home'
        : hash.startsWith('#/directory') || hash.startsWith('#/principal')
          ? 'directory'
          : hash.startsWith('#/connections/new')
            ? 'new'
            : '');
    if (current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (home) {
    document.title = 'dirgate · status';
    document.body.dataset.view = 'ready';
    return;
  }
  const route = ROUTES.map(([re, title, page]) => [re.exec(hash), title, page]).find(([m]) => m);
  const view = $('view');
  view.replaceChildren(el('p', { class: 'muted', text: 'Loading…' }));
  try {
    const context = { role: who, onCleanup: (f) => cleanups.push(f) };
    const page = route
      ? await route[2](route[0], context)
      : el('p', { class: 'error', text: `No page at ${hash}.` });
    if (mine !== shown) return;
    document.title = `dirgate · ${route?.[1] ?? 'not found'}`;
    view.replaceChildren(page);
    const title = view.querySelector('.page-title');
    // A route change is a new page: keyboard and screen reader users start at its heading.
    if (title && !view.contains(document.activeElement)) title.focus();
  } catch (err) {
    if (mine !== shown) return;
    if (err instanceof AuthError) return;
    view.replaceChildren(el('p', { class: 'error', role: 'alert', text: `Could not load: ${err.message}` }));
  }
  document.body.dataset.view = 'ready';
}

window.addEventListener('hashchange', () => {
  document.body.dataset.view = 'loading';
  void show();
});
document.addEventListener('dirgate:open', () => void show());
document.addEventListener('dirgate:logout', () => {
  cleanup();
  forgetRole();
  delete document.body.dataset.role;
  $('view').replaceChildren();
});
void show();
