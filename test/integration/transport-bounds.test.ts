/**
 * A hostile or broken client cannot hold the gateway's sockets or memory
 * (#16, The API): HTTP requests that stall in their headers or body are cut
 * within the header and request timeouts; automatic persisted queries are
 * off; a WebSocket peer that stops answering pings is cut, runs a capped
 * number of operations at once and, when it stops reading, is closed before
 * its backlog grows without bound. And at start: tokens that cannot be
 * presented, or a reader token that is the admin token, stop the process;
 * the data folder is made 0700 whatever it was.
 *
 * The limits are lowered through startServer's options (test seams), so each
 * bound shows in well under a second; the defaults are WEBSOCKET_LIMITS and
 * TRANSPORT_LIMITS.
 */
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { print } from 'graphql';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import WebSocket from 'ws';
import { TOPICS } from '../../src/graphql/pubsub.js';
import type { SyncRunRecord } from '../../src/model/run.js';
import { SyncEventsDocument } from '../gql/graphql.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { launchGateway } from '../support/gateway-process.js';
import { captureLogs } from '../support/log-capture.js';

const LIMITS = {
  headersTimeoutMs: 400,
  requestTimeoutMs: 800,
  timeoutCheckMs: 100,
  webSocket: { keepAliveMs: 250, maxOperations: 3, maxPendingEvents: 50, slowReaderGraceMs: 300 },
};

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({ server: { limits: LIMITS } });
});

afterAll(async () => {
  await gw?.dispose();
});

/** Opens a raw TCP connection, writes `data`, and resolves with what came back and when it closed. */
function stall(data: string, giveUpMs = 5_000): Promise<{ closedAfterMs: number | null; reply: string }> {
  const { port } = new URL(gw.url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let reply = '';
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(data));
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ closedAfterMs: null, reply });
    }, giveUpMs);
    socket.on('data', (d) => {
      reply += d.toString();
    });
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ closedAfterMs: Date.now() - started, reply });
    });
  });
}

describe('HTTP', () => {
  it('cuts a client that sends half its headers and stalls, within the header timeout', async () => {
    const { closedAfterMs, reply } = await stall('POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty');
    expect(closedAfterMs, 'still open after 5 s').not.toBeNull();
    expect(closedAfterMs).toBeGreaterThanOrEqual(LIMITS.headersTimeoutMs - 50);
    expect(closedAfterMs).toBeLessThan(LIMITS.headersTimeoutMs + 1_500);
    expect(reply).toMatch(/^HTTP\/1\.1 408/);
  });

  it('cuts a client that sends its headers but stalls in the body, within the request timeout', async () => {
    const { closedAfterMs } = await stall(
      'POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"query":',
    );
    expect(closedAfterMs, 'still open after 5 s').not.toBeNull();
    expect(closedAfterMs).toBeLessThan(LIMITS.requestTimeoutMs + 1_500);
  });
});

describe('automatic persisted queries', () => {
  const query = '{ node { name } }';
  const persistedQuery = { version: 1, sha256Hash: createHash('sha256').update(query).digest('hex') };

  it('are refused: a query sent with a hash is not registered, a hash alone runs nothing', async () => {
    const registering = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${gw.adminToken}` },
      body: JSON.stringify({ query, extensions: { persistedQuery } }),
    });
    const registered = (await registering.json()) as { data?: unknown; errors?: { extensions?: object }[] };
    expect(registered.data).toBeUndefined();
    expect(registered.errors?.[0]?.extensions).toMatchObject({ code: 'PERSISTED_QUERY_NOT_SUPPORTED' });

    const params = new URLSearchParams({ extensions: JSON.stringify({ persistedQuery }) });
    const byHash = await fetch(`${gw.url}?${params}`, {
      headers: {
        accept: 'application/json',
        authorization: `Bearer ${gw.adminToken}`,
        'apollo-require-preflight': 'true',
      },
    });
    const answered = (await byHash.json()) as { data?: unknown; errors?: { extensions?: object }[] };
    expect(answered.data).toBeUndefined();
    expect(answered.errors?.[0]?.extensions).toMatchObject({ code: 'PERSISTED_QUERY_NOT_SUPPORTED' });
  });
});

/** A graphql-transport-ws socket driven by hand, acknowledged. */
async function rawSocket(options: WebSocket.ClientOptions = {}, target = gw): Promise<WebSocket> {
  const socket = new WebSocket(target.wsUrl, 'graphql-transport-ws', options);
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('open', () => {
      socket.send(
        JSON.stringify({
          type: 'connection_init',
          payload: { authorization: `Bearer ${target.adminToken}` },
        }),
      );
    });
    socket.on('message', (data) => {
      if ((JSON.parse(String(data)) as { type: string }).type === 'connection_ack') resolve();
    });
  });
  return socket;
}

const closed = (socket: WebSocket): Promise<{ code: number; reason: string }> =>
  new Promise((resolve) => {
    if (socket.readyState === WebSocket.CLOSED) resolve({ code: -1, reason: 'closed before' });
    socket.once('close', (code, reason) => resolve({ code, reason: String(reason) }));
  });

/** A sync event as the engine publishes it; `error` makes it as large as wanted. */
function runEvent(n: number, error = 'failed'): { node: string; run: SyncRunRecord } {
  const at = new Date().toISOString();
  return {
    node: 'test-node',
    run: {
      id: `run-${n}`,
      connectionId: 'transport-test',
      node: 'test-node',
      trigger: 'MANUAL',
      startedAt: at,
      server: null,
      progress: 0,
      counts: null,
      changes: null,
      status: 'FAILED',
      phase: 'DONE',
      finishedAt: at,
      error,
    },
  };
}

const publish = (n: number, error?: string, target = gw) =>
  target.gateway.services.events.pubsub.publish(TOPICS.SYNC_EVENTS, runEvent(n, error));

/** Subscribes `client` to sync events; resolves the list of run ids received and the errors. */
function syncEvents(client: Client): { ids: string[]; errors: unknown[]; stop: () => void } {
  const ids: string[] = [];
  const errors: unknown[] = [];
  const stop = client.subscribe(
    { query: print(SyncEventsDocument), variables: {} },
    {
      next: (r) => {
        const run = (r.data as { syncEvents?: { run: { id: string } } } | undefined)?.syncEvents?.run;
        if (run) ids.push(run.id);
        if (r.errors) errors.push(...r.errors);
      },
      // graphql-ws hands an operation's error message over as its list of errors.
      error: (e) => errors.push(...(Array.isArray(e) ? e : [e])),
      complete: () => {},
    },
  );
  return { ids, errors, stop };
}

describe('WebSocket', () => {
  it('pings every socket and cuts one that does not answer; one that answers stays', async () => {
    const mute = await rawSocket({ autoPong: false });
    const answering = await rawSocket();
    let pings = 0;
    mute.on('ping', () => pings++);
    const started = Date.now();
    const ended = await Promise.race([
      closed(mute),
      new Promise<null>((r) => setTimeout(() => r(null), 3_000)),
    ]);
    expect(ended, 'the socket that never answers a ping is still open after 3 s').not.toBeNull();
    expect(Date.now() - started).toBeLessThan(3 * LIMITS.webSocket.keepAliveMs + 500);
    expect(pings).toBeGreaterThanOrEqual(1);
    expect(answering.readyState).toBe(WebSocket.OPEN);
    answering.close();
  });

  it('refuses an operation over the per-socket cap with LIMIT_EXCEEDED; the others go on', async () => {
    const client = gw.ws();
    const running = Array.from({ length: LIMITS.webSocket.maxOperations }, () => syncEvents(client));
    await new Promise((r) => setTimeout(r, 300));
    const extra = syncEvents(client);
    await vi.waitFor(() => expect(extra.errors).toHaveLength(1), { timeout: 5_000 });
    expect(extra.errors[0]).toMatchObject({
      extensions: { code: 'LIMIT_EXCEEDED', limit: LIMITS.webSocket.maxOperations },
    });
    publish(1);
    await vi.waitFor(
      () => {
        for (const r of running) expect(r.ids).toEqual(['run-1']);
      },
      { timeout: 5_000 },
    );
    for (const r of running) expect(r.errors).toEqual([]);

    // The cap is on operations at once: one completed makes room for another.
    running[0]?.stop();
    await new Promise((r) => setTimeout(r, 200));
    const another = syncEvents(client);
    await new Promise((r) => setTimeout(r, 300));
    publish(2);
    await vi.waitFor(() => expect(another.ids).toEqual(['run-2']), { timeout: 5_000 });
    expect(another.errors).toEqual([]);
  });

  it('closes a socket whose client stops reading before its backlog grows past the bound', async () => {
    // A gateway of its own whose pings wait: a client that stops reading stops answering them too, and
    // the keep-alive would cut it first on a loaded machine.
    const patientLogs = captureLogs();
    const patient = await startTestGateway({
      server: { limits: { webSocket: { ...LIMITS.webSocket, keepAliveMs: 60_000 } } },
      logStream: patientLogs.stream,
      logLevel: 'warn',
    });
    onTestFinished(() => patient.dispose());
    const slow = await rawSocket({}, patient);
    let received = 0;
    slow.on('message', () => received++);
    slow.send(
      JSON.stringify({
        id: 'slow',
        type: 'subscribe',
        payload: { query: print(SyncEventsDocument), variables: {} },
      }),
    );
    const watching = syncEvents(patient.ws());
    await new Promise((r) => setTimeout(r, 300));
    // The client stops reading: the kernel's buffers fill, then the gateway's.
    slow.pause();
    const socketClosed = closed(slow);
    const big = 'x'.repeat(16 * 1024);
    const total = 3_000;
    let sent = 0;
    const warnings = () =>
      patientLogs.lines.filter((l) => String(l.msg).includes('reads events slower than they come')).length;
    const warned = () => warnings() > 0;
    // Published as the engine does, one at a time (each dispatch is synchronous).
    while (sent < total && !warned()) {
      publish(1_000 + sent, big, patient);
      sent++;
      await new Promise((r) => setImmediate(r));
    }
    expect(warned(), `no slow-reader close after ${sent} events`).toBe(true);
    expect(sent).toBeLessThan(total);
    slow.resume();
    const { code } = await socketClosed;
    // The close frame if it came through before the grace ran out, else the cut.
    expect([1013, 1006], `closed with ${code}`).toContain(code);
    expect(received, `the slow client read ${received} of ${sent}`).toBeLessThan(sent);

    // Only that socket: the gateway serves, and the other subscriber heard every event.
    expect(warnings()).toBe(1);
    expect((await fetch(patient.url.replace(/\/graphql$/, '/healthz'))).status).toBe(200);
    await vi.waitFor(() => expect(watching.ids).toHaveLength(sent), { timeout: 10_000 });
  });
});

describe('start-up', () => {
  it('makes a data folder that existed with mode 0755 0700', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'dirgate-wide-'));
    await chmod(dataDir, 0o755);
    const wide = await startTestGateway({ dataDir });
    try {
      expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    } finally {
      await wide.dispose();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('stops with exit 1, naming both variables, when DIRGATE_READER_TOKEN is the admin-token file', async () => {
    const dataDir = path.join(await mkdtemp(path.join(tmpdir(), 'dirgate-same-')), 'data');
    await mkdir(dataDir, { mode: 0o700 });
    const token = 'the-one-token-of-this-folder-0123456789';
    await writeFile(path.join(dataDir, 'admin-token'), `${token}\n`, { mode: 0o600 });
    const process = await launchGateway(dataDir, { DIRGATE_READER_TOKEN: token });
    try {
      const code = await Promise.race([
        process.exited,
        new Promise<string>((r) => setTimeout(() => r('running'), 20_000)),
      ]);
      expect(code).toBe(1);
      expect(process.output()).toContain('DIRGATE_READER_TOKEN');
      expect(process.output()).toContain('DIRGATE_ADMIN_TOKEN');
      expect(process.output()).not.toContain(token);
    } finally {
      process.child.kill('SIGKILL');
      await rm(path.dirname(dataDir), { recursive: true, force: true });
    }
  });
});
