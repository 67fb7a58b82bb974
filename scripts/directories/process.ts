/**
 * Small process and network helpers shared by the directory starters:
 * running a command to completion, finding free loopback ports, waiting for
 * a listener, and stopping a process by its pid.
 */
import { type SpawnOptions, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { accessSync, closeSync, constants, openSync, readFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** The lifecycle every private test server (slapd, the Samba DC) offers. */
export interface ManagedServer extends AsyncDisposable {
  /** The server's private folder. */
  readonly dir: string;
  /** Pid of the running server, or null while stopped. */
  readonly pid: number | null;
  /** Starts again after stop() or kill(), same ports and data. */
  start(): Promise<void>;
  /** SIGTERM and wait until it is gone. */
  stop(): Promise<void>;
  /** SIGKILL, for fault tests. */
  kill(): Promise<void>;
  restart(): Promise<void>;
  /** Stops and deletes the folder. */
  dispose(): Promise<void>;
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Resolve with a non-zero code instead of throwing. */
  readonly allowFailure?: boolean;
  readonly timeoutMs?: number;
}

/** Runs a command to completion and collects its output; throws on a non-zero exit unless allowed. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const spawnOptions: SpawnOptions = {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs,
    };
    const child = spawn(command, args, spawnOptions);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const result: RunResult = {
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      };
      if (result.code !== 0 && !options.allowFailure) {
        const detail = (result.stderr || result.stdout).trim().slice(-4000);
        reject(new Error(`${command} ${args.join(' ')} exited with ${signal ?? result.code}: ${detail}`));
        return;
      }
      resolve(result);
    });
    // A command that exits before reading its input closes the pipe: that is its exit to report, not an EPIPE.
    child.stdin?.on('error', () => {});
    child.stdin?.end(options.input ?? '');
  });
}

/** The system directories where root-only daemons live, which a non-root PATH often lacks. */
const BIN_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Absolute path of an executable, searching PATH and the sbin folders; null when absent. */
export function findExecutable(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), ...BIN_DIRS];
  for (const dir of dirs) {
    const candidate = `${dir}/${name}`;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return null;
}

/** Like findExecutable, but throws naming the missing binary. */
export function requireExecutable(name: string): string {
  const found = findExecutable(name);
  if (!found) {
    throw new Error(`${name} is not installed (run ensurePackages first)`);
  }
  return found;
}

/**
 * A loopback port free for TCP and, when asked, UDP too. The kernel picks
 * it; another process could take it before we bind, which callers accept
 * (they retry on a failed start).
 */
export async function freePort(options: { udp?: boolean } = {}): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        const chosen = typeof address === 'object' && address ? address.port : 0;
        server.close(() => resolve(chosen));
      });
    });
    // 5353 is mDNS; keep clear of it for DNS servers.
    if (port === 5353) continue;
    if (!options.udp || (await udpFree(port))) return port;
  }
  throw new Error('no free loopback port found');
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

/** True when something accepts TCP connections on host:port right now. */
export function canConnect(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, host, () => done(true));
  });
}

/** Polls `probe` until it returns true or the deadline passes; `describe` explains a timeout. */
export async function waitFor(
  probe: () => Promise<boolean>,
  timeoutMs: number,
  describe: () => string,
  intervalMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${describe()}`);
    await sleep(intervalMs);
  }
}

/** True while a process with this pid exists (zombies of our own children count as gone once reaped). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers kill(0); /proc tells it apart.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z';
  } catch {
    return false;
  }
}

/** Sends `signal` to one pid, then waits until it is gone, escalating to SIGKILL after `graceMs`. */
export async function stopPid(
  pid: number,
  signal: NodeJS.Signals = 'SIGTERM',
  graceMs = 10_000,
): Promise<void> {
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        return;
      }
    }
    await sleep(25);
  }
}

/** Reads a pid file written by a daemon; null while it is absent or empty. */
export function readPidFile(path: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * Runs a command that forks a daemon and exits. Output goes to `logPath`
 * (or nowhere): a pipe would stay open in the daemon and never close.
 */
export function runDaemonizing(command: string, args: readonly string[], logPath?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const fd = logPath ? openSync(logPath, 'a') : 'ignore';
    const child = spawn(command, args, { stdio: ['ignore', fd, fd] });
    if (typeof fd === 'number') closeSync(fd);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `${command} ${args.join(' ')} exited with ${signal ?? code}${logPath ? `; see ${logPath}` : ''}`,
          ),
        );
    });
  });
}
