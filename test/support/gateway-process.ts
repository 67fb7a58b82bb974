/**
 * The gateway as its own process, started with exactly the command `npm
 * start` runs (package.json's script, through sh with node_modules/.bin
 * first on the PATH, as npm runs it: the project's Node 24, its flags, the
 * early-signal preload, tsx), in its default configuration (schedules on,
 * production mode), for tests that kill, signal or restart it. The child
 * is the gateway itself (the script `exec`s node), so signals reach it as
 * a service manager's would.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';

const ROOT = path.resolve(import.meta.dirname, '../..');
const START_SCRIPT = (
  JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    scripts: { start: string };
  }
).scripts.start;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface GatewayProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly base: string;
  token(): Promise<string>;
  output(): string;
  /** Resolves with the exit code (or the signal's name). */
  readonly exited: Promise<number | string>;
  ok<T, V>(doc: TypedDocumentNode<T, V>, variables?: V): Promise<T>;
}

/** Starts the gateway and returns at once, before it serves (tests of start-up). */
export async function launchGateway(
  dataDir: string,
  env: Record<string, string> = {},
): Promise<GatewayProcess> {
  const port = await freePort();
  // vitest sets NODE_ENV=test; a user's process has none, and the gateway then runs in production
  // mode (which, for one, makes Apollo Server install signal handlers of its own).
  const { NODE_ENV: _testMode, ...inherited } = process.env;
  const child = spawn('sh', ['-c', START_SCRIPT], {
    cwd: ROOT,
    env: {
      ...inherited,
      PATH: `${path.join(ROOT, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH ?? ''}`,
      PORT: String(port),
      HOST: '127.0.0.1',
      DIRGATE_DATA_DIR: dataDir,
      DIRGATE_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  const base = `http://127.0.0.1:${port}`;
  const token = async () => (await readFile(path.join(dataDir, 'admin-token'), 'utf8')).trim();
  return {
    child,
    url: `${base}/graphql`,
    base,
    token,
    output: () => out,
    exited,
    async ok(doc, variables) {
      const res = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await token()}` },
        body: JSON.stringify({ query: print(doc), variables: variables ?? {} }),
      });
      const body = (await res.json()) as { data?: unknown; errors?: unknown[] };
      if (body.errors?.length || !body.data)
        throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
      return body.data as never;
    },
  };
}

/** Resolves once the gateway answers /readyz with 200; throws if it exits first. */
export async function untilReady(gw: GatewayProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (gw.child.exitCode !== null || gw.child.signalCode !== null)
      throw new Error(`gateway exited at start:\n${gw.output()}`);
    try {
      if ((await fetch(`${gw.base}/readyz`)).status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      gw.child.kill('SIGKILL');
      throw new Error(`gateway not ready after ${timeoutMs} ms:\n${gw.output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts the gateway and waits until it serves. */
export async function spawnGateway(
  dataDir: string,
  env: Record<string, string> = {},
): Promise<GatewayProcess> {
  const gw = await launchGateway(dataDir, env);
  await untilReady(gw);
  return gw;
}
