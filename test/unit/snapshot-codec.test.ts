import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PRINCIPAL_KINDS, type PrincipalRecord } from '../../src/model/principal.js';
import {
  decodeRows,
  encodeRows,
  positionsById,
  SnapshotDecodeError,
} from '../../src/store/snapshot-codec.js';
import { principal } from '../support/principals.js';

const C = 'c0ffee00-0000-4000-8000-000000000001';

/** Records of one connection; groups name members anywhere in the list, themselves included. */
const records = fc
  .array(
    fc.record({
      guid: fc.uuid(),
      kind: fc.constantFrom(...PRINCIPAL_KINDS),
      dn: fc.string(),
      displayName: fc.string(),
      emails: fc.uniqueArray(fc.string({ minLength: 1 }), { maxLength: 4 }),
      primary: fc.oneof(fc.constant(null), fc.nat(5), fc.string({ minLength: 1 })),
      samAccountName: fc.option(fc.string()),
      userPrincipalName: fc.option(fc.string()),
      enabled: fc.boolean(),
      members: fc.array(fc.nat(), { maxLength: 6 }),
    }),
    { maxLength: 40 },
  )
  .map((rows) => {
    const unique = [...new Map(rows.map((r) => [r.guid, r])).values()];
    return unique.map((r) =>
      principal({
        connectionId: C,
        guid: r.guid,
        kind: r.kind,
        dn: r.dn,
        displayName: r.displayName,
        primaryEmail: typeof r.primary === 'number' ? (r.emails[r.primary] ?? null) : r.primary,
        emails: r.emails,
        samAccountName: r.samAccountName,
        userPrincipalName: r.userPrincipalName,
        enabled: r.enabled,
        memberIds:
          r.kind === 'GROUP'
            ? [...new Set(r.members.map((m) => `${C}:${unique[m % unique.length]?.guid}`))]
            : [],
      }),
    );
  });

/** What the store does: rows in chunks of `size`, each chunk through JSON, decoded as one list. */
function roundTrip(principals: readonly PrincipalRecord[], size: number): PrincipalRecord[] {
  const positions = positionsById(principals);
  const rows: unknown[] = [];
  for (let from = 0; from < principals.length; from += size) {
    rows.push(
      ...(JSON.parse(JSON.stringify(encodeRows(principals, from, from + size, positions))) as unknown[]),
    );
  }
  return decodeRows(C, rows);
}

describe('snapshot codec', () => {
  it('gives back every record as it was, whatever the chunk size', () => {
    fc.assert(
      fc.property(records, fc.integer({ min: 1, max: 7 }), (principals, size) => {
        expect(roundTrip(principals, size)).toEqual(principals);
      }),
    );
  });

  it('makes a loaded member id the member’s own id string', () => {
    const user = principal({ connectionId: C, guid: 'u1' });
    const group = principal({ connectionId: C, guid: 'g1', kind: 'GROUP', memberIds: [user.id] });
    const [loadedUser, loadedGroup] = roundTrip([user, group], 1);
    expect(loadedGroup?.memberIds).toEqual([user.id]);
    expect(loadedGroup?.memberIds[0]).toBe(loadedUser?.id);
  });

  it('stores a record in fewer bytes than its own JSON', () => {
    fc.assert(
      fc.property(records, (principals) => {
        const encoded = JSON.stringify(
          encodeRows(principals, 0, principals.length, positionsById(principals)),
        );
        expect(encoded.length).toBeLessThanOrEqual(JSON.stringify(principals).length);
      }),
    );
  });

  it('reads records stored as objects, as snapshots written before this format were', () => {
    fc.assert(
      fc.property(records, (principals) => {
        expect(decodeRows(C, JSON.parse(JSON.stringify(principals)) as unknown[])).toEqual(principals);
      }),
    );
  });

  it('reads rows that hold the whole id instead of the GUID, as rows were first written', () => {
    fc.assert(
      fc.property(records, (principals) => {
        const rows = encodeRows(principals, 0, principals.length, positionsById(principals)).map((row) => {
          const copy = [...row];
          copy[0] = `${C}:${row[0]}`;
          return copy;
        });
        expect(decodeRows(C, JSON.parse(JSON.stringify(rows)) as unknown[])).toEqual(principals);
      }),
    );
  });

  it('refuses to encode a member the snapshot does not hold', () => {
    const group = principal({ connectionId: C, guid: 'g', kind: 'GROUP', memberIds: [`${C}:elsewhere`] });
    expect(() => encodeRows([group], 0, 1, positionsById([group]))).toThrow(/not in the snapshot/);
  });

  it.each([
    ['a row without an id', [[null, 0, 'dn', 'name', null, [], null, null, 1, []]]],
    ['an id of another connection', [['other:g', 0, 'dn', 'name', null, [], null, null, 1, []]]],
    ['an unknown kind', [[`${C}:g`, 7, 'dn', 'name', null, [], null, null, 1, []]]],
    ['a name that is not text', [[`${C}:g`, 0, 'dn', 5, null, [], null, null, 1, []]]],
    ['addresses that are not a list', [[`${C}:g`, 0, 'dn', 'name', null, 'x', null, null, 1, []]]],
    ['a primary address past the list', [[`${C}:g`, 0, 'dn', 'name', 3, ['a@x'], null, null, 1, []]]],
    ['a member past the snapshot', [[`${C}:g`, 1, 'dn', 'name', null, [], null, null, 1, [1]]]],
    ['a row that is neither a list nor a record', [42]],
  ])('refuses %s as damaged', (_, rows) => {
    expect(() => decodeRows(C, rows)).toThrow(SnapshotDecodeError);
  });
});
