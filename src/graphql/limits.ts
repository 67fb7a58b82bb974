/**
 * What one operation may ask for, bounded before anything executes, each
 * refusal a coded error (LIMIT_EXCEEDED):
 *
 * - its depth and how often one field is aliased, by a validation rule
 *   (they depend on the document alone, which Apollo validates once);
 * - its estimated cost, per request once the variables are coerced
 *   (`checkOperationCost`): a page size passed as a variable costs what it
 *   asks for, as a literal does.
 *
 * The cost is the estimated number of values the answer holds: each field
 * costs one, times the page sizes of the lists above it (the schema's
 * default when the argument is left out), ten for a list no argument sizes.
 * A `search:` on users, groups or contacts scans every object of that kind
 * in its scope (the connection, or the whole view) whatever the page size,
 * so it costs in proportion to that scan, and never less than
 * SEARCH_COST_FLOOR.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import {
  type ASTVisitor,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  GraphQLError,
  type GraphQLField,
  type GraphQLSchema,
  getArgumentValues,
  getNamedType,
  getNullableType,
  getVariableValues,
  isCompositeType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';
import type { DirectoryView } from '../directory/directory-view.js';
import type { GraphQLContext } from './services.js';

export interface OperationLimits {
  readonly maxDepth: number;
  /**
   * How many times one field may be selected (under different aliases) in
   * one selection set, fragments included. Each alias runs its resolver
   * again, so `a1: node {…} … a10000: node {…}` costs ten thousand calls
   * while the cost estimate sees cheap fields. Default: unbounded.
   */
  readonly maxAliases?: number;
}

/** Size assumed for list fields whose size no argument states (memberOf, emails…). */
const UNSTATED_LIST = 10;
/** Size assumed for a page argument with neither a value nor a default. */
const UNSTATED_PAGE = 100;
const PAGE_ARGS = ['first', 'last'];

/** The kinds of object a search scans. */
export type SearchedKind = 'USER' | 'GROUP' | 'CONTACT';
/** Root fields whose `search:` argument scans every object of a kind in its scope. */
const SEARCHED: Readonly<Record<string, SearchedKind>> = {
  users: 'USER',
  groups: 'GROUP',
  contacts: 'CONTACT',
};
/**
 * Objects a search scans for one unit of cost. Testing one object's folded
 * texts for a substring takes about 25 ns on the reference machine, about
 * what answering one field takes divided by 20-40; 20 is the dear end.
 */
export const OBJECTS_SCANNED_PER_UNIT = 20;
/**
 * The least a search costs, whatever the size of its scope: each one builds
 * and keeps (memoized for its next pages) a result list of its own, and the
 * first of a view builds the texts of every object. At 1,000, one query may
 * search about fifty times, so a search aliased fifty times is refused.
 */
export const SEARCH_COST_FLOOR = 1_000;

export function operationLimitsRule(limits: OperationLimits) {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = fragmentsOf(context.getDocument());

    // A fragment's depth relative to where it is spread, computed once: spreads that repeat a
    // fragment must not make validation exponential.
    const fragmentDepths = new Map<string, number>();
    const depthOf = (set: SelectionSetNode, depth: number, seen: ReadonlySet<string>): number => {
      let max = depth;
      for (const sel of set.selections) {
        if (sel.kind === Kind.FIELD) {
          if (sel.name.value.startsWith('__')) continue;
          if (sel.selectionSet) max = Math.max(max, depthOf(sel.selectionSet, depth + 1, seen));
        } else if (sel.kind === Kind.INLINE_FRAGMENT) {
          max = Math.max(max, depthOf(sel.selectionSet, depth, seen));
        } else {
          const name = sel.name.value;
          const fragment = fragments.get(name);
          if (!fragment || seen.has(name)) continue;
          let relative = fragmentDepths.get(name);
          if (relative === undefined) {
            relative = depthOf(fragment.selectionSet, 0, new Set([...seen, name]));
            fragmentDepths.set(name, relative);
          }
          max = Math.max(max, depth + relative);
        }
      }
      return max;
    };

    // The response keys each field name gets in a selection set, with its fragments spread in.
    // A named fragment is flattened once: spreads that repeat it cannot make this exponential.
    const fragmentKeys = new Map<string, Map<string, Set<string>>>();
    const collectKeys = (set: SelectionSetNode, into: Map<string, Set<string>>, seen: Set<string>): void => {
      for (const sel of set.selections) {
        if (sel.kind === Kind.FIELD) {
          const keys = into.get(sel.name.value) ?? new Set<string>();
          keys.add(sel.alias?.value ?? sel.name.value);
          into.set(sel.name.value, keys);
        } else if (sel.kind === Kind.INLINE_FRAGMENT) {
          collectKeys(sel.selectionSet, into, seen);
        } else {
          const name = sel.name.value;
          const fragment = fragments.get(name);
          if (!fragment || seen.has(name)) continue;
          let own = fragmentKeys.get(name);
          if (!own) {
            own = new Map();
            collectKeys(fragment.selectionSet, own, new Set([...seen, name]));
            fragmentKeys.set(name, own);
          }
          for (const [field, keys] of own) {
            const merged = into.get(field) ?? new Set<string>();
            for (const k of keys) merged.add(k);
            into.set(field, merged);
          }
        }
      }
    };
    let aliasesReported = false;

    return {
      SelectionSet(node) {
        const max = limits.maxAliases;
        if (max === undefined || aliasesReported) return;
        const keys = new Map<string, Set<string>>();
        collectKeys(node, keys, new Set());
        for (const [field, names] of keys) {
          if (names.size <= max) continue;
          aliasesReported = true;
          context.reportError(
            new GraphQLError(`field ${field} is selected ${names.size} times; the limit is ${max}`, {
              nodes: [node],
              extensions: { code: 'LIMIT_EXCEEDED', reason: 'LIMIT_EXCEEDED', limit: max, field },
            }),
          );
          return;
        }
      },
      OperationDefinition(node) {
        const depth = depthOf(node.selectionSet, 1, new Set());
        if (depth > limits.maxDepth) {
          context.reportError(
            new GraphQLError(`query depth ${depth} exceeds the limit of ${limits.maxDepth}`, {
              nodes: [node],
              extensions: { code: 'LIMIT_EXCEEDED', reason: 'LIMIT_EXCEEDED', limit: limits.maxDepth, depth },
            }),
          );
        }
      },
    };
  };
}

function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) {
    if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  }
  return fragments;
}

export interface CostInput {
  readonly schema: GraphQLSchema;
  /** A validated document. */
  readonly document: DocumentNode;
  /** The operation of it that runs. */
  readonly operation: OperationDefinitionNode;
  /** The variables as the client sent them; coerced here as execution coerces them. */
  readonly variables: Readonly<Record<string, unknown>> | null | undefined;
  /** How many objects of a kind a search scans: in one connection, or (null) in the whole view. */
  readonly scanned: (kind: SearchedKind, connectionId: string | null) => number;
}

/**
 * The operation's estimated cost with its variables; null when they do not
 * coerce (execution then refuses them, with its own error, before any field runs).
 */
export function operationCost(input: CostInput): number | null {
  const { schema, operation } = input;
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], {
    ...(input.variables ?? {}),
  });
  if (coerced.errors) return null;
  const variables = coerced.coerced;
  const fragments = fragmentsOf(input.document);
  const queryType = schema.getQueryType();

  const argumentsOf = (def: GraphQLField<unknown, unknown>, node: FieldNode): Record<string, unknown> => {
    if (def.args.length === 0) return {};
    try {
      return getArgumentValues(def, node, variables);
    } catch {
      // Execution refuses the field with this same error; it costs nothing more.
      return {};
    }
  };

  /** How many times what is below the field is produced. */
  const multiplier = (def: GraphQLField<unknown, unknown>, args: Record<string, unknown>): number => {
    const pageArgs = def.args.filter((a) => PAGE_ARGS.includes(a.name));
    if (pageArgs.length > 0) {
      let size = 0;
      for (const a of pageArgs) {
        const v = args[a.name] ?? a.defaultValue;
        if (typeof v === 'number') size = Math.max(size, v);
      }
      const stated = pageArgs.some((a) => typeof (args[a.name] ?? a.defaultValue) === 'number');
      return Math.max(1, stated ? size : UNSTATED_PAGE);
    }
    // A page's `nodes` is already sized by the page's `first`.
    if (def.name !== 'nodes' && isListType(getNullableType(def.type))) return UNSTATED_LIST;
    return 1;
  };

  const scanCost = (
    parent: GraphQLCompositeType,
    def: GraphQLField<unknown, unknown>,
    args: Record<string, unknown>,
  ): number => {
    const kind = parent === queryType ? SEARCHED[def.name] : undefined;
    const search = args.search;
    if (!kind || typeof search !== 'string' || search.trim() === '') return 0;
    const connectionId = typeof args.connectionId === 'string' ? args.connectionId : null;
    const objects = input.scanned(kind, connectionId);
    return Math.max(SEARCH_COST_FLOOR, Math.ceil(objects / OBJECTS_SCANNED_PER_UNIT));
  };

  // A fragment's cost, computed once: spreads that repeat it must not make this exponential.
  const fragmentCosts = new Map<string, number>();
  const measure = (
    set: SelectionSetNode,
    parent: GraphQLCompositeType,
    seen: ReadonlySet<string>,
  ): number => {
    let cost = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        if (sel.name.value.startsWith('__')) continue;
        const def =
          isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[sel.name.value] : undefined;
        if (!def) continue;
        const args = argumentsOf(def, sel);
        cost += 1 + scanCost(parent, def, args);
        const inner = getNamedType(def.type);
        if (sel.selectionSet && isCompositeType(inner))
          cost += multiplier(def, args) * measure(sel.selectionSet, inner, seen);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        const type = sel.typeCondition ? schema.getType(sel.typeCondition.name.value) : parent;
        if (type && isCompositeType(type)) cost += measure(sel.selectionSet, type, seen);
      } else {
        const name = sel.name.value;
        const fragment = fragments.get(name);
        if (!fragment || seen.has(name)) continue;
        let own = fragmentCosts.get(name);
        if (own === undefined) {
          const type = schema.getType(fragment.typeCondition.name.value);
          own =
            type && isCompositeType(type)
              ? measure(fragment.selectionSet, type, new Set([...seen, name]))
              : 0;
          fragmentCosts.set(name, own);
        }
        cost += own;
      }
    }
    return cost;
  };

  const root = schema.getRootType(operation.operation);
  return root ? measure(operation.selectionSet, root, new Set()) : 0;
}

/** The refusal of an operation that costs more than `maxCost`, or null. */
export function costRefusal(maxCost: number, input: CostInput): GraphQLError | null {
  const cost = operationCost(input);
  if (cost === null || cost <= maxCost) return null;
  return new GraphQLError(`query cost ${cost} exceeds the limit of ${maxCost}`, {
    nodes: [input.operation],
    // 400, as for the limits refused during validation.
    extensions: { code: 'LIMIT_EXCEEDED', limit: maxCost, cost, http: { status: 400 } },
  });
}

/** What a search scans in this view: the objects of its kind in its connection, or in every one. */
export function scannedIn(view: DirectoryView): CostInput['scanned'] {
  return (kind, connectionId) => {
    let objects = 0;
    for (const id of connectionId === null ? view.connectionIds() : [connectionId]) {
      const counts = view.counts(id);
      objects += kind === 'USER' ? counts.users : kind === 'GROUP' ? counts.groups : counts.contacts;
    }
    return objects;
  };
}

/**
 * Refuses, over HTTP, an operation that costs more than `maxCost` with the
 * request's variables, against the view the request reads. Priced here
 * rather than during validation: Apollo validates a document once, and its
 * variables (page sizes, searches) change from one request to the next.
 */
export function costPlugin(maxCost: number): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, request, contextValue }) {
          if (!operation) return;
          const refusal = costRefusal(maxCost, {
            schema,
            document,
            operation,
            variables: request.variables,
            scanned: scannedIn(contextValue.view),
          });
          if (refusal) throw refusal;
        },
      };
    },
  };
}
