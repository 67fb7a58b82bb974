/**
 * A private Redis on a free loopback port, without persistence, for the
 * shared-config and pub/sub tests; or, for restart tests, on a given port
 * with its data kept in a given folder (append-only file).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canConnect, freePort, requireExecutable, stopPid, waitFor } from './process.js';

export interface RedisInstance extends AsyncDisposable {
  /** `redis://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

export interface RedisOptions {
  /** Listen on this port (a restart on the same address); a free one otherwise. */
  readonly port?: number;
  /** Keep the data here across restarts (the caller owns the folder); none kept otherwise. */
  readonly dataDir?: string;
}

/** Starts redis-server in the foreground as our child (≈0.05 s). */
export async function startRedis(options: RedisOptions = {}): Promise<RedisInstance> {
  const redis = requireExecutable('redis-server');
  const dir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'dirgate-redis-'));
  const logPath = join(dir, 'redis.log');
  for (let attempt = 0; ; attempt++) {
    const port = options.port ?? (await freePort());
    const out = openSync(logPath, 'w');
    const child: ChildProcess = spawn(
      redis,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        options.dataDir ? 'yes' : 'no',
        '--dir',
        dir,
        '--daemonize',
        'no',
      ],
      { stdio: ['ignore', out, out] },
    );
    closeSync(out);
    child.unref();
    let exited = false;
    child.once('exit', () => {
      exited = true;
    });
    try {
      await waitFor(
        async () => {
          if (exited) throw new Error(`redis-server exited: ${readFileSync(logPath, 'utf8').slice(-1000)}`);
          return canConnect(port);
        },
        5000,
        () => `redis on 127.0.0.1:${port}`,
        20,
      );
    } catch (error) {
      if (child.pid) await stopPid(child.pid, 'SIGKILL');
      if (attempt < 4) continue;
      if (!options.dataDir) rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    const stop = async (): Promise<void> => {
      if (child.pid) await stopPid(child.pid, 'SIGTERM', 5000);
      if (!options.dataDir) rmSync(dir, { recursive: true, force: true });
    };
    return { url: `redis://127.0.0.1:${port}`, port, stop, [Symbol.asyncDispose]: stop };
  }
}
