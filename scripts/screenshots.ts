/**
 * Regenerates the console's screenshots in docs/console/: a private slapd
 * with planted duplicates, an in-process gateway with two connections (one
 * with a held run), and headless Chromium on the main pages at 1280 px
 * (and the status page at a phone's 375 px).
 *
 *   npx tsx scripts/screenshots.ts
 *
 * Not part of npm test: the images are documentation, compared by eye.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'graphql';
import type { Page } from 'playwright-core';
import { AddConnectionDocument, UpdateConnectionDocument } from '../test/gql/graphql.js';
import { DESKTOP, launchBrowser, logIn, PHONE } from '../test/support/browser.js';
import { startTestGateway } from '../test/support/gateway.js';
import { slapdSettings, syncNow } from '../test/support/sync.js';
import { generateDirectory } from './directories/generator.js';
import { startSlapd } from './directories/slapd.js';

const OUT = path.resolve(import.meta.dirname, '../docs/console');

const dataset = generateDirectory({
  users: 60,
  groups: 12,
  contacts: 12,
  seed: 'console-screenshots',
  baseDn: 'dc=corp,dc=test',
  largeGroupSize: 0,
  duplicates: { userNames: 1, emailAddresses: 2 },
});

async function shoot(page: Page, hash: string, name: string, ready?: string): Promise<void> {
  await page.evaluate(`document.body.dataset.view = 'loading'; location.hash = ${JSON.stringify(hash)};`);
  await page.locator('body[data-view=ready]').waitFor();
  if (ready) await page.locator(ready).first().waitFor();
  await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true });
  console.log(`docs/console/${name}.png`);
}

const slapd = await startSlapd({ dataset });
const gw = await startTestGateway();
const browser = await launchBrowser('screenshots');
try {
  await mkdir(OUT, { recursive: true });
  const base = gw.url.replace(/\/graphql$/, '');
  const add = async (name: string, searchBase: string, extra: Record<string, unknown> = {}) =>
    (
      await gw.ok(AddConnectionDocument, {
        input: {
          name,
          domain: 'corp.test',
          ...slapdSettings(slapd),
          searchBase,
          includeContacts: true,
          ...extra,
        },
      })
    ).addConnection.id;
  const corp = await add('corp', slapd.baseDn, { schedule: '*/30 * * * *' });
  await syncNow(gw, corp);
  // The second run incremental: the runs list shows both modes.
  await syncNow(gw, corp, undefined, 'INCREMENTAL');
  const contacts = await add('partners', dataset.containers.contact, {
    deleteThreshold: 0.2,
    schedule: '0 2 * * 1-5',
  });
  await syncNow(gw, contacts);
  const kept = dataset.contacts[0]!.cn.replace(/[\\()*]/g, (c) => `\\${c.charCodeAt(0).toString(16)}`);
  await gw.ok(UpdateConnectionDocument, { id: contacts, input: { contactFilter: `(cn=${kept})` } });
  await syncNow(gw, contacts);

  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  await logIn(page, base, gw.adminToken);
  await page.screenshot({ path: path.join(OUT, 'status.png'), fullPage: false });
  console.log('docs/console/status.png');
  await shoot(page, `#/connections/${corp}`, 'connection', 'table.runs');
  await page.locator('table.runs summary').last().click();
  await page.locator('.change-list').first().waitFor();
  await page.screenshot({ path: path.join(OUT, 'runs.png'), fullPage: true });
  console.log('docs/console/runs.png');
  await shoot(page, `#/connections/${contacts}`, 'held-run', 'section.held');
  await shoot(page, '#/connections/new', 'add-connection', 'form.connection-form');
  await page.fill('input[name=name]', 'staff');
  await page.fill('input[name=domain]', 'corp.test');
  await page.fill('input[name=searchBase]', dataset.containers.user);
  await page.check('input[value=servers]');
  await page.fill('textarea[name=servers]', slapd.url);
  await page.fill('input[name=bindDn]', slapd.reader.dn);
  await page.fill('input[name=bindPassword]', 'wrong password');
  await page.fill('input[name=schedule]', '15 */4 * * *');
  await page.click('button.test');
  await page.locator('.test-report').waitFor();
  await page.screenshot({ path: path.join(OUT, 'test-connection.png'), fullPage: true });
  console.log('docs/console/test-connection.png');
  await shoot(page, '#/directory?q=a', 'directory', '#directory-results li');
  const { duplicateFindings } = (await gw.ok(
    parse('{ duplicateFindings(kind: EMAIL_ADDRESS) { principals { id } } }') as never,
  )) as { duplicateFindings: { principals: { id: string }[] }[] };
  const id = duplicateFindings[0]?.principals[0]?.id;
  if (id) await shoot(page, `#/principal/${encodeURIComponent(id)}`, 'principal', '.principal-page');
  await context.close();

  const phone = await browser.newContext({ viewport: PHONE, deviceScaleFactor: 2 });
  const small = await phone.newPage();
  await logIn(small, base, gw.adminToken);
  await shoot(small, `#/connections/${corp}`, 'phone-connection', 'table.runs');
  await phone.close();
} finally {
  await browser.close();
  await gw.dispose();
  await slapd.dispose();
}
