/**
 * The `dirgate` command's administrator tasks end to end (#19), spawned as
 * an operator runs it, against a real gateway (in-process, over HTTP) and a
 * private slapd: connections add / update / show / delete with every flag,
 * the API's refusals told as the flag, delete's confirmation on a terminal
 * and its refusal off one, runs with the names of what changed, findings,
 * a held run discarded (the data kept) and the next one confirmed, what it
 * removed named after, a reader's token refused; and (#16) server text
 * with terminal control sequences printed without them, in every command.
 */
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionByIdDocument, ConnectionsDocument } from '../gql/graphql.js';
import { runCli, runCliOnTerminal } from '../support/cli.js';
import { privateSlapd } from '../support/fixtures.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { freePort } from '../support/gateway-process.js';
import { modifyEntry } from '../support/slapd-edits.js';
import { syncNow } from '../support/sync.js';

const ldap = privateSlapd({ users: 30, groups: 5, contacts: 6, seed: 'cli-admin', largeGroupSize: 0 });
/** What a hostile directory might hold: retitles the window (OSC), colours, reorders (bidi). */
const HOSTILE = '\u001b]0;pwned\u0007Evil \u001b[31mTwin\u202e\u0008';
const SHOWN = 'Evil Twin';
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

let gw: TestGateway;
let work: string;
let passwordFile: string;
let caFile: string;

async function cli(args: readonly string[], env: Record<string, string> = {}, input?: string) {
  return runCli(args, {
    env: { DIRGATE_DATA_DIR: gw.dataDir, DIRGATE_URL: gw.url, NO_COLOR: '1', ...env },
    input,
  });
}

async function connectionCount(): Promise<number> {
  return (await gw.ok(ConnectionsDocument)).connections.length;
}

beforeAll(async () => {
  gw = await startTestGateway();
  work = await mkdtemp(path.join(tmpdir(), 'dirgate-cli-admin-'));
  passwordFile = path.join(work, 'bind-password');
  await writeFile(passwordFile, `${ldap.slapd.reader.password}\n`, { mode: 0o600 });
  caFile = path.join(work, 'not-a-ca.pem');
  await writeFile(caFile, 'no certificate here\n');
});

afterAll(async () => {
  await gw?.dispose();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('--help', () => {
  it('lists the administration commands, each with its flags', async () => {
    const top = await cli(['--help']);
    for (const name of [
      'connections add',
      'connections update',
      'connections show',
      'connections delete',
      'runs',
      'findings',
      'confirm',
      'discard',
    ]) {
      expect(top.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
    }
    const expected: Record<string, string[]> = {
      'connections add': [
        '--name',
        '--domain',
        '--base',
        '--url',
        '--srv',
        '--tls',
        '--ca',
        '--no-tls-verify',
        '--allow-plaintext-bind',
        '--bind-dn',
        '--password-file',
        '--contacts',
        '--no-contacts',
        '--schedule',
        '--enabled',
        '--disabled',
        '--delete-threshold',
        '--user-filter',
        '--group-filter',
        '--contact-filter',
        '--netbios-name',
        '--gateway',
        '--json',
      ],
      'connections update': ['--no-ca', '--no-password', '--no-allow-plaintext-bind'],
      'connections delete': ['--yes'],
      runs: ['--connection', '--limit', '--json'],
      findings: ['--connection', '--type', '--json'],
      confirm: ['--gateway', '--json'],
      discard: ['--gateway', '--json'],
    };
    for (const [name, flags] of Object.entries(expected)) {
      const help = await cli([...name.split(' '), '--help']);
      expect(help.code, name).toBe(0);
      expect(help.stdout).toContain(`Usage: dirgate ${name} [options]`);
      for (const flag of flags) expect(help.stdout, `${name} ${flag}`).toContain(`${flag} `);
    }
    const unknown = await cli(['connections', 'rename']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "connections rename"');
  });
});

describe('connections add, update, show', () => {
  let id: string;

  it('adds a connection with every flag and shows it', async () => {
    const r = await cli([
      'connections',
      'add',
      '--name',
      'corp',
      '--base',
      ldap.slapd.baseDn,
      '--url',
      ldap.slapd.url,
      '--bind-dn',
      ldap.slapd.reader.dn,
      '--password-file',
      passwordFile,
      '--allow-plaintext-bind',
      '--contacts',
      '--schedule',
      '*/15 * * * *',
      '--incremental-schedule',
      '*/5 * * * *',
      '--disabled',
      '--delete-threshold',
      '50%',
      '--no-tls-verify',
      '--user-filter',
      '(objectClass=inetOrgPerson)',
      '--netbios-name',
      'CORP',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^added connection corp \(/m);
    expect(r.stdout).toMatch(/domain\s+corp\.test/);
    expect(r.stdout).toMatch(/schedule\s+\*\/15 \* \* \* \* \(disabled/);
    expect(r.stdout).toMatch(/incremental\s+\*\/5 \* \* \* \*/);
    expect(r.stdout).toMatch(/delete threshold\s+50%/);
    expect(r.stdout).toContain(`${ldap.slapd.reader.dn} (password set)`);
    expect(r.stdout).not.toContain(ldap.slapd.reader.password);

    const { connections } = await gw.ok(ConnectionsDocument);
    expect(connections).toHaveLength(1);
    id = connections[0]?.id ?? '';
    const { connection } = await gw.ok(ConnectionByIdDocument, { id });
    expect(connection).toMatchObject({
      name: 'corp',
      searchBase: ldap.slapd.baseDn,
      servers: [ldap.slapd.url],
      tls: 'NONE',
      tlsVerify: false,
      bindDn: ldap.slapd.reader.dn,
      hasBindPassword: true,
      includeContacts: true,
      schedule: '*/15 * * * *',
      incrementalSchedule: '*/5 * * * *',
      enabled: false,
    });
  });

  it('names the flag the gateway refused, with its reason, and adds nothing', async () => {
    const before = await connectionCount();
    const cron = await cli([
      'connections',
      'add',
      '--name',
      'x',
      '--base',
      'dc=x,dc=test',
      '--srv',
      '--schedule',
      'every 5 minutes',
    ]);
    expect(cron.code).toBe(1);
    expect(cron.stderr).toContain(
      'dirgate connections add: --schedule: "every 5 minutes" is not a cron expression',
    );
    expect(cron.stderr).toContain('INVALID_CRON');
    const often = await cli([
      'connections',
      'add',
      '--name',
      'x',
      '--base',
      'dc=x,dc=test',
      '--srv',
      '--incremental-schedule',
      '*/10 * * * * *',
    ]);
    expect(often.code).toBe(1);
    expect(often.stderr).toContain('--incremental-schedule:');
    expect(often.stderr).toContain('INTERVAL_TOO_SHORT');
    const url = await cli([
      'connections',
      'add',
      '--name',
      'x',
      '--base',
      'dc=x,dc=test',
      '--url',
      'ldap://ok.test',
      '--url',
      'http://web.test',
    ]);
    expect(url.code).toBe(1);
    expect(url.stderr).toContain(
      '--url http://web.test: "http://web.test" is not an ldap:// or ldaps:// URL',
    );
    const ca = await cli([
      'connections',
      'add',
      '--name',
      'x',
      '--base',
      'dc=x,dc=test',
      '--srv',
      '--ca',
      caFile,
    ]);
    expect(ca.code).toBe(1);
    expect(ca.stderr).toContain('--ca: holds no PEM certificate');
    expect(await connectionCount()).toBe(before);
    // Refused before anything is sent: a usage error (exit 2).
    const tls = await cli([
      'connections',
      'add',
      '--name',
      'x',
      '--base',
      'dc=x,dc=test',
      '--srv',
      '--tls',
      'ssl',
    ]);
    expect(tls.code).toBe(2);
    expect(tls.stderr).toContain('--tls must be none, starttls or ldaps');
    const both = await cli([
      'connections',
      'add',
      '--name',
      'x',
      '--base',
      'dc=x,dc=test',
      '--srv',
      '--enabled',
      '--disabled',
    ]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--enabled and --disabled exclude each other');
  });

  it('updates only what the flags say, by name; moving the connection needs the password again', async () => {
    const r = await cli(
      [
        'connections',
        'update',
        'corp',
        '--schedule',
        '0 * * * *',
        '--enabled',
        // Verification is part of how it binds: the password comes again (here on standard input).
        '--tls-verify',
        '--password-file',
        '-',
      ],
      {},
      `${ldap.slapd.reader.password}\n`,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^updated connection corp/m);
    const { connection } = await gw.ok(ConnectionByIdDocument, { id });
    expect(connection).toMatchObject({
      schedule: '0 * * * *',
      enabled: true,
      tlsVerify: true,
      hasBindPassword: true,
    });

    const moved = await cli(['connections', 'update', id, '--url', 'ldap://elsewhere.test:389']);
    expect(moved.code).toBe(1);
    expect(moved.stderr).toContain('--password-file: servers changed where or how the connection binds');
    expect(moved.stderr).toContain('give --password-file again, or --no-password');
    expect((await gw.ok(ConnectionByIdDocument, { id })).connection?.servers).toEqual([ldap.slapd.url]);
    const domain = await cli(['connections', 'update', id, '--domain', 'other.test']);
    expect(domain.code).toBe(2);
    expect(domain.stderr).toContain('--domain cannot be changed');
    const nothing = await cli(['connections', 'update', id]);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('nothing to change');
  });

  it('shows one connection by id or name, as a table or JSON', async () => {
    const r = await cli(['connections', 'show', 'CORP']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^corp  ${id}$`, 'm'));
    expect(r.stdout).toMatch(/servers\s+ldap:\/\/127\.0\.0\.1:\d+/);
    expect(r.stdout).toMatch(/filters\s+users \(objectClass=inetOrgPerson\)/);
    expect(r.stdout).toMatch(/last run\s+never/);
    const j = await cli(['connections', 'show', id, '--json']);
    expect(JSON.parse(j.stdout)).toMatchObject({
      id,
      name: 'corp',
      netbiosName: 'CORP',
      deleteThreshold: 0.5,
      userFilter: '(objectClass=inetOrgPerson)',
      status: 'NEVER',
    });
    const missing = await cli(['connections', 'show', 'nope']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no connection "nope"');
  });
});

describe('runs, findings, confirm', () => {
  let id: string;

  beforeAll(async () => {
    id = (await gw.ok(ConnectionsDocument)).connections.find((c) => c.name === 'corp')?.id ?? '';
  });

  it('lists runs with trigger, server, duration, status and the names of what changed', async () => {
    // The first sync by `dirgate sync`, the connection named by its name.
    const synced = await cli(['sync', '--connection', 'corp']);
    expect(synced.code, synced.stderr).toBe(0);
    expect(synced.stdout).toMatch(/^corp SUCCEEDED/m);
    const [first, second] = ldap.dataset.users;
    if (!first || !second) throw new Error('dataset too small');
    // Two users renamed alike: an update each, and a USER_NAME duplicate, in hostile text.
    await modifyEntry(ldap.slapd, first.dn, { displayName: [HOSTILE] });
    await modifyEntry(ldap.slapd, second.dn, { displayName: [HOSTILE] });
    await syncNow(gw, id);

    const r = await cli(['runs', '--connection', 'corp', '--limit', '5']);
    expect(r.code, r.stderr).toBe(0);
    const [header, newest, older] = r.stdout.split('\n');
    expect(header).toMatch(/^STARTED\s+CONNECTION\s+TRIGGER\s+STATUS\s+DURATION\s+SERVER\s+CHANGES\s+RUN/);
    expect(newest).toMatch(
      new RegExp(
        `corp\\s+manual\\s+SUCCEEDED\\s+[0-9.]+ m?s\\s+${ldap.slapd.url.replace(/\./g, '\\.')}\\s+\\+0 ~2 -0`,
      ),
    );
    expect(older).toMatch(/\+\d+ ~0 -0/);
    expect(r.stdout).toMatch(new RegExp(`updated\\s+${SHOWN}.*, ${SHOWN}`));
    // The first run's additions by name (ten shown, the rest counted).
    expect(r.stdout).toMatch(/added\s+.+ and \d+ more/);
    expect(r.stdout).not.toMatch(CONTROL);

    const j = await cli(['runs', '-c', id, '-n', '1', '--json']);
    const [run] = JSON.parse(j.stdout) as {
      changes: { updatedCount: number };
      changedNames: { updated: { principal: { displayName: string } }[] };
    }[];
    expect(run?.changes.updatedCount).toBe(2);
    // JSON keeps the value as the API gave it (the controls escaped, so inert on a terminal).
    expect(run?.changedNames.updated[0]?.principal.displayName).toBe(HOSTILE);
    expect(j.stdout).not.toMatch(CONTROL);
    const bad = await cli(['runs', '--limit', '0']);
    expect(bad.code).toBe(2);
  });

  it('lists the duplicate findings, of one kind, without the control sequences', async () => {
    const r = await cli(['findings', '--type', 'user-name']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^USER_NAME\\s+${SHOWN}\\s+2\\s+corp`, 'm'));
    expect(r.stdout).not.toMatch(CONTROL);
    expect(r.stdout).not.toContain('pwned');
    const none = await cli(['findings', '--type', 'ntlm_name', '--connection', 'corp']);
    expect(none.stdout.trim()).toBe('no duplicate findings');
    const wrong = await cli(['findings', '--type', 'nickname']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('--type must be one of USER_NAME');
  });

  it('shows a held run with what it would remove, discards it, and confirms the next one', async () => {
    // Contacts off with a 5% threshold: removing all six of 41 objects is held.
    const upd = await cli(['connections', 'update', 'corp', '--no-contacts', '--delete-threshold', '0.05']);
    expect(upd.code, upd.stderr).toBe(0);
    await syncNow(gw, id);
    const show = await cli(['connections', 'show', 'corp']);
    expect(show.stdout).toMatch(/status\s+HELD/);
    const heldId = /held run\s+(\S+)/.exec(show.stdout)?.[1] ?? '';
    expect(heldId).not.toBe('');
    const runs = await cli(['runs', '-c', 'corp', '-n', '1']);
    const contact = ldap.dataset.contacts[0]?.displayName ?? '';
    expect(runs.stdout.split('\n').find((l) => /^ {2}would remove {2}\S/.test(l))).toContain(contact);

    // Discarded: the data served before it stays, and the run says so.
    const discardText =
      'discarded by an administrator: the current data was kept; the next run compares again';
    const notHeldHere = await cli(['discard', 'no-such-run']);
    expect(notHeldHere.code).toBe(2);
    expect(notHeldHere.stderr).toContain(
      `run no-such-run is not held on any connection; held: ${heldId} (corp)`,
    );
    const byReader = await cli(['discard', heldId], { DIRGATE_ADMIN_TOKEN: gw.readerToken });
    expect(byReader.code).toBe(1);
    expect(byReader.stderr).toContain('the reader role may not');
    const d = await cli(['discard', heldId]);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toContain(`discarded run ${heldId} of corp: FAILED`);
    expect(d.stdout).toContain(discardText);
    const kept = (await gw.ok(ConnectionByIdDocument, { id })).connection;
    expect(kept).toMatchObject({
      status: 'FAILED',
      heldRunId: null,
      contactCount: ldap.dataset.contacts.length,
    });
    expect(kept?.lastSync).toMatchObject({ id: heldId, status: 'FAILED', error: discardText });
    const twice = await cli(['discard', heldId]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain(`run ${heldId} is not held on any connection (none is held)`);

    // The next run compares with the data kept: held again, and this one is confirmed.
    await syncNow(gw, id);
    const again = /held run\s+(\S+)/.exec((await cli(['connections', 'show', 'corp'])).stdout)?.[1] ?? '';
    expect(again).not.toBe('');
    expect(again).not.toBe(heldId);
    const notHeld = await cli(['confirm', 'no-such-run']);
    expect(notHeld.code).toBe(2);
    expect(notHeld.stderr).toContain(`run no-such-run is not held on any connection; held: ${again} (corp)`);
    const r = await cli(['confirm', again]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`confirmed run ${again} of corp: SUCCEEDED`);
    expect(r.stdout).toMatch(/changes: 0 added, \d+ updated, 6 removed/);
    const { connection } = await gw.ok(ConnectionByIdDocument, { id });
    expect(connection?.status).toBe('SUCCEEDED');
    expect(connection?.contactCount).toBe(0);

    // Applied, the removed contacts are no longer served; the run still names them.
    const after = await cli(['runs', '-c', 'corp', '-n', '1']);
    const removedLine = after.stdout.split('\n').find((l) => /^ {2}removed {2}\S/.test(l)) ?? '';
    for (const c of ldap.dataset.contacts) expect(removedLine).toContain(`${c.displayName} (contact)`);
    expect(removedLine).not.toContain('no longer served');
    const asJson = JSON.parse((await cli(['runs', '-c', 'corp', '-n', '1', '--json'])).stdout) as {
      changedNames: { removed: { principal: unknown; recorded: { kind: string; name: string } | null }[] };
    }[];
    const removed = asJson[0]?.changedNames.removed ?? [];
    expect(removed).toHaveLength(ldap.dataset.contacts.length);
    expect(removed.every((o) => o.principal === null && o.recorded?.kind === 'CONTACT')).toBe(true);
  });
});

describe('connections delete', () => {
  async function addSpare(name: string): Promise<string> {
    const r = await cli([
      'connections',
      'add',
      '--name',
      name,
      '--base',
      `ou=${name},dc=corp,dc=test`,
      '--domain',
      'corp.test',
      '--srv',
      '--disabled',
    ]);
    expect(r.code, r.stderr).toBe(0);
    return (await gw.ok(ConnectionsDocument)).connections.find((c) => c.name === name)?.id ?? '';
  }

  it('refuses without --yes off a terminal, saying what it would remove', async () => {
    const r = await cli(['connections', 'delete', 'corp']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /not on a terminal, so not asking: add --yes to delete corp \(.+\) and with it 30 users, 5 groups and 0 contacts/,
    );
    expect((await gw.ok(ConnectionsDocument)).connections.map((c) => c.name)).toContain('corp');
  });

  it('asks on a terminal: no keeps it, yes deletes it', async () => {
    const id = await addSpare('spare');
    const env = { DIRGATE_DATA_DIR: gw.dataDir, DIRGATE_URL: gw.url, NO_COLOR: '1' };
    const kept = await runCliOnTerminal(['connections', 'delete', 'spare'], {
      env,
      prompt: '[y/N]',
      input: 'n\n',
    });
    expect(kept.output).toContain(`This deletes connection spare (${id}) of corp.test`);
    expect(kept.output).toContain('0 users, 0 groups and 0 contacts');
    expect(kept.output).toContain('nothing deleted');
    expect(kept.code).toBe(1);
    expect((await gw.ok(ConnectionByIdDocument, { id })).connection).not.toBeNull();

    const gone = await runCliOnTerminal(['connections', 'delete', 'spare'], {
      env,
      prompt: '[y/N]',
      input: 'y\n',
    });
    expect(gone.code, gone.output).toBe(0);
    expect(gone.output).toContain('deleted connection spare');
    expect((await gw.ok(ConnectionByIdDocument, { id })).connection).toBeNull();
  });

  it('deletes with --yes', async () => {
    const id = await addSpare('spare2');
    const r = await cli(['connections', 'delete', id, '--yes', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      deleted: id,
      name: 'spare2',
      removed: { users: 0, groups: 0, contacts: 0 },
    });
    expect((await gw.ok(ConnectionByIdDocument, { id })).connection).toBeNull();
  });
});

describe('the gateway and its token', () => {
  it("is refused with a reader's token, and named when it does not answer", async () => {
    const reader = await cli(['connections', 'add', '--name', 'r', '--base', 'dc=r,dc=test', '--srv'], {
      DIRGATE_ADMIN_TOKEN: gw.readerToken,
    });
    expect(reader.code).toBe(1);
    expect(reader.stderr).toContain('the reader role may not');
    const port = await freePort();
    const down = await cli(['runs', '--gateway', `http://127.0.0.1:${port}`]);
    expect(down.code).toBe(2);
    expect(down.stderr).toContain(`no gateway answers at http://127.0.0.1:${port}/readyz`);
  });
});

/**
 * An LDAP "server" that answers every bind with invalidCredentials and this diagnostic text: a
 * hostile server's error message, as the command prints it.
 */
async function hostileBindServer(diagnostic: string): Promise<{ url: string; close(): Promise<void> }> {
  const octets = (tag: number, body: Buffer) => {
    if (body.length > 127) throw new Error('keep it short');
    return Buffer.concat([Buffer.from([tag, body.length]), body]);
  };
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.on('data', (request: Buffer) => {
      // LDAPMessage: SEQUENCE, its length (short or long form), then messageID INTEGER.
      const lengthBytes = (request[1] ?? 0) & 0x80 ? (request[1] ?? 0) & 0x7f : 0;
      const at = 2 + lengthBytes;
      const id = request.subarray(at + 2, at + 2 + (request[at + 1] ?? 1));
      const response = octets(
        0x61,
        Buffer.concat([
          Buffer.from([0x0a, 0x01, 49]),
          octets(0x04, Buffer.alloc(0)),
          octets(0x04, Buffer.from(diagnostic)),
        ]),
      );
      socket.write(octets(0x30, Buffer.concat([octets(0x02, id), response])));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `ldap://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('server text with terminal controls (#16)', () => {
  it("is printed without them: a server's error text, a connection's name", async () => {
    const hostile = await hostileBindServer(`bad password ${HOSTILE}`);
    try {
      const tested = await cli([
        'test-connection',
        '--url',
        hostile.url,
        '--base',
        'dc=corp,dc=test',
        '--bind-dn',
        'cn=x,dc=corp,dc=test',
        '--password-file',
        passwordFile,
        '--allow-plaintext-bind',
      ]);
      expect(tested.code).toBe(1);
      expect(tested.stdout).toContain(`bad password ${SHOWN}`);
      expect(tested.stdout).not.toMatch(CONTROL);

      // The same text through the API: a run's error, in runs, show and the list.
      const add = await cli([
        'connections',
        'add',
        '--name',
        `bad ${HOSTILE}`,
        '--base',
        'ou=bad,dc=corp,dc=test',
        '--domain',
        'corp.test',
        '--url',
        hostile.url,
        '--bind-dn',
        'cn=x,dc=corp,dc=test',
        '--password-file',
        passwordFile,
        '--allow-plaintext-bind',
        '--disabled',
      ]);
      expect(add.code, add.stderr).toBe(0);
      expect(add.stdout).toContain(`added connection bad ${SHOWN}`);
      const id =
        (await gw.ok(ConnectionsDocument)).connections.find((c) => c.name.startsWith('bad '))?.id ?? '';
      await syncNow(gw, id);
      for (const args of [
        ['runs', '-c', id],
        ['connections', 'show', id],
        ['connections'],
        ['sync', '--url', gw.url, '-c', id],
      ]) {
        const r = await cli(args);
        expect(r.stdout + r.stderr, args.join(' ')).toContain(`bad password ${SHOWN}`);
        expect(r.stdout + r.stderr, args.join(' ')).not.toMatch(CONTROL);
      }
      await cli(['connections', 'delete', id, '--yes']);
    } finally {
      await hostile.close();
    }
  });
});
