import { describe, expect, it } from 'vitest';
import { MembershipGraph } from '../../src/directory/membership-graph.js';
import type { PrincipalRecord } from '../../src/model/principal.js';
import { principal } from '../support/principals.js';

function record(guid: string, kind: PrincipalRecord['kind'], memberIds: string[] = []): PrincipalRecord {
  return principal({ id: guid, guid, kind, memberIds });
}

/** Builds a graph and answers in ids, so that assertions read as names. */
function graphOf(records: PrincipalRecord[]) {
  const index = new Map(records.map((r, i) => [r.id, i]));
  const graph = MembershipGraph.build(records, (id) => index.get(id));
  const at = (id: string): number => index.get(id) as number;
  const ids = (list: Int32Array): string[] => Array.from(list, (i) => (records[i] as PrincipalRecord).id);
  return {
    parents: (id: string, transitive: boolean) => ids(graph.parents(at(id), transitive)),
    members: (id: string, transitive: boolean) => ids(graph.members(at(id), transitive)),
    isMember: (id: string, group: string) => graph.isMember(at(id), at(group)),
  };
}

describe('membership graph', () => {
  // all ⊃ staff ⊃ sales ⊃ {ann, emea}; emea ⊃ {bob, partner}; staff ⊃ carl
  const records = [
    record('all', 'GROUP', ['staff']),
    record('ann', 'USER'),
    record('bob', 'USER'),
    record('carl', 'USER'),
    record('dora', 'USER'),
    record('emea', 'GROUP', ['bob', 'partner', 'missing-id']),
    record('partner', 'CONTACT'),
    record('sales', 'GROUP', ['ann', 'emea', 'ann']),
    record('staff', 'GROUP', ['sales', 'carl']),
  ];
  const g = graphOf(records);

  it('gives direct parents and members', () => {
    expect(g.parents('bob', false)).toEqual(['emea']);
    expect(g.members('sales', false)).toEqual(['ann', 'emea']);
    expect(g.members('emea', false)).toEqual(['bob', 'partner']);
    expect(g.parents('dora', false)).toEqual([]);
  });

  it('follows nesting three levels deep', () => {
    expect(g.parents('bob', true)).toEqual(['all', 'emea', 'sales', 'staff']);
    expect(g.parents('ann', true)).toEqual(['all', 'sales', 'staff']);
    expect(g.members('all', true)).toEqual(['ann', 'bob', 'carl', 'emea', 'partner', 'sales', 'staff']);
    expect(g.members('staff', true)).toEqual(['ann', 'bob', 'carl', 'emea', 'partner', 'sales']);
  });

  it('answers isMember directly and through nesting', () => {
    expect(g.isMember('bob', 'emea')).toBe(true);
    expect(g.isMember('bob', 'all')).toBe(true);
    expect(g.isMember('partner', 'staff')).toBe(true);
    expect(g.isMember('emea', 'all')).toBe(true);
    expect(g.isMember('carl', 'sales')).toBe(false);
    expect(g.isMember('dora', 'all')).toBe(false);
    expect(g.isMember('all', 'bob')).toBe(false);
    expect(g.isMember('all', 'all')).toBe(false);
  });

  it('survives cycles and reports the right sets', () => {
    // a ⊃ b ⊃ c ⊃ a, c ⊃ u; d ⊃ d (itself), d ⊃ v; top ⊃ a
    const cyc = graphOf([
      record('a', 'GROUP', ['b']),
      record('b', 'GROUP', ['c']),
      record('c', 'GROUP', ['a', 'u']),
      record('d', 'GROUP', ['d', 'v']),
      record('top', 'GROUP', ['a']),
      record('u', 'USER'),
      record('v', 'USER'),
    ]);
    expect(cyc.members('a', true)).toEqual(['b', 'c', 'u']);
    expect(cyc.members('top', true)).toEqual(['a', 'b', 'c', 'u']);
    expect(cyc.parents('u', true)).toEqual(['a', 'b', 'c', 'top']);
    expect(cyc.parents('a', true)).toEqual(['b', 'c', 'top']);
    expect(cyc.parents('c', false)).toEqual(['b']);
    expect(cyc.isMember('a', 'c')).toBe(true);
    expect(cyc.isMember('c', 'a')).toBe(true);
    expect(cyc.isMember('a', 'a')).toBe(false);
    expect(cyc.isMember('top', 'a')).toBe(false);
    expect(cyc.members('d', false)).toEqual(['v']);
    expect(cyc.members('d', true)).toEqual(['v']);
    expect(cyc.parents('d', true)).toEqual([]);
    expect(cyc.isMember('v', 'd')).toBe(true);
  });

  it('memoizes transitive members without changing them', () => {
    expect(g.members('all', true)).toEqual(g.members('all', true));
  });

  it('returns nothing for numbers it does not hold', () => {
    const graph = MembershipGraph.build([], () => undefined);
    expect(graph.members(3, true)).toHaveLength(0);
    expect(graph.parents(-1, true)).toHaveLength(0);
    expect(graph.isMember(0, 1)).toBe(false);
  });

  it('agrees with a naive closure on random graphs', () => {
    for (let round = 0; round < 50; round++) {
      let seed = round + 1;
      const rand = (n: number) => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed % n;
      };
      const count = 30;
      const kinds = Array.from(
        { length: count },
        (_, i) => (i % 3 === 0 ? 'GROUP' : 'USER') as PrincipalRecord['kind'],
      );
      const records = kinds.map((kind, i) =>
        record(
          `p${String(i).padStart(2, '0')}`,
          kind,
          kind === 'GROUP'
            ? Array.from({ length: rand(5) }, () => `p${String(rand(count)).padStart(2, '0')}`)
            : [],
        ),
      );
      const direct = new Map(records.map((r) => [r.id, new Set(r.memberIds)]));
      const closure = (group: string): Set<string> => {
        const seen = new Set<string>();
        const stack = [group];
        while (stack.length > 0) {
          for (const m of direct.get(stack.pop() as string) ?? []) {
            if (!seen.has(m)) {
              seen.add(m);
              stack.push(m);
            }
          }
        }
        seen.delete(group);
        return seen;
      };
      const graph = graphOf(records);
      for (const r of records) {
        if (r.kind === 'GROUP') expect(graph.members(r.id, true)).toEqual([...closure(r.id)].sort());
        const expectedParents = records
          .filter((p) => p.kind === 'GROUP' && closure(p.id).has(r.id))
          .map((p) => p.id);
        expect(graph.parents(r.id, true)).toEqual(expectedParents);
        for (const p of records) expect(graph.isMember(r.id, p.id)).toBe(expectedParents.includes(p.id));
      }
    }
  });
});
