import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildSchema, type GraphQLError, parse, specifiedRules, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/graphql/arguments.js';
import { type OperationLimits, operationLimitsRule } from '../../src/graphql/limits.js';

const tiny = buildSchema(`
  type Query {
    user: User
    users(first: Int, last: Int): [User]
    groups: [User]
  }
  type User {
    id: ID
    name: String
    best: User
    friends(first: Int): [User]
    groups: [User]
  }
`);

const gateway = buildSchema(
  readFileSync(path.join(import.meta.dirname, '../../schema/schema.graphql'), 'utf8'),
);

function check(
  query: string,
  limits: OperationLimits,
  variables: Record<string, unknown> = {},
  schema = tiny,
): readonly GraphQLError[] {
  return validate(schema, parse(query), [operationLimitsRule(limits, () => variables)]);
}

/** The cost the rule computes for `query` (it reports it when over a limit of 0). */
function costOf(query: string, variables: Record<string, unknown> = {}): number {
  const errors = check(query, { maxDepth: 1000, maxCost: 0 }, variables);
  expect(errors).toHaveLength(1);
  return errors[0]?.extensions.cost as number;
}

/** The depth the rule computes for `query` (it reports it when over a limit of 0). */
function depthOf(query: string): number {
  const errors = check(query, { maxDepth: 0, maxCost: Number.MAX_SAFE_INTEGER });
  expect(errors).toHaveLength(1);
  return errors[0]?.extensions.depth as number;
}

describe('query depth', () => {
  it('counts the fields along the deepest path', () => {
    expect(depthOf('{ user { id } }')).toBe(2);
    expect(depthOf('{ user { best { best { id } } name } }')).toBe(4);
  });

  it('refuses a query deeper than the limit with LIMIT_EXCEEDED and accepts one at the limit', () => {
    const q = '{ user { best { best { id } } } }';
    expect(check(q, { maxDepth: 4, maxCost: 1000 })).toEqual([]);
    const errors = check(q, { maxDepth: 3, maxCost: 1000 });
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toBe('query depth 4 exceeds the limit of 3');
    expect(errors[0]?.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 3, depth: 4 });
  });

  it('counts depth through named and inline fragments', () => {
    expect(depthOf('{ ...Q } fragment Q on Query { user { ...U } } fragment U on User { best { id } }')).toBe(
      3,
    );
    expect(depthOf('{ user { ... on User { best { ... on User { best { id } } } } } }')).toBe(4);
  });
});

describe('query cost', () => {
  it('costs one per field', () => {
    expect(costOf('{ user { id name } }')).toBe(3);
  });

  it('skips introspection fields', () => {
    expect(costOf('{ user { __typename id } }')).toBe(2);
  });

  it('multiplies what is below a list by its first or last argument', () => {
    expect(costOf('{ users(first: 5) { id name } }')).toBe(11);
    expect(costOf('{ users(last: 7) { id } }')).toBe(8);
    expect(costOf('{ users(first: 5) { friends(first: 3) { id } } }')).toBe(21);
  });

  it('assumes 10 for a list whose size no argument states', () => {
    expect(costOf('{ user { groups { id } } }')).toBe(12);
  });

  it('reads page sizes from variables and assumes 100 when a variable is unknown', () => {
    const q = 'query ($n: Int) { users(first: $n) { id } }';
    expect(costOf(q, { n: 7 })).toBe(8);
    expect(costOf(q)).toBe(101);
  });

  it('counts a page size below one as one', () => {
    expect(costOf('{ users(first: 0) { id } }')).toBe(2);
    expect(costOf('{ users(first: -5) { id } }')).toBe(2);
  });

  it('counts a fragment every time it is spread', () => {
    const q = '{ user { ...N } other: user { ...N } } fragment N on User { id name }';
    expect(costOf(q)).toBe(6);
    expect(costOf('{ users(first: 4) { ...N } } fragment N on User { id name }')).toBe(9);
    expect(costOf('{ user { ... on User { id name } } }')).toBe(3);
  });

  it('refuses a query over the cost limit with LIMIT_EXCEEDED and accepts one at it', () => {
    const q = '{ users(first: 5) { friends(first: 3) { id } } }';
    expect(check(q, { maxDepth: 10, maxCost: 21 })).toEqual([]);
    const errors = check(q, { maxDepth: 10, maxCost: 20 });
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toBe('query cost 21 exceeds the limit of 20');
    expect(errors[0]?.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 20, cost: 21 });
  });

  it('measures each operation of a document on its own', () => {
    const doc = 'query Small { user { id } } query Big { users(first: 50) { id name } }';
    const errors = check(doc, { maxDepth: 10, maxCost: 100 });
    expect(errors.map((e) => e.extensions.cost)).toEqual([101]);
  });
});

describe('fragment cycles and fan-out', () => {
  it('terminates on fragments that spread each other', () => {
    const q =
      '{ user { ...A } } fragment A on User { best { ...B } } fragment B on User { id best { ...A } }';
    const errors = check(q, { maxDepth: 100, maxCost: 1000 });
    expect(errors).toEqual([]);
    // With graphql's own rules the cycle is reported by them, and the limits rule still finishes.
    const all = validate(tiny, parse(q), [
      ...specifiedRules,
      operationLimitsRule({ maxDepth: 100, maxCost: 1000 }),
    ]);
    expect(all.some((e) => e.message.includes('Cannot spread fragment "A" within itself'))).toBe(true);
  });

  it('terminates on a fragment that spreads itself', () => {
    expect(
      check('{ user { ...A } } fragment A on User { id best { ...A } }', { maxDepth: 3, maxCost: 10 }),
    ).toEqual([]);
  });

  it('measures a small document whose fragments each spread the next twice without stalling', () => {
    const levels = 22;
    let fragments = '';
    for (let i = 0; i < levels; i++) fragments += `fragment F${i} on User { ...F${i + 1} ...F${i + 1} }\n`;
    fragments += `fragment F${levels} on User { id }`;
    const started = performance.now();
    const errors = check(`{ user { ...F0 } } ${fragments}`, { maxDepth: 12, maxCost: 50_000 });
    const ms = performance.now() - started;
    expect(errors.map((e) => e.extensions.cost)).toEqual([1 + 2 ** levels]);
    // 2^22 walks of the same fragments take seconds; a measurement that remembers a fragment's cost takes ~1 ms.
    expect(ms).toBeLessThan(1000);
  });
});

describe('the gateway schema with the gateway limits', () => {
  const limits = { maxDepth: LIMITS.depth, maxCost: LIMITS.cost };
  const run = (q: string) => check(q, limits, {}, gateway);

  it('accepts a full page of users with all their own fields', () => {
    expect(
      run(`{ users(first: ${LIMITS.pageSize}) {
        nodes { id guid kind dn displayName primaryEmail emails samAccountName userPrincipalName enabled }
      } }`),
    ).toEqual([]);
  });

  it('refuses pages of members of the groups of a page of users', () => {
    const errors = run(
      `{ users(first: 500) { nodes { memberOf { members(first: 500) { nodes { id } } } } } }`,
    );
    expect(errors.map((e) => e.extensions.code)).toEqual(['LIMIT_EXCEEDED']);
    expect(errors[0]?.message).toMatch(/^query cost \d+ exceeds the limit of 50000$/);
  });

  it('refuses memberOf nested past the depth limit', () => {
    const nested = (n: number): string => (n === 0 ? 'id' : `memberOf { ${nested(n - 1)} }`);
    expect(run(`{ principal(id: "x") { ${nested(LIMITS.depth - 2)} } }`)).toEqual([]);
    const errors = run(`{ principal(id: "x") { ${nested(LIMITS.depth - 1)} } }`);
    expect(errors.map((e) => e.extensions)).toEqual([
      expect.objectContaining({ code: 'LIMIT_EXCEEDED', depth: LIMITS.depth + 1 }),
    ]);
  });
});
