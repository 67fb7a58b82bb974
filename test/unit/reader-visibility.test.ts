/** What a reader is told of a run's error (src/graphql/visibility.ts), and the phase a failed run keeps for it. */
import { describe, expect, it } from 'vitest';
import { parseEventMessage } from '../../src/graphql/pubsub.js';
import { adminOnly, runErrorFor } from '../../src/graphql/visibility.js';
import { advanced, failed, held, startedRun } from '../../src/model/run.js';

const SERVER_TEXT = 'bind refused: 49 invalidCredentials';

function runningIn(phase: 'CONNECTING' | 'SAVING') {
  const run = startedRun({
    id: 'r1',
    connectionId: 'c1',
    node: 'n1',
    trigger: 'MANUAL',
    startedAt: new Date(0).toISOString(),
    mode: 'FULL',
  });
  return advanced(run, { phase });
}

describe('a failed run', () => {
  it('keeps the phase it failed in, also when failed again (recovery)', () => {
    const run = failed(runningIn('SAVING'), SERVER_TEXT);
    expect(run.failedPhase).toBe('SAVING');
    expect(failed(run, 'the cached snapshot could not be read').failedPhase).toBe('SAVING');
  });

  it('keeps it across Redis pub/sub', () => {
    const run = failed(runningIn('CONNECTING'), SERVER_TEXT);
    const parsed = parseEventMessage('dirgate:SYNC_EVENTS', JSON.stringify({ node: 'n1', run }));
    expect(parsed).toMatchObject({ payload: { run: { failedPhase: 'CONNECTING', error: SERVER_TEXT } } });
  });
});

describe('runErrorFor', () => {
  const failedRun = { status: 'FAILED', error: SERVER_TEXT, failedPhase: 'CONNECTING' };

  it("gives the admin the server's text", () => {
    expect(runErrorFor('ADMIN', failedRun)).toBe(SERVER_TEXT);
  });

  it('gives the reader a generic text naming the phase, or none when the run predates it', () => {
    expect(runErrorFor('READER', failedRun)).toBe(
      'synchronization failed while connecting to the directory (ask an administrator for details)',
    );
    expect(runErrorFor('READER', { ...failedRun, failedPhase: null })).toBe(
      'synchronization failed (ask an administrator for details)',
    );
  });

  it("keeps a held run's own text and a successful run's null for the reader", () => {
    const heldRun = held(
      runningIn('SAVING'),
      { users: 1, groups: 0, contacts: 0, addresses: 1 },
      {
        added: [],
        updated: [],
        removed: [],
        addedCount: 0,
        updatedCount: 0,
        removedCount: 9,
      },
      'held: this run would remove 9 of 10 cached objects',
    );
    expect(runErrorFor('READER', { ...heldRun, failedPhase: null })).toBe(heldRun.error);
    expect(runErrorFor('READER', { status: 'SUCCEEDED', error: null, failedPhase: null })).toBeNull();
  });
});

describe('adminOnly', () => {
  it('hides a value from the reader', () => {
    expect(adminOnly('ADMIN', 'cn=reader')).toBe('cn=reader');
    expect(adminOnly('READER', 'cn=reader')).toBeNull();
  });
});
