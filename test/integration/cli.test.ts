/**
 * The `dirgate` command end to end, spawned as an operator runs it
 * (bin/dirgate.mjs → the project's Node 24 → tsx → src/cli/main.ts),
 * against a private slapd with planted duplicates: --help, test-connection
 * step by step (success, the failing step named), connections, sync on a
 * running gateway and in-process, token printing and rotation, signals and
 * exit codes through the launcher, and no bind password in any output.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDirectory } from '../../scripts/directories/generator.js';
import { type SlapdInstance, startSlapd } from '../../scripts/directories/slapd.js';
import { AddConnectionDocument } from '../gql/graphql.js';
import { runCli, startCli } from '../support/cli.js';
import { silentLdapServer } from '../support/fault-servers.js';
import { freePort, type GatewayProcess, spawnGateway } from '../support/gateway-process.js';

const PASSWORD = 'Cli-s3cret-Bind-Pa55word-4711';
const DATASET = generateDirectory({
  users: 60,
  groups: 10,
  contacts: 12,
  seed: 'cli-it',
  baseDn: 'dc=corp,dc=test',
  largeGroupSize: 0,
  duplicates: { userNames: 2, emailAddresses: 2 },
});
const PLANTED = DATASET.planted.userNames.length + DATASET.planted.emailAddresses.length;

let slapd: SlapdInstance;
let work: string;
let dataDir: string;
let passwordFile: string;
/** Everything every process of this file printed, for the secrets check at the end. */
let printed = '';

async function cli(args: readonly string[], env: Record<string, string> = {}) {
  const result = await runCli(args, { env: { DIRGATE_DATA_DIR: dataDir, ...env } });
  printed += result.stdout + result.stderr;
  return result;
}

beforeAll(async () => {
  slapd = await startSlapd({ dataset: DATASET, readerPassword: PASSWORD });
  work = await mkdtemp(path.join(tmpdir(), 'dirgate-cli-'));
  dataDir = path.join(work, 'data');
  passwordFile = path.join(work, 'bind-password');
  await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
});

afterAll(async () => {
  await slapd?.dispose();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('dirgate --help', () => {
  it('lists the commands, and each command explains its options', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    for (const name of ['serve', 'sync', 'test-connection', 'connections', 'token']) {
      expect(top.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
    }
    const expected: Record<string, string[]> = {
      serve: ['--port', '--host'],
      sync: ['--connection', '--url', '--local'],
      'test-connection': ['--url', '--domain', '--base', '--bind-dn', '--password-file', '--tls', '--ca'],
      connections: ['--json'],
      token: ['--rotate'],
    };
    for (const [name, flags] of Object.entries(expected)) {
      const help = await cli([name, '--help']);
      expect(help.code, name).toBe(0);
      expect(help.stdout).toContain(`Usage: dirgate ${name}`);
      for (const flag of [...flags, '--data-dir', '--help'])
        expect(help.stdout, `${name} ${flag}`).toContain(flag);
    }
  });

  it('rejects an unknown command or option with exit status 2', async () => {
    const unknown = await cli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    const badFlag = await cli(['sync', '--no-such-flag']);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain('--no-such-flag');
  });
});

describe('dirgate test-connection', () => {
  it('walks TCP, bind and search and counts the entries', async () => {
    const r = await cli([
      'test-connection',
      '--url',
      slapd.url,
      '--base',
      DATASET.baseDn,
      '--bind-dn',
      slapd.reader.dn,
      '--password-file',
      passwordFile,
      // slapd here speaks plain LDAP: the password goes in clear only when allowed.
      '--allow-plaintext-bind',
      '--contacts',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ok\s+TCP/);
    expect(r.stdout).toMatch(/ok\s+BIND/);
    expect(r.stdout).toMatch(/ok\s+SEARCH/);
    expect(r.stdout).toContain(
      `OK: LDAP at ${slapd.url}; ${DATASET.users.length} users, ${DATASET.groups.length} groups, ${DATASET.contacts.length} contacts`,
    );
  });

  it('names BIND as the failing step for a wrong password (read from standard input)', async () => {
    const result = await runCli(
      [
        'test-connection',
        '--url',
        slapd.url,
        '--base',
        DATASET.baseDn,
        '--bind-dn',
        slapd.reader.dn,
        '--password-file',
        '-',
        '--allow-plaintext-bind',
      ],
      { env: { DIRGATE_DATA_DIR: dataDir }, input: 'not-the-password\n' },
    );
    printed += result.stdout + result.stderr;
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/ok\s+TCP/);
    expect(result.stdout).toMatch(/FAIL\s+BIND/);
    expect(result.stdout).toMatch(/^FAILED at BIND: /m);
    expect(result.stdout).not.toContain('not-the-password');
  });

  it('names TCP as the failing step when nothing listens', async () => {
    const port = await freePort();
    const r = await cli(['test-connection', '--url', `ldap://127.0.0.1:${port}`, '--base', DATASET.baseDn]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAILED at TCP: /m);
  });
});

describe('connections, sync and token on a data folder', () => {
  let gateway: GatewayProcess;
  let connectionId: string;

  beforeAll(async () => {
    // Debug level: the most a gateway ever logs, all of it checked for the password below.
    gateway = await spawnGateway(dataDir, { DIRGATE_LOG_LEVEL: 'debug', DIRGATE_NODE_NAME: 'cli-node' });
    const added = await gateway.ok(AddConnectionDocument, {
      input: {
        name: 'corp-slapd',
        domain: 'corp.test',
        searchBase: DATASET.baseDn,
        servers: [slapd.url],
        bindDn: slapd.reader.dn,
        bindPassword: PASSWORD,
        allowPlaintextBind: true,
        includeContacts: true,
        // The gateway runs its schedules; a disabled connection is synced only by hand (here, by
        // `dirgate sync`), so the first listing shows it never synced.
        enabled: false,
      },
    });
    connectionId = added.addConnection.id;
  });

  afterAll(async () => {
    if (gateway && gateway.child.exitCode === null) {
      gateway.child.kill('SIGTERM');
      await gateway.exited;
    }
  });

  it('lists a connection that never synced', async () => {
    const r = await cli(['connections']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+DOMAIN\s+SERVERS\s+TLS\s+SCHEDULE\s+STATUS\s+USERS/);
    expect(lines[1]).toContain(connectionId);
    expect(lines[1]).toContain('corp-slapd');
    expect(lines[1]).toMatch(/\sNEVER\s+0\s+0\s+0\s+never/);
  });

  it('runs the sync on the running gateway and prints a summary', async () => {
    const r = await cli(['sync', '--url', gateway.base, '--connection', connectionId]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^corp-slapd SUCCEEDED in [0-9.]+ m?s from ${slapd.url}`, 'm'));
    expect(r.stdout).toContain(
      `users ${DATASET.users.length} · groups ${DATASET.groups.length} · contacts ${DATASET.contacts.length}`,
    );
    expect(r.stdout).toContain(`duplicate findings on this node: ${PLANTED} (`);
    expect(r.stdout).toContain(`(ran on the gateway at ${gateway.base})`);
    // Not a TTY: one progress line per phase on stderr, ending with the finished run.
    expect(r.stderr).toMatch(/corp-slapd: done \(\d+ entries/);
    // The gateway logged the run's phases (so the secrets check below reads real logs).
    expect(gateway.output()).toContain('"msg":"sync phase read"');
    expect(gateway.output()).toContain(`"server":"${slapd.url}"`);
  });

  it('tests a stored connection with its stored (encrypted) password', async () => {
    const r = await cli(['test-connection', '--connection', connectionId]);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toContain(`bind ${slapd.reader.dn}`);
    expect(r.stdout).toMatch(/ok\s+BIND/);
  });

  it('runs the engine in-process when no gateway answers', async () => {
    gateway.child.kill('SIGTERM');
    expect(await gateway.exited).toBe(0);
    printed += gateway.output();
    // PORT points at nothing: the command falls back to running the engine itself.
    const port = String(await freePort());
    const r = await cli(['sync', '--connection', connectionId, '--verbose'], { PORT: port });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^corp-slapd SUCCEEDED in /m);
    expect(r.stdout).toContain('changes: 0 added, 0 updated, 0 removed');
    expect(r.stdout).toContain(`(ran in this process on ${dataDir})`);
    // Logs go to stderr as JSON lines (not a terminal), one per phase, with the server chosen.
    const phases = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; phase?: string; ms?: number });
    expect(phases.filter((l) => l.msg.startsWith('sync phase')).map((l) => l.phase)).toEqual([
      'bind',
      'read',
      'build',
      'save',
      'index',
    ]);

    const list = await cli(['connections', '--json']);
    const [row] = JSON.parse(list.stdout) as { status: string; counts: { users: number } }[];
    expect(row?.status).toBe('SUCCEEDED');
    expect(row?.counts.users).toBe(DATASET.users.length);
  });

  it('fails with status 1 and the reason when the directory is gone', async () => {
    const other = await startSlapd({ dataset: DATASET, readerPassword: PASSWORD });
    await other.dispose();
    const r = await cli(['test-connection', '--connection', connectionId, '--url', other.url], {
      DIRGATE_BIND_PASSWORD: PASSWORD,
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAILED at TCP/m);
  });

  it('does not send the stored password where the flags point instead (it needs the password again)', async () => {
    const listener = await silentLdapServer();
    try {
      const r = await cli(['test-connection', '--connection', connectionId, '--url', listener.url]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('its stored password is not used: give the password');
      expect(listener.accepted()).toBe(0);
    } finally {
      await listener.close();
    }
  });

  it('prints the admin token and rotates it', async () => {
    const file = path.join(dataDir, 'admin-token');
    const before = (await readFile(file, 'utf8')).trim();
    const shown = await cli(['token']);
    expect(shown.code).toBe(0);
    expect(shown.stdout.trim()).toBe(before);

    const rotated = await cli(['token', '--rotate']);
    expect(rotated.code).toBe(0);
    const after = (await readFile(file, 'utf8')).trim();
    expect(after).not.toBe(before);
    expect(rotated.stdout.trim()).toBe(after);
    expect(rotated.stderr).toContain('restart a running gateway');
    expect((await stat(file)).mode & 0o777).toBe(0o600);

    // A gateway started now accepts the new token only.
    const restarted = await spawnGateway(dataDir);
    try {
      const ask = (token: string) =>
        fetch(restarted.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: '{ node { name } }' }),
        }).then((res) => res.status);
      expect(await ask(after)).toBe(200);
      expect(await ask(before)).toBe(401);
    } finally {
      restarted.child.kill('SIGTERM');
      await restarted.exited;
      printed += restarted.output();
    }

    const refused = await cli(['token', '--rotate'], { DIRGATE_ADMIN_TOKEN: 'x'.repeat(32) });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('DIRGATE_ADMIN_TOKEN is set');
  });

  it('serves through the launcher from any folder, logs JSON when not on a terminal, exits 0 on SIGTERM', async () => {
    const port = await freePort();
    // Started from another folder: the launcher finds the project (tsx, tsconfig) by itself.
    const serve = startCli(['serve', '--port', String(port)], {
      env: { DIRGATE_DATA_DIR: dataDir },
      cwd: work,
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const up = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (res) => res.status === 200,
        () => false,
      );
      if (up) break;
      if (Date.now() > deadline) throw new Error(`serve did not start:\n${serve.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    serve.child.kill('SIGTERM');
    const result = await serve.done;
    printed += result.stdout + result.stderr;
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(result.stdout).toContain('"msg":"dirgate is serving"');
    expect(result.stdout).toContain('"msg":"stopped"');
  });

  it('never printed the bind password, in any log or output', () => {
    expect(printed.length).toBeGreaterThan(1000);
    expect(printed).toContain('sync phase read');
    expect(printed).not.toContain(PASSWORD);
  });
});
