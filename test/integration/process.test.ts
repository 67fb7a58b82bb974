/**
 * The service as operators run it: a real process started the way `npm start`
 * starts it, configured by its environment, reached over HTTP, stopped by a
 * signal.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
/** What `npm start` runs. */
const START_SCRIPT = (
  JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }
).scripts.start;
const NODE_NAME = 'process-test-node';

interface Started {
  readonly child: ChildProcess;
  readonly port: number;
  readonly base: string;
  stderr(): string;
  stdout(): string;
  /** Resolves with the exit code (null when killed by a signal) and the signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();
let workDir: string;

beforeAll(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), 'dirgate-process-'));
});

afterEach(() => {
  // Only the processes this file started, by their own pid.
  for (const child of running)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  running.clear();
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The parent's environment without dirgate's variables, plus `extra`. */
function environment(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    // NODE_ENV too: vitest sets it to test, and a user's process runs in production mode.
    if (!k.startsWith('DIRGATE_') && k !== 'PORT' && k !== 'HOST' && k !== 'NODE_ENV') env[k] = v;
  }
  // Schedules on, as users run it.
  return { ...env, HOST: '127.0.0.1', DIRGATE_LOG_LEVEL: 'warn', ...extra };
}

/** Starts the service; `viaNpm` runs `npm start`, otherwise what its script runs (through sh, as npm does). */
async function start(extra: Record<string, string>, viaNpm = false): Promise<Started> {
  const port = extra.PORT !== undefined ? Number(extra.PORT) : await freePort();
  const env = environment({ PORT: String(port), ...extra });
  const child = viaNpm
    ? spawn('npm', ['start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn('sh', ['-c', START_SCRIPT], {
        cwd: ROOT,
        env: { ...env, PATH: `${path.join(ROOT, 'node_modules', '.bin')}${path.delimiter}${env.PATH ?? ''}` },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
  running.add(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    child,
    port,
    base: `http://127.0.0.1:${port}`,
    stderr: () => err,
    stdout: () => out,
    exited,
  };
}

/** Waits until /readyz answers 200; fails with the process's output if it exits or takes too long. */
async function ready(s: Started, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void s.exited.then(() => {
    exited = true;
  });
  while (Date.now() < deadline) {
    if (exited) throw new Error(`the service exited before it was ready:\n${s.stderr()}\n${s.stdout()}`);
    try {
      const res = await fetch(`${s.base}/readyz`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the service was not ready within ${timeoutMs} ms:\n${s.stderr()}`);
}

/** Waits for the exit, failing when it takes longer than `ms`. */
async function exitWithin(
  s: Started,
  ms: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
  const started = Date.now();
  const result = await Promise.race([
    s.exited,
    new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms).unref()),
  ]);
  if (result === 'timeout') throw new Error(`the service did not exit within ${ms} ms:\n${s.stderr()}`);
  return { ...result, ms: Date.now() - started };
}

async function graphql(
  s: Started,
  query: string,
  token: string | null,
): Promise<{ status: number; body: { data?: unknown; errors?: { extensions?: { code?: string } }[] } }> {
  const res = await fetch(`${s.base}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, body: (await res.json()) as never };
}

async function isListening(port: number): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
    return true;
  } catch {
    return false;
  }
}

const mode = async (file: string): Promise<number> => (await stat(file)).mode & 0o777;

describe('the dirgate process', () => {
  it('refuses an invalid PORT: exit code 1 and a message naming PORT', async () => {
    const s = await start({ PORT: 'abc', DIRGATE_DATA_DIR: path.join(workDir, 'bad-port') });
    const { code } = await exitWithin(s, 30_000);
    expect(code).toBe(1);
    expect(s.stderr()).toMatch(/PORT/);
    expect(s.stderr()).not.toMatch(/\n\s+at /);
  });

  it('names every invalid variable when several are wrong, and writes nothing', async () => {
    const dataDir = path.join(workDir, 'bad-many');
    const s = await start({ PORT: '70000', DIRGATE_PUBSUB: 'http://x', DIRGATE_DATA_DIR: dataDir });
    const { code } = await exitWithin(s, 30_000);
    expect(code).toBe(1);
    expect(s.stderr()).toContain('PORT');
    expect(s.stderr()).toContain('DIRGATE_PUBSUB');
    await expect(stat(dataDir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('on first start generates a 0600 admin token, prints its path, serves, and stops on SIGTERM with exit 0', async () => {
    const dataDir = path.join(workDir, 'first');
    const s = await start({ DIRGATE_DATA_DIR: dataDir, DIRGATE_NODE_NAME: NODE_NAME });
    await ready(s);

    const tokenPath = path.join(dataDir, 'admin-token');
    expect(s.stderr()).toContain(tokenPath);
    expect(await mode(tokenPath)).toBe(0o600);
    expect(await mode(path.join(dataDir, 'secret-key'))).toBe(0o600);
    const token = (await readFile(tokenPath, 'utf8')).trim();
    expect(token.length).toBeGreaterThanOrEqual(32);

    expect((await fetch(`${s.base}/healthz`)).status).toBe(200);
    const answer = await graphql(s, '{ node { name } }', token);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ data: { node: { name: NODE_NAME } } });

    const anonymous = await graphql(s, '{ node { name } }', null);
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const wrong = await graphql(s, '{ node { name } }', `${token}x`);
    expect(wrong.status).toBe(401);

    s.child.kill('SIGTERM');
    const stopped = await exitWithin(s, 10_000);
    expect(stopped.code).toBe(0);
    expect(stopped.ms).toBeLessThan(5_000);
    expect(await isListening(s.port)).toBe(false);
  });

  it('reuses the admin token of the data folder on the next start, and stops on SIGINT with exit 0', async () => {
    const dataDir = path.join(workDir, 'restart');
    const first = await start({ DIRGATE_DATA_DIR: dataDir, DIRGATE_NODE_NAME: NODE_NAME });
    await ready(first);
    expect(first.stderr()).toContain('generated the admin token');
    const token = (await readFile(path.join(dataDir, 'admin-token'), 'utf8')).trim();
    first.child.kill('SIGTERM');
    expect((await exitWithin(first, 10_000)).code).toBe(0);

    const second = await start({ DIRGATE_DATA_DIR: dataDir, DIRGATE_NODE_NAME: NODE_NAME });
    await ready(second);
    expect(second.stderr()).toContain(path.join(dataDir, 'admin-token'));
    expect(second.stderr()).not.toContain('generated');
    expect((await readFile(path.join(dataDir, 'admin-token'), 'utf8')).trim()).toBe(token);
    expect((await graphql(second, '{ node { name } }', token)).body).toEqual({
      data: { node: { name: NODE_NAME } },
    });

    second.child.kill('SIGINT');
    expect((await exitWithin(second, 10_000)).code).toBe(0);
  });

  it('uses an admin token given in the environment and writes no token file', async () => {
    const dataDir = path.join(workDir, 'env-token');
    const token = 'admin-token-from-the-environment-0123';
    const s = await start({ DIRGATE_DATA_DIR: dataDir, DIRGATE_ADMIN_TOKEN: token });
    await ready(s);
    expect((await graphql(s, '{ node { name } }', token)).status).toBe(200);
    await expect(stat(path.join(dataDir, 'admin-token'))).rejects.toMatchObject({ code: 'ENOENT' });
    s.child.kill('SIGTERM');
    expect((await exitWithin(s, 10_000)).code).toBe(0);
  });

  it('runs under `npm start`, and SIGTERM to npm ends the service with exit code 0', async () => {
    const dataDir = path.join(workDir, 'npm');
    const s = await start({ DIRGATE_DATA_DIR: dataDir, DIRGATE_NODE_NAME: NODE_NAME }, true);
    await ready(s);
    const token = (await readFile(path.join(dataDir, 'admin-token'), 'utf8')).trim();
    expect((await graphql(s, '{ node { name } }', token)).body).toEqual({
      data: { node: { name: NODE_NAME } },
    });
    expect(await isListening(s.port)).toBe(true);

    s.child.kill('SIGTERM');
    const stopped = await exitWithin(s, 10_000);
    expect(stopped).toMatchObject({ code: 0, signal: null });
    // No orphan left serving once npm is gone.
    await new Promise((r) => setTimeout(r, 500));
    expect(await isListening(s.port)).toBe(false);
  });
});
