/**
 * The admin console in a real browser (headless Chromium through
 * playwright-core) against the in-process gateway and a private slapd: a
 * connection added through its form with the keyboard only (a refused
 * schedule explained as typed, the API's refusal shown on its field), Test
 * with its steps (and the failed one), an edit refused on the password
 * field, the schedule's next runs and words, runs with what they changed by
 * name, live progress, a held run kept (discarded) and the next one
 * confirmed (the objects it removed named after), deletion with the counts
 * it removes, an incremental schedule (one too frequent refused on its
 * field, empty turning it off), an incremental run started from the page and
 * listed as such (a full one asked to be incremental saying why, a CONFLICT
 * while a run is held), the directory search and principal pages with their findings, a reader's read-only view, and no horizontal scroll at a
 * phone's width. Nothing is fetched from outside the gateway; the token
 * never appears in a URL.
 */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import cronParser from 'cron-parser';
import { parse } from 'graphql';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionByIdDocument, UpdateConnectionDocument } from '../gql/graphql.js';
import { DESKTOP, launchBrowser, logIn, PHONE, pageOpener } from '../support/browser.js';
import { privateSlapd } from '../support/fixtures.js';
import { READER_TOKEN, startTestGateway, type TestGateway } from '../support/gateway.js';
import { addSlapdConnection, syncNow, waitForSync } from '../support/sync.js';

const directory = privateSlapd({
  users: 40,
  groups: 8,
  contacts: 6,
  seed: 'console-it',
  largeGroupSize: 0,
  duplicates: { emailAddresses: 1 },
});

let gw: TestGateway;
let browser: Browser;
let base = '';
/** A connection synced before the tests, for the pages that read one. */
let syncedId = '';
const pages = pageOpener(
  () => browser,
  () => base,
);
/** Every URL a page navigated to: the token must be in none. */
const urls: string[] = [];

async function open(token: string, viewport?: { width: number; height: number }): Promise<Page> {
  const page = await pages.open(viewport);
  page.on('framenavigated', (frame) => urls.push(frame.url()));
  await logIn(page, base, token);
  return page;
}

async function go(page: Page, hash: string): Promise<void> {
  // Scripts run in the page are strings: the test files compile without the DOM's types.
  await page.evaluate(`document.body.dataset.view = 'loading'; location.hash = ${JSON.stringify(hash)};`);
  await page.locator('body[data-view=ready]').waitFor();
}

function query<T>(text: string, variables: Record<string, unknown> = {}): Promise<T> {
  return gw.ok(parse(text) as TypedDocumentNode<T, Record<string, unknown>>, variables);
}

/** Presses Tab until the focused element matches `selector` (keyboard only); fails after 80. */
async function tabTo(page: Page, selector: string): Promise<void> {
  for (let i = 0; i < 80; i++) {
    if (await page.evaluate(`document.activeElement?.matches(${JSON.stringify(selector)}) ?? false`)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached ${selector}`);
}

async function noHorizontalScroll(page: Page): Promise<void> {
  const [scroll, inner] = (await page.evaluate('[document.documentElement.scrollWidth, innerWidth]')) as [
    number,
    number,
  ];
  expect(scroll, page.url()).toBeLessThanOrEqual(inner);
}

beforeAll(async () => {
  gw = await startTestGateway();
  base = gw.url.replace(/\/graphql$/, '');
  syncedId = await addSlapdConnection(gw, directory.slapd, { name: 'corp' });
  expect((await syncNow(gw, syncedId)).status).toBe('SUCCEEDED');
  browser = await launchBrowser('console');
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await gw?.dispose();
});

describe('console', () => {
  it('adds a connection with the keyboard only: a refused schedule explained, the API refusal on its field', async () => {
    const page = await open(gw.adminToken);
    await tabTo(page, '#console-nav a[data-route=new]');
    // The focus is visible where it is.
    expect(await page.evaluate('getComputedStyle(document.activeElement).outlineStyle')).toBe('solid');
    await page.keyboard.press('Enter');
    await page.locator('form.connection-form').waitFor();
    const slapd = directory.slapd;
    const typeInto = async (selector: string, text: string) => {
      await tabTo(page, selector);
      await page.keyboard.type(text);
    };
    await typeInto('input[name=name]', 'keyboard-added');
    await typeInto('input[name=domain]', 'corp.test');
    // Another base under the same directory: a connection's search base is unique.
    await typeInto('input[name=searchBase]', directory.dataset.containers.user);
    await tabTo(page, 'input[name=discovery]');
    await page.keyboard.press('ArrowDown');
    expect(await page.locator('input[value=servers]').isChecked()).toBe(true);
    await typeInto('textarea[name=servers]', slapd.url);
    await typeInto('input[name=bindDn]', slapd.reader.dn);
    await typeInto('input[name=bindPassword]', slapd.reader.password);
    if (await page.locator('input[name=allowPlaintextBind]').count()) {
      await tabTo(page, 'input[name=allowPlaintextBind]');
      await page.keyboard.press('Space');
    }
    await tabTo(page, 'input[name=schedule]');
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type('61 * * * *');
    // Refused as typed, with the reason, before anything is sent.
    const preview = page.locator('.schedule-preview');
    expect(await preview.getAttribute('data-valid')).toBe('false');
    expect(await preview.textContent()).toContain('minute: 61 is outside 0–59');

    await tabTo(page, 'button[type=submit]');
    await page.keyboard.press('Enter');
    // The gateway refuses it too, and the console puts that on the schedule field.
    const scheduleError = page.locator('[data-field=schedule] .field-error');
    await expect.poll(() => scheduleError.textContent()).toContain('not a cron expression');
    expect(await page.locator('input[name=schedule]').getAttribute('aria-invalid')).toBe('true');
    expect(await page.evaluate(`document.activeElement?.getAttribute('name')`)).toBe('schedule');

    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type('*/20 * * * *');
    expect(await preview.locator('.words').textContent()).toBe('every 20 minutes');
    expect(await preview.locator('.next-runs li').count()).toBe(5);
    await tabTo(page, 'button[type=submit]');
    await page.keyboard.press('Enter');
    await page.locator('.connection-page').waitFor();
    expect(await page.locator('.page-title').textContent()).toBe('keyboard-added');
    const id = await page.locator('.connection-page').getAttribute('data-connection-id');
    const { connection } = await gw.ok(ConnectionByIdDocument, { id: id! });
    expect(connection).toMatchObject({
      name: 'keyboard-added',
      schedule: '*/20 * * * *',
      servers: [slapd.url],
      hasBindPassword: true,
    });
    await page.context().close();
  });

  it('tests settings with their steps and timings, and shows the step that failed', async () => {
    const page = await open(gw.adminToken);
    await go(page, '#/connections/new');
    const slapd = directory.slapd;
    await page.fill('input[name=name]', 'tested');
    await page.fill('input[name=domain]', 'corp.test');
    await page.fill('input[name=searchBase]', slapd.baseDn);
    await page.check('input[value=servers]');
    await page.fill('textarea[name=servers]', slapd.url);
    await page.fill('input[name=bindDn]', slapd.reader.dn);
    await page.fill('input[name=bindPassword]', slapd.reader.password);
    if (await page.locator('input[name=allowPlaintextBind]').count())
      await page.check('input[name=allowPlaintextBind]');
    await page.click('button.test');
    const report = page.locator('.test-report');
    await report.waitFor();
    expect(await report.getAttribute('data-ok')).toBe('true');
    const steps = await report
      .locator('li')
      .evaluateAll((els) =>
        els.map((e) => [e.getAttribute('data-step'), e.getAttribute('data-ok'), e.textContent]),
      );
    expect(steps.map((s) => s[0])).toEqual(expect.arrayContaining(['TCP', 'BIND', 'SEARCH']));
    for (const [, ok, text] of steps) {
      expect(ok).toBe('true');
      expect(text).toMatch(/\d+ ms|\d+\.\d s/);
    }
    expect(await report.locator('.verdict').textContent()).toContain(
      `${directory.dataset.users.length} users`,
    );

    await page.fill('input[name=bindPassword]', 'not-the-password');
    await page.click('button.test');
    await expect.poll(() => report.getAttribute('data-ok')).toBe('false');
    const failed = report.locator('li[data-ok=false]');
    expect(await failed.count()).toBe(1);
    expect(await failed.getAttribute('data-step')).toBe('BIND');
    expect(await report.locator('.verdict').textContent()).toContain('Failed at Bind');
    // Nothing was stored by testing.
    expect(
      (await query<{ connections: { name: string }[] }>('{ connections { name } }')).connections.map(
        (c) => c.name,
      ),
    ).not.toContain('tested');
    await page.context().close();
  });

  it('edits a connection: only what changed is sent, a move without the password is refused on that field', async () => {
    const page = await open(gw.adminToken);
    await go(page, `#/connections/${syncedId}/edit`);
    // Write-only: never prefilled.
    expect(await page.inputValue('input[name=bindPassword]')).toBe('');
    expect(await page.locator('input[name=domain]').getAttribute('readonly')).not.toBeNull();
    await page.fill('input[name=schedule]', '0 2 * * 1-5');
    expect(await page.locator('.schedule-preview .words').textContent()).toBe('every weekday at 02:00');
    await page.fill('textarea[name=servers]', `${directory.slapd.url}\nldap://127.0.0.1:9`);
    await page.click('form.connection-form button[type=submit]');
    const passwordError = page.locator('[data-field=bindPassword] .field-error');
    await expect.poll(() => passwordError.textContent()).not.toBe('');
    expect(await page.locator('input[name=bindPassword]').getAttribute('aria-invalid')).toBe('true');
    expect((await gw.ok(ConnectionByIdDocument, { id: syncedId })).connection?.schedule).not.toBe(
      '0 2 * * 1-5',
    );

    // Without the move, the schedule alone is saved and the rest kept.
    await page.fill('textarea[name=servers]', directory.slapd.url);
    await page.click('form.connection-form button[type=submit]');
    await page.locator('.connection-page').waitFor();
    const after = (await gw.ok(ConnectionByIdDocument, { id: syncedId })).connection;
    expect(after).toMatchObject({
      schedule: '0 2 * * 1-5',
      hasBindPassword: true,
      servers: [directory.slapd.url],
    });
    // The connection page shows the schedule in words and its next five runs, in the browser's zone.
    expect(await page.locator('.schedule-preview .words').textContent()).toBe('every weekday at 02:00');
    const runs = await page.locator('.schedule-preview .next-runs li').allTextContents();
    expect(runs).toHaveLength(5);
    // The settings as stored, each under its name; nothing absent shows as "null".
    const settings = Object.fromEntries(
      await page
        .locator('dl.settings dt')
        .evaluateAll((dts) => dts.map((dt) => [dt.textContent, dt.nextElementSibling?.textContent])),
    );
    expect(settings).toMatchObject({
      'Search base': directory.slapd.baseDn,
      Servers: directory.slapd.url,
      'Bind DN': directory.slapd.reader.dn,
      'Bind password': 'stored (write-only)',
      // The test slapd is plain ldap:// with allowPlaintextBind: the page says the password goes in clear.
      'Password without TLS': '⚠ allowed, and sent so: no TLS (allowPlaintextBind)',
      'User filter': 'default',
    });
    expect(await page.locator('.connection-page').textContent()).not.toMatch(/null|undefined|\[object/);
    await page.context().close();
  });

  it('tests an edited connection with its stored password, asking for it only when it would bind elsewhere', async () => {
    const page = await open(gw.adminToken);
    const before = (await gw.ok(ConnectionByIdDocument, { id: syncedId })).connection;
    await go(page, `#/connections/${syncedId}/edit`);
    expect(await page.inputValue('input[name=bindPassword]')).toBe('');
    await page.fill('input[name=name]', 'corp (being edited)');
    await page.fill('input[name=schedule]', '0 4 * * *');
    await page.click('button.test');
    const report = page.locator('.test-report');
    await report.waitFor();
    expect(await report.getAttribute('data-ok')).toBe('true');
    expect(await report.locator('.verdict').textContent()).toContain(
      `${directory.dataset.users.length} users`,
    );
    // Testing stored nothing.
    expect((await gw.ok(ConnectionByIdDocument, { id: syncedId })).connection).toMatchObject({
      name: before?.name,
      schedule: before?.schedule,
    });

    // Another server: the stored password would go there, so the password is asked for on its field.
    await page.fill('textarea[name=servers]', `${directory.slapd.url}\nldap://127.0.0.1:9`);
    await page.click('button.test');
    const passwordError = page.locator('[data-field=bindPassword] .field-error');
    await expect.poll(() => passwordError.textContent()).toContain('give the bind password again');
    expect(await report.count()).toBe(0);
    await page.fill('input[name=bindPassword]', directory.slapd.reader.password);
    await page.click('button.test');
    await report.waitFor();
    expect(await report.getAttribute('data-ok')).toBe('true');
    await page.context().close();
  });

  it("previews the next runs in the gateway's time zone, shown in the browser's, both named", async () => {
    const gatewayZone = (await query<{ node: { timeZone: string } }>('{ node { timeZone } }')).node.timeZone;
    const browserZone = gatewayZone === 'Asia/Tokyo' ? 'America/New_York' : 'Asia/Tokyo';
    const page = await pages.open(DESKTOP, { timezoneId: browserZone });
    await logIn(page, base, gw.adminToken);
    expect(await page.evaluate('Intl.DateTimeFormat().resolvedOptions().timeZone')).toBe(browserZone);
    await go(page, '#/connections/new');
    const before = new Date();
    await page.fill('input[name=schedule]', '0 2 * * *');
    const after = new Date();
    const preview = page.locator('.schedule-preview');
    expect(await preview.getAttribute('data-zone')).toBe(gatewayZone);
    const shown = await preview
      .locator('.next-runs time')
      .evaluateAll((els) => els.map((e) => e.getAttribute('datetime')));
    const fired = (from: Date) => {
      const it = cronParser.parseExpression('0 2 * * *', { currentDate: from, tz: gatewayZone });
      return Array.from({ length: 5 }, () => it.next().toISOString());
    };
    // Where the gateway's scheduler fires (cron-parser in its zone), not 02:00 in the browser's.
    expect([fired(before), fired(after)]).toContainEqual(shown);
    const first = preview.locator('.next-runs li').first();
    expect(await first.locator('time').textContent()).not.toContain('2:00');
    expect(await first.locator('.gateway-time').textContent()).toMatch(
      new RegExp(`\\b0?2:00:00\\b.* ${gatewayZone}$`),
    );
    expect(await preview.locator('.next-runs').getAttribute('aria-label')).toContain(browserZone);
    const hint = await preview.locator('.zones').textContent();
    expect(hint).toContain(gatewayZone);
    expect(hint).toContain(browserZone);
    // The connection page's schedule too.
    await go(page, `#/connections/${syncedId}`);
    expect(await page.locator('.schedule-preview').getAttribute('data-zone')).toBe(gatewayZone);
    await page.context().close();
  });

  it('sets an incremental schedule: one too frequent refused on its field, empty turns it off', async () => {
    const page = await open(gw.adminToken);
    await go(page, `#/connections/${syncedId}/edit`);
    const field = page.locator('input[name=incrementalSchedule]');
    // The API's default, as stored.
    expect(await field.inputValue()).toBe('* * * * *');
    const preview = page.locator('.incremental-preview');
    expect(await preview.locator('.words').textContent()).toBe('every minute');
    await page.fill('input[name=incrementalSchedule]', '*/20 * * * * *');
    // Refused as typed, with the gap and two runs that make it.
    expect(await preview.getAttribute('data-valid')).toBe('false');
    expect(await preview.textContent()).toBe(
      'it runs 20 seconds apart (at 00:00:00 and 00:00:20); incremental runs may come at most once a minute',
    );
    await page.click('form.connection-form button[type=submit]');
    // The gateway refuses it too (INTERVAL_TOO_SHORT), on the field.
    const error = page.locator('[data-field=incrementalSchedule] .field-error');
    await expect.poll(() => error.textContent()).toContain('at most once a minute');
    expect(await field.getAttribute('aria-invalid')).toBe('true');
    expect((await gw.ok(ConnectionByIdDocument, { id: syncedId })).connection?.incrementalSchedule).toBe(
      '* * * * *',
    );

    await page.fill('input[name=incrementalSchedule]', '*/5 * * * *');
    expect(await preview.locator('.words').textContent()).toBe('every 5 minutes');
    await page.click('form.connection-form button[type=submit]');
    await page.locator('.connection-page').waitFor();
    expect((await gw.ok(ConnectionByIdDocument, { id: syncedId })).connection?.incrementalSchedule).toBe(
      '*/5 * * * *',
    );
    expect(await page.locator('dd.incremental-schedule').textContent()).toBe('*/5 * * * * (every 5 minutes)');
    expect(await page.locator('dd.change-tracking').textContent()).toBe(
      'modification times (modifyTimestamp)',
    );

    // Empty: off, and said so as typed; an edit that leaves it alone keeps it off.
    await go(page, `#/connections/${syncedId}/edit`);
    await page.fill('input[name=incrementalSchedule]', '');
    expect(await preview.getAttribute('data-valid')).toBe('off');
    await page.click('form.connection-form button[type=submit]');
    await page.locator('.connection-page').waitFor();
    expect(
      (await gw.ok(ConnectionByIdDocument, { id: syncedId })).connection?.incrementalSchedule,
    ).toBeNull();
    expect(await page.locator('dd.incremental-schedule').textContent()).toBe('off: full runs only');
    await go(page, `#/connections/${syncedId}/edit`);
    expect(await field.inputValue()).toBe('');
    await page.fill('input[name=schedule]', '0 3 * * *');
    await page.click('form.connection-form button[type=submit]');
    await page.locator('.connection-page').waitFor();
    expect((await gw.ok(ConnectionByIdDocument, { id: syncedId })).connection).toMatchObject({
      schedule: '0 3 * * *',
      incrementalSchedule: null,
    });
    await page.context().close();
  });

  it('syncs the changes only from the connection page: the run is listed as incremental, with how it found deletions', async () => {
    const page = await open(gw.adminToken);
    await go(page, `#/connections/${syncedId}`);
    const first = page.locator('table.runs tbody tr[data-run-id]').first();
    const before = await first.getAttribute('data-run-id');
    await page.click('button.sync-changes');
    await expect.poll(() => first.getAttribute('data-run-id'), { timeout: 15_000 }).not.toBe(before);
    await expect.poll(() => first.getAttribute('data-status'), { timeout: 15_000 }).toBe('SUCCEEDED');
    const runId = (await first.getAttribute('data-run-id')) ?? '';
    const { syncRuns } = await query<{ syncRuns: { id: string; mode: string; deletionCheck: string }[] }>(
      'query ($id: ID!) { syncRuns(connectionId: $id, last: 1) { id mode deletionCheck } }',
      { id: syncedId },
    );
    expect(syncRuns[0]).toMatchObject({ id: runId, mode: 'INCREMENTAL' });
    const mode = first.locator('td.mode');
    expect(await mode.getAttribute('data-mode')).toBe('INCREMENTAL');
    expect(await mode.locator('.deletion-check').getAttribute('data-check')).toBe(syncRuns[0]?.deletionCheck);
    expect(await mode.locator('.deletion-check').textContent()).toMatch(/^deletions (from|by) /);
    expect(await mode.locator('.mode-name').textContent()).toBe('Incremental');
    // The full run before it says Full, without a reason: it was asked to be full.
    const full = page.locator(`table.runs tr[data-run-id="${before}"] td.mode`);
    expect(await full.textContent()).toBe('Full');
    await page.context().close();
  });

  it('syncs from the connection page, follows the run live, and names what it changed', async () => {
    const id = await addSlapdConnection(gw, directory.slapd, {
      name: 'groups-only',
      searchBase: directory.dataset.containers.group,
    });
    const page = await open(gw.adminToken);
    await go(page, `#/connections/${id}`);
    expect(await page.locator('table.runs tbody tr td').first().textContent()).toBe('No runs yet.');
    // Every status the page shows is recorded, so the RUNNING in between is seen however short.
    await page.evaluate(`(() => {
      window.seen = [];
      new MutationObserver(() => {
        const s = document.querySelector('.connection-page')?.getAttribute('data-status');
        if (s && window.seen.at(-1) !== s) window.seen.push(s);
        const live = document.querySelector('.live-run')?.textContent;
        if (live && window.seen.at(-1) !== live) window.seen.push(live);
      }).observe(document.body, { subtree: true, childList: true, attributes: true });
    })()`);
    await page.click('button.sync-now');
    const row = page.locator('table.runs tbody tr[data-run-id]').first();
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 15_000 }).toBe('SUCCEEDED');
    const seen = (await page.evaluate('window.seen')) as string[];
    expect(seen).toContain('RUNNING');
    // The live line of the running run: its phase and the entries read so far.
    expect(seen.some((t) => /^Running: [a-z]+, \d+ entr(y|ies) read/.test(t))).toBe(true);
    const cells = await row.locator('td').allTextContents();
    expect(cells[1]).toBe('manual');
    // Its first run: full, and asked to be (no reason given).
    expect(cells[2]).toBe('Full');
    expect(cells[4]).toBe(directory.slapd.url);
    expect(cells[5]).toMatch(/\d+ ms|\d+\.\d s/);
    expect(cells[6]).toBe(`+${directory.dataset.groups.length} ~0 −0`);
    await row.locator('summary').click();
    const added = row.locator('[data-change=added]');
    await added.waitFor();
    const names = await added.locator('li a').allTextContents();
    expect(names.length).toBe(Math.min(15, directory.dataset.groups.length));
    const groupNames = directory.dataset.groups.map((g) => g.displayName);
    for (const n of names) expect(groupNames).toContain(n);
    await page.context().close();
  });

  it('shows a held run with what it would remove; keeps the data, then confirms', async () => {
    const id = await addSlapdConnection(gw, directory.slapd, {
      name: 'contacts-ou',
      searchBase: directory.dataset.containers.contact,
      deleteThreshold: 0.2,
    });
    expect((await syncNow(gw, id)).status).toBe('SUCCEEDED');
    // A filter that keeps one contact: the run would remove all the others, so it is held.
    const kept = directory.dataset.contacts[0]!;
    const escaped = kept.cn.replace(/[\\()*]/g, (c) => `\\${c.charCodeAt(0).toString(16)}`);
    await gw.ok(UpdateConnectionDocument, { id, input: { contactFilter: `(cn=${escaped})` } });
    expect((await syncNow(gw, id)).status).toBe('HELD');

    const page = await open(gw.adminToken);
    await go(page, `#/connections/${id}`);
    const held = page.locator('section.held');
    await held.waitFor();
    const removed = await held.locator('[data-change=removed] li a').allTextContents();
    const others = directory.dataset.contacts.slice(1).map((c) => c.displayName);
    expect(removed.sort()).toEqual(others.slice(0, 15).sort());
    expect(await held.locator('h4').textContent()).toBe(`It would remove (${others.length})`);

    // While it waits, an incremental run is refused (CONFLICT), and the page says why.
    await page.click('button.sync-changes');
    await expect
      .poll(() => page.locator('.connection-page > p.error[role=alert]').textContent())
      .toContain('a run is held for confirmation');
    const heldRunId = (await gw.ok(ConnectionByIdDocument, { id })).connection?.heldRunId ?? '';
    await held.locator('button.keep-held').click();
    // Discarded (discardSync): said where the panel was, with the focus there.
    const note = page.locator('p.kept');
    await note.waitFor();
    expect(await note.textContent()).toContain('goes on serving the data from before');
    expect(await page.evaluate('document.activeElement?.classList.contains("kept")')).toBe(true);
    expect(await page.locator('section.held').count()).toBe(0);
    await expect.poll(() => page.locator('.connection-page').getAttribute('data-status')).toBe('FAILED');
    const discardText =
      'discarded by an administrator: the current data was kept; the next run compares again';
    const row = page.locator(`table.runs tr[data-run-id="${heldRunId}"]`);
    expect(await row.getAttribute('data-status')).toBe('FAILED');
    expect(await row.locator('.sub.error').textContent()).toBe(discardText);
    const after = (await gw.ok(ConnectionByIdDocument, { id })).connection;
    expect(after).toMatchObject({
      status: 'FAILED',
      heldRunId: null,
      contactCount: directory.dataset.contacts.length,
      lastSync: { id: heldRunId, status: 'FAILED', error: discardText },
    });

    // The next run compares again and is held again; this time it is confirmed.
    expect((await syncNow(gw, id)).status).toBe('HELD');
    await page.reload();
    await page.locator('body[data-view=ready]').waitFor();
    expect(await page.locator('p.kept').count()).toBe(0);
    const confirmedId = (await gw.ok(ConnectionByIdDocument, { id })).connection?.heldRunId ?? '';
    await page.locator('section.held button.confirm-held').click();
    await expect.poll(() => page.locator('.connection-page').getAttribute('data-status')).toBe('SUCCEEDED');
    expect(await page.locator('section.held').count()).toBe(0);
    expect((await gw.ok(ConnectionByIdDocument, { id })).connection?.contactCount).toBe(1);

    // The applied run names what it removed, though the directory no longer serves it.
    const applied = page.locator(`table.runs tr[data-run-id="${confirmedId}"]`);
    await applied.locator('summary').click();
    const gone = applied.locator('[data-change=removed] li.gone');
    await gone.first().waitFor();
    const goneNames = await gone.locator('.name').allTextContents();
    expect(goneNames.sort()).toEqual(others.slice(0, 15).sort());
    expect(await gone.first().textContent()).toMatch(/^contact .+ \(no longer in the directory\)$/);

    // The filter dropped again: an incremental run asked for reads in full, and says why.
    await gw.ok(UpdateConnectionDocument, { id, input: { contactFilter: '' } });
    await page.click('button.sync-changes');
    const latest = page.locator('table.runs tbody tr[data-run-id]').first();
    await expect.poll(() => latest.getAttribute('data-run-id'), { timeout: 15_000 }).not.toBe(confirmedId);
    await expect.poll(() => latest.getAttribute('data-status'), { timeout: 15_000 }).toBe('SUCCEEDED');
    const { syncRuns } = await query<{
      syncRuns: { mode: string; fallbackReason: string; fallbackMessage: string | null }[];
    }>('query ($id: ID!) { syncRuns(connectionId: $id, last: 1) { mode fallbackReason fallbackMessage } }', {
      id,
    });
    expect(syncRuns[0]).toMatchObject({ mode: 'FULL', fallbackReason: 'SETTINGS_CHANGED' });
    const mode = latest.locator('td.mode');
    expect(await mode.getAttribute('data-mode')).toBe('FULL');
    expect(await mode.locator('.fallback').textContent()).toBe(
      'asked to be incremental; full because the search base, a filter or the contacts setting changed since the last run',
    );
    // An administrator sees the gateway's own words too.
    if (syncRuns[0]?.fallbackMessage)
      expect(await mode.locator('.fallback-message').textContent()).toBe(syncRuns[0].fallbackMessage);
    await page.context().close();
  });

  it('deletes a connection after a confirmation that says what goes', async () => {
    // The groups' connection of the sync test (search bases are unique, and this directory has four).
    const { connections } = await query<{ connections: { id: string; name: string }[] }>(
      '{ connections { id name } }',
    );
    const id =
      connections.find((c) => c.name === 'groups-only')?.id ??
      (await addSlapdConnection(gw, directory.slapd, {
        name: 'groups-only',
        searchBase: directory.dataset.containers.group,
      }));
    const synced = await syncNow(gw, id);
    expect(synced.groupCount).toBe(directory.dataset.groups.length);
    const page = await open(gw.adminToken);
    await go(page, `#/connections/${id}`);
    await page.click('button.delete');
    const dialog = page.locator('dialog.confirm-delete');
    expect(await dialog.isVisible()).toBe(true);
    expect(await dialog.locator('.what').textContent()).toContain(
      `${synced.userCount} users, ${synced.groupCount} groups and ${synced.contactCount} contacts`,
    );
    // Cancel keeps it.
    await dialog.locator('button', { hasText: 'Cancel' }).click();
    expect(await dialog.isVisible()).toBe(false);
    expect((await gw.ok(ConnectionByIdDocument, { id })).connection).not.toBeNull();
    await page.click('button.delete');
    await dialog.locator('button.do-delete').click();
    await page.locator('#home:not([hidden])').waitFor();
    expect((await gw.ok(ConnectionByIdDocument, { id })).connection).toBeNull();
    await page.context().close();
  });

  it('searches the directory as the autocomplete does and shows a principal with its groups and findings', async () => {
    const data = await query<{
      users: {
        nodes: {
          id: string;
          displayName: string;
          primaryEmail: string | null;
          memberOf: { id: string }[];
          all: { id: string }[];
        }[];
      };
    }>(
      `query($c: ID) { users(connectionId: $c, first: 50) { nodes { id displayName primaryEmail
        memberOf { id } all: memberOf(transitive: true) { id } } } }`,
      { c: syncedId },
    );
    const users = data.users.nodes.filter((u) => u.primaryEmail);
    const user =
      users.find((u) => u.all.length > u.memberOf.length) ?? users.find((u) => u.memberOf.length > 0)!;
    const page = await open(gw.adminToken);
    await go(page, '#/directory');
    const prefix = user.displayName.slice(0, 4).trim();
    await page.fill('#directory-search', prefix);
    const suggestion = page.locator(`#directory-results li[data-principal-id="${user.id}"]`).first();
    await suggestion.waitFor();
    const { autocomplete } = await query<{ autocomplete: { principal: { id: string } }[] }>(
      'query($p: String!) { autocomplete(prefix: $p, first: 20) { principal { id } } }',
      { p: prefix },
    );
    const shown = await page
      .locator('#directory-results li')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-principal-id')));
    expect(shown).toEqual(autocomplete.map((s) => s.principal.id));
    // The query is in the URL; reloading answers again.
    expect(page.url()).toContain(`#/directory?q=${encodeURIComponent(prefix)}`);

    await suggestion.locator('a').click();
    const principal = page.locator(`.principal-page[data-principal-id="${user.id}"]`);
    await principal.waitFor();
    expect(await page.locator('.page-title').textContent()).toBe(user.displayName);
    expect(await principal.locator('.addresses').textContent()).toContain(user.primaryEmail!);
    expect(await principal.locator('.direct-groups li').count()).toBe(user.memberOf.length);
    expect(await principal.locator('.transitive-groups li').count()).toBe(user.all.length);

    // A group's page lists its members, this user among them.
    await principal.locator('.direct-groups a').first().click();
    await page.locator('.principal-page[data-kind=GROUP]').waitFor();
    expect(await page.locator(`.members li[data-principal-id="${user.id}"]`).count()).toBe(1);

    // From a finding on the status page to the principal, and on to the other one involved.
    const { duplicateFindings } = await query<{
      duplicateFindings: { id: string; value: string; sameObject: boolean; principals: { id: string }[] }[];
    }>('{ duplicateFindings(kind: EMAIL_ADDRESS) { id value sameObject principals { id } } }');
    // A planted duplicate (two objects), not one object read through two connections of these tests.
    const finding = duplicateFindings.find((f) => !f.sameObject)!;
    await go(page, '#/');
    await page.locator(`#findings li[data-principal-id="${finding.principals[0]!.id}"] a`).first().click();
    await page.locator(`.principal-page[data-principal-id="${finding.principals[0]!.id}"]`).waitFor();
    const onPage = page.locator(`.principal-page .finding[data-finding-id="${finding.id}"]`);
    expect(await onPage.locator('.value').textContent()).toBe(finding.value);
    expect(await page.locator('.flags').textContent()).toContain('Personal Backup');
    await onPage.locator(`li[data-principal-id="${finding.principals[1]!.id}"] a`).click();
    await page.locator(`.principal-page[data-principal-id="${finding.principals[1]!.id}"]`).waitFor();
    await page.context().close();
  });

  it('gives a reader a read-only console: no button the API would refuse', async () => {
    const page = await pages.open();
    // The role is asked for (viewer), not found out by a mutation the gateway refuses.
    const sent: string[] = [];
    page.on('request', (req) => {
      if (req.url().endsWith('/graphql') && req.method() === 'POST') sent.push(req.postData() ?? '');
    });
    await logIn(page, base, READER_TOKEN);
    await page.locator('body[data-role=READER]').waitFor();
    expect(sent.some((body) => body.includes('ConsoleViewer'))).toBe(true);
    expect(await page.locator('#role').textContent()).toContain('reader');
    const visibleButtons = async () => page.locator('#app button:visible').allTextContents();
    expect(await visibleButtons()).toEqual([]);
    expect(await page.locator('#console-nav a[data-route=new]').isVisible()).toBe(false);
    await go(page, `#/connections/${syncedId}`);
    await page.locator('.connection-page').waitFor();
    expect(await visibleButtons()).toEqual([]);
    expect(await page.locator('a.button').count()).toBe(0);
    // A reader may be shown no bind DN or filters (null): the page says so, and shows no "null".
    const bindDn = await page.locator('dl.settings dt:text-is("Bind DN") + dd').textContent();
    expect([directory.slapd.reader.dn, 'not shown to readers']).toContain(bindDn);
    expect(await page.locator('.connection-page').textContent()).not.toMatch(/null|undefined|\[object/);
    await go(page, `#/connections/${syncedId}/edit`);
    expect(await page.locator('#view').textContent()).toContain('read-only');
    expect(await page.locator('form.connection-form').count()).toBe(0);
    expect(sent.filter((body) => /"query":"\s*mutation\b/.test(body))).toEqual([]);
    // The same page for an admin has them (the check above can fail).
    const admin = await open(gw.adminToken);
    await go(admin, `#/connections/${syncedId}`);
    expect(await admin.locator('#app button:visible').count()).toBeGreaterThanOrEqual(2);
    await admin.context().close();
    await page.context().close();
  });

  it('labels every control of its pages', async () => {
    const page = await pages.open();
    await page.goto(`${base}/`);
    // Controls without a name a screen reader can read: no <label> and no aria-label.
    const unlabelled = `[...document.querySelectorAll('input, select, textarea')]
      .filter((c) => c.type !== 'hidden' && c.offsetParent !== null)
      .filter((c) => c.labels.length === 0 && !c.getAttribute('aria-label'))
      .map((c) => c.name || c.id || c.outerHTML)`;
    expect(await page.evaluate(unlabelled)).toEqual([]);
    await logIn(page, base, gw.adminToken);
    for (const hash of ['#/connections/new', `#/connections/${syncedId}/edit`, '#/directory?q=a']) {
      await go(page, hash);
      const controls = (await page.evaluate(
        `document.querySelectorAll('#view input, #view select, #view textarea').length`,
      )) as number;
      expect(controls, hash).toBeGreaterThan(0);
      expect(await page.evaluate(unlabelled), hash).toEqual([]);
    }
    await page.context().close();
  });

  it('fits a phone: no horizontal scroll on the main pages at 375 px', async () => {
    const page = await open(gw.adminToken, PHONE);
    await noHorizontalScroll(page);
    const { users } = await query<{ users: { nodes: { id: string }[] } }>(
      '{ users(first: 1) { nodes { id } } }',
    );
    for (const hash of [
      `#/connections/${syncedId}`,
      `#/connections/${syncedId}/edit`,
      '#/connections/new',
      '#/directory?q=a',
      `#/principal/${encodeURIComponent(users.nodes[0]!.id)}`,
    ]) {
      await go(page, hash);
      await noHorizontalScroll(page);
    }
    await page.context().close();
  });

  it('fetched nothing from outside the gateway and never put the token in a URL', async () => {
    await waitForSync(gw, syncedId);
    expect(pages.outside).toEqual([]);
    expect(urls.length).toBeGreaterThan(0);
    for (const url of urls) {
      expect(url).not.toContain(gw.adminToken);
      expect(url).not.toContain(READER_TOKEN);
    }
  });
});
