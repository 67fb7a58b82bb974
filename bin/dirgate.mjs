#!/usr/bin/env node
// The `dirgate` command: runs the TypeScript CLI (src/cli/main.ts) under the
// project's own Node 24 (the `node` dev dependency) through tsx, whatever
// Node runs this launcher, and from any working directory. Signals reach the
// CLI; its exit code (or signal) comes back as this process's.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const projectNode = path.join(root, 'node_modules', '.bin', 'node');
const node = existsSync(projectNode) ? projectNode : process.execPath;
const tsx = import.meta.resolve('tsx');
const entry = path.join(root, 'src', 'cli', 'main.ts');
// The V8 flags `npm start` gives the gateway: the CLI may run a sync in-process (docs/performance.md, Memory).
const nodeFlags = JSON.parse(readFileSync(path.join(root, 'bin', 'node-flags.json'), 'utf8'));

const child = spawn(node, [...nodeFlags, '--import', tsx, entry, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: {
    ...process.env,
    DIRGATE_CLI_NAME: process.env.DIRGATE_CLI_NAME ?? 'dirgate',
    // tsx looks for tsconfig.json in the working directory, which is the operator's, not ours:
    // without the project's (decorators) the sources do not load.
    TSX_TSCONFIG_PATH: path.join(root, 'tsconfig.json'),
  },
});

const forwarded = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];
const relay = (signal) => {
  // A terminal's Ctrl-C reaches the whole process group already; forwarding again is harmless
  // (the CLI stops once) and covers signals sent to this process alone (kill PID, service managers).
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
};
for (const signal of forwarded) process.on(signal, relay);

child.on('error', (err) => {
  process.stderr.write(`dirgate: cannot start ${node}: ${err.message}\n`);
  process.exit(127);
});
child.on('exit', (code, signal) => {
  for (const s of forwarded) process.off(s, relay);
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});
