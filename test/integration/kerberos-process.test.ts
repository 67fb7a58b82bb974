/**
 * KERBEROS connections in the gateway as `npm start` runs it (schedules on,
 * production mode; test/support/gateway-process.ts), against the shared
 * Samba DC (#17; run under flock /tmp/dirgate-samba.lock):
 *
 * - with its defaults, a KERBEROS connection's scheduled incremental runs
 *   bring a user added to the directory into autocomplete, then SIGTERM
 *   ends the process cleanly (exit 0), with no ticket cache left outside
 *   the data folder and the keytab in neither its output nor its files;
 * - under libfaketime two hours ahead (LD_PRELOAD, FAKETIME=+2h, the
 *   monotonic clock left alone), the KDC refuses the gateway's requests:
 *   CLOCK_SKEW at the KERBEROS step of testConnection and in the run.
 */
import { Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutocompleteDocument, SyncRunsDocument } from '../gql/graphql.js';
import { type SambaInfo, sharedSamba } from '../support/directories.js';
import { gatewayProcesses } from '../support/fixtures.js';
import type { GatewayProcess } from '../support/gateway-process.js';
import { kerberosFixture } from '../support/kerberos.js';
import {
  addKerberosConnection,
  kerberosConnection,
  kerberosGatewayEnv,
  kerberosInput,
  TestKerberosConnection,
} from '../support/kerberos-api.js';
import { filesHolding, formsIn, keytabForms, ticketCacheFiles } from '../support/kerberos-leaks.js';
import { sambaAdminClient } from '../support/samba-access.js';
import { waitForFirstSync } from '../support/sync.js';

const gateways = gatewayProcesses('kerberos-process');
const tag = `${process.pid}-${Date.now() % 1_000_000}`;
let samba: SambaInfo;
let writer: Client;
let ou: string;
const created: string[] = [];

async function addUser(name: string): Promise<{ dn: string; mail: string }> {
  const dn = `CN=${name},${ou}`;
  const mail = `${name}@corp.test`;
  await writer.add(dn, {
    objectClass: ['top', 'person', 'organizationalPerson', 'user'],
    sAMAccountName: name.slice(0, 20),
    userAccountControl: '512',
    displayName: name,
    mail,
  });
  created.push(dn);
  return { dn, mail };
}

beforeAll(async () => {
  samba = sharedSamba();
  writer = await sambaAdminClient(samba);
  // An OU of this file's own: its runs read only what the file puts there.
  ou = `OU=krb-proc-${tag},${samba.baseDn}`;
  await writer.add(ou, { objectClass: ['top', 'organizationalUnit'] });
  await addUser(`krbp-a-${tag}`.slice(0, 20));
});

afterAll(async () => {
  for (const dn of created.reverse()) await writer?.del(dn).catch(() => {});
  if (ou) await writer?.del(ou).catch(() => {});
  await writer?.unbind();
});

async function completions(gw: GatewayProcess, prefix: string): Promise<string[]> {
  const { autocomplete } = await gw.ok(AutocompleteDocument, { prefix });
  return autocomplete.map((s) => s.address);
}

describe('a KERBEROS connection in the gateway as npm start runs it', () => {
  it('its scheduled incremental runs (the default schedule) bring a new user into autocomplete; SIGTERM then exits 0', async () => {
    const cachesBefore = ticketCacheFiles();
    const dataDir = await gateways.folder();
    // Info: the runs' lines are in the output scanned below.
    const gw = await gateways.spawn(dataDir, { ...kerberosGatewayEnv(), DIRGATE_LOG_LEVEL: 'info' });
    // No schedule given: the defaults. The full schedule is only moved off the half hours so that
    // a scheduled full run cannot be the one that brings the user.
    const added = await addKerberosConnection(gw, {
      ...kerberosInput({ name: 'Kerberos scheduled', searchBase: ou }),
      schedule: '0 0 1 1 *',
    });
    const first = await waitForFirstSync(gw, added.id);
    expect(first.status, first.lastSync?.error ?? '').toBe('SUCCEEDED');
    expect(first.incrementalSchedule).toBe('* * * * *');
    expect(first.userCount).toBe(1);

    const user = await addUser(`krbp-b-${tag}`.slice(0, 20));
    const began = Date.now();
    while (!(await completions(gw, user.mail)).includes(user.mail)) {
      if (Date.now() - began > 100_000) throw new Error('the new user was not in autocomplete within 100 s');
      await new Promise((r) => setTimeout(r, 500));
    }
    const runs = (await gw.ok(SyncRunsDocument, { connectionId: added.id, last: 10 })).syncRuns;
    const bringing = runs.find((r) => (r.changes?.addedCount ?? 0) > 0);
    expect(bringing).toMatchObject({
      trigger: 'SCHEDULE',
      mode: 'INCREMENTAL',
      status: 'SUCCEEDED',
      changes: { addedCount: 1, updatedCount: 0, removedCount: 0 },
    });
    expect((await kerberosConnection(gw, added.id)).userCount).toBe(2);

    const servedAfter = Date.now() - began;

    gw.child.kill('SIGTERM');
    expect(await gw.exited).toBe(0);
    // Nothing outside the data folder, and the keytab in no log line and no file of it.
    expect(ticketCacheFiles().filter((f) => !cachesBefore.includes(f))).toEqual([]);
    const forms = keytabForms(kerberosFixture().keytabs.dirgate);
    expect(gw.output()).toMatch(/"msg":"sync succeeded"/);
    expect(formsIn(gw.output(), forms)).toEqual([]);
    expect(filesHolding(dataDir, forms)).toEqual([]);
    console.log(`a user added to Samba was in autocomplete after ${servedAfter} ms over Kerberos`);
  }, 180_000);
});

describe('a gateway whose clock is two hours ahead (libfaketime)', () => {
  it('CLOCK_SKEW at the KERBEROS step of testConnection, and in the first run', async () => {
    const k = kerberosFixture();
    if (!k.libfaketime) throw new Error('libfaketime is not installed (the global setup installs faketime)');
    const gw = await gateways.spawn(await gateways.folder(), {
      ...kerberosGatewayEnv(),
      LD_PRELOAD: k.libfaketime,
      FAKETIME: '+2h',
      // Timers and the event loop keep the real pace; only the wall clock is moved.
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
    });
    // The faked clock reaches the process: its HTTP Date header is two hours ahead.
    const date = (await fetch(`${gw.base}/readyz`)).headers.get('date');
    const ahead = Date.parse(date ?? '') - Date.now();
    expect(ahead).toBeGreaterThan(7_000_000);
    expect(ahead).toBeLessThan(7_400_000);

    const input = kerberosInput({ name: 'Kerberos skewed', searchBase: ou });
    const { testConnection: report } = await gw.ok(TestKerberosConnection, { input });
    expect(report.ok).toBe(false);
    const failed = report.steps.find((s) => !s.ok);
    expect(failed?.step, JSON.stringify(report.steps)).toBe('KERBEROS');
    expect(report.steps.map((s) => s.step)).not.toContain('BIND');
    expect(report.error).toMatch(/\bCLOCK_SKEW: /);

    const added = await addKerberosConnection(gw, input);
    const run = await waitForFirstSync(gw, added.id);
    expect(run.status).toBe('FAILED');
    expect(run.lastSync?.error).toMatch(/\bCLOCK_SKEW: /);

    gw.child.kill('SIGTERM');
    expect(await gw.exited).toBe(0);
  }, 120_000);
});
