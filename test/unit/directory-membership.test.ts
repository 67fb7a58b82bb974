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
    graph,
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

  describe('hostile shapes: the build is linear in principals plus edges', () => {
    /** What a build may hold at most: offsets and edges, both ways. */
    const linearBound = (principals: number, edges: number): number => 2 * (principals + 1) + 2 * edges;

    it('a 30,000-deep group chain: answers right, nothing quadratic held', () => {
      const depth = 30_000;
      const name = (i: number): string => `g${String(i).padStart(5, '0')}`;
      // g00000 ⊃ g00001 ⊃ … ⊃ g29999 ⊃ u; the bottom group also holds the top one: one long cycle
      // in a second graph below.
      const chain = Array.from({ length: depth }, (_, i) =>
        record(name(i), 'GROUP', i + 1 < depth ? [name(i + 1)] : ['u']),
      );
      chain.push(record('u', 'USER'));
      const g = graphOf(chain);
      expect(g.graph.retainedNumbers).toBeLessThanOrEqual(linearBound(chain.length, depth));

      const top = g.members(name(0), true);
      expect(top).toHaveLength(depth);
      expect(top[0]).toBe(name(1));
      expect(top.at(-1)).toBe('u');
      const above = g.parents('u', true);
      expect(above).toHaveLength(depth);
      expect(above[0]).toBe(name(0));
      expect(above.at(-1)).toBe(name(depth - 1));
      expect(g.parents(name(15_000), true)).toHaveLength(15_000);
      expect(g.members(name(15_000), true)).toHaveLength(depth - 15_000);
      expect(g.isMember('u', name(0))).toBe(true);
      expect(g.isMember(name(depth - 1), name(0))).toBe(true);
      expect(g.isMember(name(0), name(depth - 1))).toBe(false);

      // Closed into a cycle: every group is in every other, none in itself.
      chain[depth - 1] = record(name(depth - 1), 'GROUP', ['u', name(0)]);
      const cyc = graphOf(chain);
      expect(cyc.graph.retainedNumbers).toBeLessThanOrEqual(linearBound(chain.length, depth + 1));
      expect(cyc.members(name(20_000), true)).toHaveLength(depth);
      expect(cyc.members(name(20_000), true)).not.toContain(name(20_000));
      expect(cyc.parents(name(0), true)).toHaveLength(depth - 1);
      expect(cyc.isMember(name(0), name(depth - 1))).toBe(true);
      expect(cyc.isMember(name(7), name(7))).toBe(false);
    });

    it('a wide lattice: every group of a layer holds every group of the next', () => {
      const layers = 60;
      const width = 50;
      const users = 200;
      const name = (layer: number, i: number): string =>
        `l${String(layer).padStart(2, '0')}-${String(i).padStart(2, '0')}`;
      const records: PrincipalRecord[] = [];
      let edges = 0;
      for (let layer = 0; layer < layers; layer++) {
        for (let i = 0; i < width; i++) {
          const below =
            layer + 1 < layers
              ? Array.from({ length: width }, (_, j) => name(layer + 1, j))
              : Array.from({ length: users }, (_, u) => `u${String(u).padStart(3, '0')}`);
          edges += below.length;
          records.push(record(name(layer, i), 'GROUP', below));
        }
      }
      for (let u = 0; u < users; u++) records.push(record(`u${String(u).padStart(3, '0')}`, 'USER'));
      const g = graphOf(records);
      expect(g.graph.retainedNumbers).toBeLessThanOrEqual(linearBound(records.length, edges));

      expect(g.members(name(0, 0), true)).toHaveLength((layers - 1) * width + users);
      expect(g.members(name(0, 0), true)).not.toContain(name(0, 1));
      expect(g.members(name(layers - 1, 3), false)).toHaveLength(users);
      expect(g.parents('u042', true)).toHaveLength(layers * width);
      expect(g.parents(name(30, 7), true)).toHaveLength(30 * width);
      expect(g.isMember('u199', name(0, 49))).toBe(true);
      expect(g.isMember(name(30, 7), name(29, 0))).toBe(true);
      expect(g.isMember(name(30, 7), name(30, 8))).toBe(false);
      expect(g.isMember(name(29, 0), name(30, 7))).toBe(false);
    });
  });
});
