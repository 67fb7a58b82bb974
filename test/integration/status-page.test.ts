/**
 * The status page and GraphiQL in a real browser: headless Chromium
 * (Debian's package) driven by playwright-core, against a gateway that
 * synced a private slapd with planted duplicates of every kind. The page
 * asks for the token, shows the node's warning, the connection with its
 * counts, the findings grouped by kind with every object involved; its Sync
 * button starts a run, and runs started elsewhere show up live (graphql-ws)
 * without a reload. A second connection reading the users' OU again shows
 * as one cause ("connections A and B read the same N objects") instead of
 * hundreds of rows, in the node's warning too, until it is deleted. A
 * screenshot with warnings present is checked for its basic properties.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDirectory } from '../../scripts/directories/generator.js';
import { type SlapdInstance, startSlapd } from '../../scripts/directories/slapd.js';
import {
  ConnectionByIdDocument,
  DeleteConnectionDocument,
  DuplicateFindingsDocument,
  StartSyncDocument,
} from '../gql/graphql.js';
import { DESKTOP, launchBrowser, logIn as logInAt, pageOpener } from '../support/browser.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { addSlapdConnection, syncNow, waitForSync } from '../support/sync.js';

const DATASET = generateDirectory({
  users: 80,
  groups: 16,
  contacts: 16,
  seed: 'status-page-it',
  baseDn: 'dc=corp,dc=test',
  largeGroupSize: 0,
  duplicates: {
    userNames: 2,
    groupNames: 1,
    contactNames: 1,
    kerberosNames: 1,
    // NTLM names need a NetBIOS domain name, which slapd has none of (AD states its own).
    ntlmNames: 0,
    emailAddresses: 2,
  },
});
const PLANTED: Record<string, number> = {
  USER_NAME: DATASET.planted.userNames.length,
  GROUP_NAME: DATASET.planted.groupNames.length,
  CONTACT_NAME: DATASET.planted.contactNames.length,
  KERBEROS_NAME: DATASET.planted.kerberosNames.length,
  EMAIL_ADDRESS: DATASET.planted.emailAddresses.length,
};
const TOTAL = Object.values(PLANTED).reduce((a, b) => a + b, 0);
const VIEWPORT = DESKTOP;

let slapd: SlapdInstance;
let gw: TestGateway;
let browser: Browser;
let connectionId: string;
let base: string;
let outDir: string;
/** Requests the browser made to anything but the gateway (must stay empty: no CDN). */
const pages = pageOpener(
  () => browser,
  () => base,
);
const outside = pages.outside;

function openPage(): Promise<Page> {
  return pages.open(VIEWPORT);
}

function logIn(page: Page): Promise<void> {
  return logInAt(page, base, gw.adminToken);
}

beforeAll(async () => {
  slapd = await startSlapd({ dataset: DATASET });
  gw = await startTestGateway();
  base = gw.url.replace(/\/graphql$/, '');
  outDir = await mkdtemp(path.join(tmpdir(), 'dirgate-status-page-'));
  connectionId = await addSlapdConnection(gw, slapd, { name: 'corp-directory' });
  expect((await syncNow(gw, connectionId)).status).toBe('SUCCEEDED');
  // A fresh machine installs Debian's chromium here first: allow for a slow mirror.
  browser = await launchBrowser('status-page');
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await gw?.dispose();
  await slapd?.dispose();
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

describe('status page', () => {
  it('refuses a wrong token and asks again', async () => {
    const page = await openPage();
    await page.goto(`${base}/`);
    await page.fill('#token', 'not-a-valid-token-at-all');
    await page.click('#login button[type=submit]');
    await expect.poll(() => page.locator('#login-error').textContent()).toContain('not accepted');
    expect(await page.locator('#login').isVisible()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.getItem('dirgate-token'))).toBeNull();
    await page.context().close();
  });

  it('shows the node with its warning, the connection, and the findings grouped by kind', async () => {
    const page = await openPage();
    await logIn(page);
    expect(await page.evaluate(() => sessionStorage.getItem('dirgate-token'))).toBe(gw.adminToken);

    const node = page.locator('tr[data-node="test-node"]');
    expect(await node.getAttribute('data-warning')).toBe('true');
    expect(await node.locator('.node-warning').textContent()).toContain(`${TOTAL} duplicate findings`);

    const row = page.locator(`tr[data-connection-id="${connectionId}"]`);
    expect(await row.getAttribute('data-status')).toBe('SUCCEEDED');
    expect(await row.locator('td.users').textContent()).toBe(String(DATASET.users.length));
    expect(await row.locator('td.groups').textContent()).toBe(String(DATASET.groups.length));
    expect(await row.locator('td.contacts').textContent()).toBe(String(DATASET.contacts.length));
    expect(await row.textContent()).toContain('corp-directory');

    const kinds = await page
      .locator('#findings section[data-kind]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-kind')));
    expect(kinds.sort()).toEqual(Object.keys(PLANTED).sort());
    for (const [kind, count] of Object.entries(PLANTED)) {
      const section = page.locator(`section[data-kind="${kind}"]`);
      expect(await section.locator('.finding').count(), kind).toBe(count);
      // Every object involved is listed, not just the second one.
      const sizes = await section
        .locator('.finding')
        .evaluateAll((els) => els.map((e) => e.querySelectorAll('li[data-principal-id]').length));
      for (const size of sizes) expect(size, kind).toBeGreaterThanOrEqual(2);
    }
    await expect.poll(() => page.locator('#live').getAttribute('data-state')).toBe('on');

    // The screenshot, with the warnings present.
    const file = path.join(outDir, 'status-page.png');
    await page.screenshot({ path: file });
    const png = await readFile(file);
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect(png.subarray(12, 16).toString('ascii')).toBe('IHDR');
    expect(png.readUInt32BE(16)).toBe(VIEWPORT.width);
    expect(png.readUInt32BE(20)).toBe(VIEWPORT.height);
    // A blank or failed render compresses to almost nothing; a page with tables and text does not.
    expect(png.length).toBeGreaterThan(30_000);
    if (process.env.DIRGATE_UPDATE_DOCS_SCREENSHOT === '1') {
      await writeFile(path.resolve(import.meta.dirname, '../../docs/status-page.png'), png);
    }
    await page.context().close();
  });

  it('starts a sync from its button and follows runs live, without a reload', async () => {
    const page = await openPage();
    await logIn(page);
    await expect.poll(() => page.locator('#live').getAttribute('data-state')).toBe('on');
    const row = page.locator(`tr[data-connection-id="${connectionId}"]`);
    const firstRun = await row.locator('td.last-run').getAttribute('data-run-id');
    expect(firstRun).toBeTruthy();
    // A reload would lose this marker; every status the row shows is recorded.
    await page.evaluate(`(() => {
      window.noReload = true;
      window.seen = [];
      const id = ${JSON.stringify(connectionId)};
      const status = () => document.querySelector('tr[data-connection-id="' + id + '"]')?.getAttribute('data-status');
      new MutationObserver(() => {
        const now = status();
        if (now && window.seen.at(-1) !== now) window.seen.push(now);
      }).observe(document.body, { subtree: true, childList: true, attributes: true });
    })()`);

    await page.click(`button[data-sync="${connectionId}"]`);
    await expect
      .poll(() => row.locator('td.last-run').getAttribute('data-run-id'), { timeout: 15_000 })
      .not.toBe(firstRun);
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 15_000 }).toBe('SUCCEEDED');
    const clicked = (await gw.ok(StartSyncDocument, { connectionId })).startSync[0]?.id;
    // That mutation started another run: the one the click started is the one before it.
    expect(clicked).toBeTruthy();
    const seen = (await page.evaluate('window.seen')) as string[];
    expect(seen).toContain('RUNNING');
    expect(seen.at(-1)).toMatch(/RUNNING|SUCCEEDED/);

    // A run started elsewhere (the API, another operator) appears through the subscription only:
    // the page polls nothing faster than every 30 s.
    await waitForSync(gw, connectionId);
    await expect
      .poll(() => row.locator('td.last-run').getAttribute('data-run-id'), { timeout: 15_000 })
      .toBe(clicked);
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 15_000 }).toBe('SUCCEEDED');
    expect(await page.evaluate('window.noReload')).toBe(true);
    // The last run's mode: that one was full; an incremental one says so once it is the last.
    const lastRun = row.locator('td.last-run');
    await expect.poll(() => lastRun.textContent()).toMatch(/^SUCCEEDED manual · full(?! \()/);
    const incremental = (await gw.ok(StartSyncDocument, { connectionId, mode: 'INCREMENTAL' })).startSync[0]
      ?.id;
    await waitForSync(gw, connectionId);
    await expect.poll(() => lastRun.getAttribute('data-run-id'), { timeout: 15_000 }).toBe(incremental);
    await expect.poll(() => lastRun.getAttribute('data-mode')).toBe('INCREMENTAL');
    await expect.poll(() => lastRun.textContent()).toMatch(/^SUCCEEDED manual · incremental/);
    await page.context().close();
  });

  it('groups the findings of overlapping connections under their cause, and drops them once one is deleted', async () => {
    const page = await openPage();
    await logIn(page);
    await expect.poll(() => page.locator('#live').getAttribute('data-state')).toBe('on');
    // A second connection to the same directory, reading only its users' OU: every user twice.
    const ouId = await addSlapdConnection(gw, slapd, {
      name: 'staff-ou',
      searchBase: DATASET.containers.user,
    });
    expect((await syncNow(gw, ouId)).status).toBe('SUCCEEDED');
    const all = (await gw.ok(DuplicateFindingsDocument, { kind: null, connectionId: null }))
      .duplicateFindings;
    const overlapOnly = all.filter((f) => new Set(f.principals.map((p) => p.guid)).size === 1);
    // Hundreds of findings, one object each, two accounts each.
    expect(overlapOnly.length).toBeGreaterThan(DATASET.users.length);

    // The page follows live (the duplicateWarnings push) and shows one cause, not hundreds of rows.
    const cause = page.locator('#findings section.overlap');
    await expect.poll(() => cause.count(), { timeout: 15_000 }).toBe(1);
    expect(await cause.getAttribute('data-objects')).toBe(String(DATASET.users.length));
    expect(await cause.locator('.cause').textContent()).toBe(
      `connections corp-directory and staff-ou read the same ${DATASET.users.length} objects: narrow one search base`,
    );
    expect(await cause.locator('h3 .count').textContent()).toBe(String(overlapOnly.length));
    // The real duplicates keep their rows, one per planted value (those of users now name four accounts).
    for (const [kind, count] of Object.entries(PLANTED)) {
      expect(await page.locator(`section[data-kind="${kind}"] .finding`).count(), kind).toBe(count);
    }
    expect(await page.locator('.finding').count()).toBe(TOTAL);
    const node = page.locator('tr[data-node="test-node"]');
    expect(await node.locator('.node-warning').textContent()).toBe(
      `⚠ ${all.length.toLocaleString('en')} duplicate findings, from overlapping connections corp-directory and staff-ou`,
    );
    const row = page.locator(`tr[data-connection-id="${connectionId}"]`);
    expect(await row.locator('.overlaps').textContent()).toContain('same objects as staff-ou');
    expect((await gw.ok(ConnectionByIdDocument, { id: connectionId })).connection?.overlapsWith).toEqual([
      { id: ouId, name: 'staff-ou' },
    ]);

    // Deleting the OU connection resolves them at once.
    await gw.ok(DeleteConnectionDocument, { id: ouId });
    await expect.poll(() => cause.count(), { timeout: 15_000 }).toBe(0);
    expect(await page.locator('.finding').count()).toBe(TOTAL);
    expect(await node.locator('.node-warning').textContent()).toContain(`${TOTAL} duplicate findings`);
    expect(await node.locator('.node-warning').textContent()).not.toContain('overlapping');
    expect(await row.locator('.overlaps').count()).toBe(0);
    await page.context().close();
  });

  it('marks a connection that sends its bind password without TLS, and no other', async () => {
    const tlsId = await addSlapdConnection(gw, slapd, {
      name: 'over-starttls',
      searchBase: DATASET.containers.group,
      tls: 'STARTTLS',
      caCertificate: slapd.certificates.ca.pem,
      allowPlaintextBind: false,
    });
    const page = await openPage();
    await logIn(page);
    const plain = page.locator(`tr[data-connection-id="${connectionId}"]`);
    await expect.poll(() => plain.count()).toBe(1);
    expect(await plain.locator('.plaintext').textContent()).toBe(
      '⚠ sends its bind password without TLS (allowPlaintextBind)',
    );
    expect(await page.locator(`tr[data-connection-id="${tlsId}"] .plaintext`).count()).toBe(0);
    await gw.ok(DeleteConnectionDocument, { id: tlsId });
    await page.context().close();
  });

  it('serves GraphiQL to a browser at /graphql, from the gateway alone', async () => {
    const page = await openPage();
    await page.goto(`${base}/graphql`);
    await page.locator('.graphiql-container').waitFor({ timeout: 20_000 });
    expect(await page.title()).toContain('GraphiQL');
    // API clients on the same path still get GraphQL (POST auth unchanged).
    const res = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ node { name } }' }),
    });
    expect(res.status).toBe(401);
    await page.context().close();
  });

  it('fetched nothing from outside the gateway', () => {
    expect(outside).toEqual([]);
  });
});
