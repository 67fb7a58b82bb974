/** Helpers for tests that drive syncs through the API. */
import { ConnectionByIdDocument, StartSyncDocument } from '../gql/graphql.js';
import type { TestGateway } from './gateway.js';

type ConnectionView = NonNullable<Awaited<ReturnType<typeof connectionOf>>>;

async function connectionOf(gw: TestGateway, id: string) {
  return (await gw.ok(ConnectionByIdDocument, { id })).connection;
}

/** Polls the connection until no run is in progress; returns it as the API shows it then. */
export async function waitForSync(gw: TestGateway, id: string, timeoutMs = 120_000): Promise<ConnectionView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = await connectionOf(gw, id);
    if (!c) throw new Error(`connection ${id} is gone`);
    if (c.status !== 'RUNNING') return c;
    if (Date.now() > deadline) throw new Error(`sync of ${id} still running after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts a sync through the API and waits for its end. */
export async function syncNow(gw: TestGateway, id: string, timeoutMs?: number): Promise<ConnectionView> {
  await gw.ok(StartSyncDocument, { connectionId: id });
  return waitForSync(gw, id, timeoutMs);
}
