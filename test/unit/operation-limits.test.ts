import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  buildSchema,
  type GraphQLError,
  type GraphQLSchema,
  Kind,
  type OperationDefinitionNode,
  parse,
  specifiedRules,
  validate,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/graphql/arguments.js';
import {
  type CostInput,
  costRefusal,
  OBJECTS_SCANNED_PER_UNIT,
  type OperationLimits,
  operationCost,
  operationLimitsRule,
  SEARCH_COST_FLOOR,
} from '../../src/graphql/limits.js';

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

function check(query: string, limits: OperationLimits, schema = tiny): readonly GraphQLError[] {
  return validate(schema, parse(query), [operationLimitsRule(limits)]);
}

/** A view of this many objects of each kind in every connection, and of `perConnection` in each one. */
function scannedOf(total: number, perConnection = total): CostInput['scanned'] {
  return (_kind, connectionId) => (connectionId === null ? total : perConnection);
}

function costInput(
  query: string,
  variables: Record<string, unknown> = {},
  schema: GraphQLSchema = tiny,
  scanned: CostInput['scanned'] = scannedOf(0),
  operationName?: string,
): CostInput {
  const document = parse(query);
  const operation = document.definitions.find(
    (d): d is OperationDefinitionNode =>
      d.kind === Kind.OPERATION_DEFINITION &&
      (operationName === undefined || d.name?.value === operationName),
  );
  if (!operation) throw new Error('no operation');
  return { schema, document, operation, variables, scanned };
}

/** The cost of the first operation of `query` (or the one named) with these variables. */
function costOf(query: string, variables: Record<string, unknown> = {}, operationName?: string): number {
  const cost = operationCost(costInput(query, variables, tiny, scannedOf(0), operationName));
  if (cost === null) throw new Error('the variables do not coerce');
  return cost;
}

/** The depth the rule computes for `query` (it reports it when over a limit of 0). */
function depthOf(query: string): number {
  const errors = check(query, { maxDepth: 0 });
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
    expect(check(q, { maxDepth: 4 })).toEqual([]);
    const errors = check(q, { maxDepth: 3 });
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

  it('reads page sizes from variables and assumes 100 when a variable is unset', () => {
    const q = 'query ($n: Int) { users(first: $n) { id } }';
    expect(costOf(q, { n: 7 })).toBe(8);
    expect(costOf(q, { n: 2_000_000 })).toBe(2_000_001);
    expect(costOf(q)).toBe(101);
    expect(costOf(q, { n: null })).toBe(101);
  });

  it("takes a page size left out from the schema's default, the variable's default too", () => {
    const withDefaults = buildSchema(`
      type Query { users(first: Int = 50): [User] }
      type User { id: ID members(first: Int = 100): [User] }
    `);
    const cost = (q: string, variables: Record<string, unknown> = {}) =>
      operationCost(costInput(q, variables, withDefaults));
    expect(cost('{ users { id } }')).toBe(51);
    expect(cost('{ users(first: 3) { members { id } } }')).toBe(1 + 3 * (1 + 100));
    expect(cost('query ($n: Int = 7) { users(first: $n) { id } }')).toBe(8);
    expect(cost('query ($n: Int = 7) { users(first: $n) { id } }', { n: 9 })).toBe(10);
  });

  it('gives no cost when the variables do not coerce (execution refuses them)', () => {
    const input = costInput('query ($n: Int) { users(first: $n) { id } }', { n: 'many' });
    expect(operationCost(input)).toBeNull();
    expect(costRefusal(0, input)).toBeNull();
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
    const input = costInput('{ users(first: 5) { friends(first: 3) { id } } }');
    expect(costRefusal(21, input)).toBeNull();
    const error = costRefusal(20, input);
    expect(error?.message).toBe('query cost 21 exceeds the limit of 20');
    expect(error?.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 20, cost: 21 });
  });

  it('measures the operation that runs, not the others of its document', () => {
    const doc = 'query Small { user { id } } query Big { users(first: 50) { id name } }';
    expect(costOf(doc, {}, 'Small')).toBe(2);
    expect(costOf(doc, {}, 'Big')).toBe(101);
  });
});

describe('the cost of a search', () => {
  const run = (q: string, scanned: CostInput['scanned'], variables: Record<string, unknown> = {}) =>
    operationCost(costInput(q, variables, gateway, scanned)) as number;
  const plain = '{ users(first: 1) { totalCount } }';

  it('is the floor in a small view, on each of users, groups and contacts', () => {
    const base = run(plain, scannedOf(10));
    for (const field of ['users', 'groups', 'contacts']) {
      expect(run(`{ ${field}(first: 1, search: "a") { totalCount } }`, scannedOf(10))).toBe(
        base + SEARCH_COST_FLOOR,
      );
    }
  });

  it('grows with the objects of its scope: the view, or the connection named', () => {
    const scanned = scannedOf(400_000, 60_000);
    const base = run(plain, scanned);
    expect(run('{ users(first: 1, search: "a") { totalCount } }', scanned)).toBe(
      base + 400_000 / OBJECTS_SCANNED_PER_UNIT,
    );
    expect(run('{ users(first: 1, search: "a", connectionId: "c") { totalCount } }', scanned)).toBe(
      base + 60_000 / OBJECTS_SCANNED_PER_UNIT,
    );
  });

  it('reads the search from a variable; an empty or blank one scans nothing', () => {
    const q = 'query ($s: String) { users(first: 1, search: $s) { totalCount } }';
    const base = run(plain, scannedOf(10));
    expect(run(q, scannedOf(10), { s: 'x' })).toBe(base + SEARCH_COST_FLOOR);
    expect(run(q, scannedOf(10), { s: '  ' })).toBe(base);
    expect(run(q, scannedOf(10), {})).toBe(base);
  });

  it('counts each alias: fifty aliased searches are over the gateway limit, the UI query is not', () => {
    const aliases = Array.from(
      { length: 50 },
      (_, i) => `s${i}: users(first: 1, search: "a${i}") { totalCount }`,
    );
    expect(run(`{ ${aliases.join(' ')} }`, scannedOf(10))).toBeGreaterThan(LIMITS.cost);
    const ui = readFileSync(path.join(import.meta.dirname, '../operations/directory.graphql'), 'utf8');
    for (const name of ['Users', 'Groups', 'Contacts']) {
      const input = {
        ...costInput(ui, { search: 'mü', first: LIMITS.pageSize }, gateway, scannedOf(100_000), name),
      };
      expect(costRefusal(LIMITS.cost, input), name).toBeNull();
    }
  });
});

describe('fragment cycles and fan-out', () => {
  it('terminates on fragments that spread each other', () => {
    const q =
      '{ user { ...A } } fragment A on User { best { ...B } } fragment B on User { id best { ...A } }';
    expect(check(q, { maxDepth: 100 })).toEqual([]);
    expect(costOf(q)).toBeGreaterThan(0);
    // With graphql's own rules the cycle is reported by them, and the limits rule still finishes.
    const all = validate(tiny, parse(q), [...specifiedRules, operationLimitsRule({ maxDepth: 100 })]);
    expect(all.some((e) => e.message.includes('Cannot spread fragment "A" within itself'))).toBe(true);
  });

  it('terminates on a fragment that spreads itself', () => {
    const q = '{ user { ...A } } fragment A on User { id best { ...A } }';
    expect(check(q, { maxDepth: 3 })).toEqual([]);
    expect(costOf(q)).toBe(3);
  });

  it('measures a small document whose fragments each spread the next twice without stalling', () => {
    const levels = 22;
    let fragments = '';
    for (let i = 0; i < levels; i++) fragments += `fragment F${i} on User { ...F${i + 1} ...F${i + 1} }\n`;
    fragments += `fragment F${levels} on User { id }`;
    const started = performance.now();
    const q = `{ user { ...F0 } } ${fragments}`;
    expect(check(q, { maxDepth: 12 })).toEqual([]);
    const cost = costOf(q);
    const ms = performance.now() - started;
    expect(cost).toBe(1 + 2 ** levels);
    // 2^22 walks of the same fragments take seconds; a measurement that remembers a fragment's cost takes ~1 ms.
    expect(ms).toBeLessThan(1000);
  });
});

describe('the gateway schema with the gateway limits', () => {
  const limits = { maxDepth: LIMITS.depth };
  const run = (q: string) => check(q, limits, gateway);
  const refusal = (q: string, variables: Record<string, unknown> = {}) =>
    costRefusal(LIMITS.cost, costInput(q, variables, gateway, scannedOf(100_000)));

  it('accepts a full page of users with all their own fields', () => {
    expect(
      refusal(`{ users(first: ${LIMITS.pageSize}) {
        nodes { id guid kind dn displayName primaryEmail emails samAccountName userPrincipalName enabled }
      } }`),
    ).toBeNull();
  });

  it('refuses pages of members of the groups of a page of users', () => {
    const error = refusal(
      `{ users(first: 500) { nodes { memberOf { members(first: 500) { nodes { id } } } } } }`,
    );
    expect(error?.extensions.code).toBe('LIMIT_EXCEEDED');
    expect(error?.message).toMatch(/^query cost \d+ exceeds the limit of 50000$/);
  });

  it('refuses a huge page size given as a variable as it does the literal', () => {
    const q = 'query ($n: Int) { users(first: $n) { nodes { id } } }';
    expect(refusal(q, { n: 2_000_000_000 })?.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED' });
    expect(refusal('{ users(first: 2000000000) { nodes { id } } }')?.extensions).toMatchObject({
      code: 'LIMIT_EXCEEDED',
    });
    expect(refusal(q, { n: 10 })).toBeNull();
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
