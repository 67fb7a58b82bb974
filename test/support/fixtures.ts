/**
 * What a test file (or a describe) starts before its tests and stops after
 * them, declared in one line: call these at the top level of the file or
 * describe, and read the results inside the tests.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import {
  type Dataset,
  type GeneratorOptions,
  generateDirectory,
} from '../../scripts/directories/generator.js';
import { type SlapdInstance, type SlapdOptions, startSlapd } from '../../scripts/directories/slapd.js';
import { type GatewayProcess, launchGateway, untilReady } from './gateway-process.js';

export interface PrivateSlapd {
  readonly slapd: SlapdInstance;
  /** What it holds. */
  readonly dataset: Dataset;
}

/**
 * A slapd of these tests' own, loaded with `generateDirectory(options)`
 * (base `dc=corp,dc=test` unless given): for tests that stop, kill or
 * change the directory, which the shared one must not be.
 */
export function privateSlapd(
  options: Omit<GeneratorOptions, 'baseDn'> & {
    baseDn?: string;
    /** The server's own settings (an access log, indexes); the dataset's come from the rest. */
    server?: Pick<SlapdOptions, 'accessLog' | 'changeIndexes' | 'sizeLimit' | 'kerberos'>;
  },
): PrivateSlapd {
  let started: PrivateSlapd | null = null;
  beforeAll(async () => {
    const { server, ...generator } = options;
    const dataset = generateDirectory({ baseDn: 'dc=corp,dc=test', ...generator });
    started = { slapd: await startSlapd({ dataset, ...server }), dataset };
  }, 60_000);
  afterAll(async () => {
    await started?.slapd.dispose();
  });
  const get = (): PrivateSlapd => {
    if (!started) throw new Error('privateSlapd: read before its tests started');
    return started;
  };
  return {
    get slapd() {
      return get().slapd;
    },
    get dataset() {
      return get().dataset;
    },
  };
}

export interface GatewayProcesses {
  /** A new, empty data folder. */
  folder(): Promise<string>;
  /** launchGateway (returns before it serves), the process kept for the clean-up. */
  launch(dataDir: string, env?: Record<string, string>): Promise<GatewayProcess>;
  /** spawnGateway (returns once it serves), the process kept for the clean-up. */
  spawn(dataDir: string, env?: Record<string, string>): Promise<GatewayProcess>;
}

/**
 * Gateway processes and their data folders: after the tests, every process
 * still running is killed (SIGKILL) and every folder removed.
 */
export function gatewayProcesses(name: string): GatewayProcesses {
  const processes: GatewayProcess[] = [];
  const folders: string[] = [];
  afterAll(async () => {
    const running = processes.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
    for (const p of running) p.child.kill('SIGKILL');
    await Promise.all(running.map((p) => p.exited));
    for (const dir of folders) await rm(dir, { recursive: true, force: true });
  });
  const launch = async (dataDir: string, env?: Record<string, string>) => {
    const gw = await launchGateway(dataDir, env);
    processes.push(gw);
    return gw;
  };
  return {
    async folder() {
      const dir = await mkdtemp(path.join(tmpdir(), `dirgate-${name}-`));
      folders.push(dir);
      return dir;
    },
    launch,
    async spawn(dataDir, env) {
      const gw = await launch(dataDir, env);
      await untilReady(gw);
      return gw;
    },
  };
}

/** A data folder for these tests, made before them and removed after. */
export function temporaryFolder(name: string): { readonly path: string } {
  let dir: string | null = null;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), `dirgate-${name}-`));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return {
    get path() {
      if (!dir) throw new Error('temporaryFolder: read before its tests started');
      return dir;
    },
  };
}
