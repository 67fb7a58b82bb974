/**
 * A validation rule bounding what one operation may ask for: its depth, and
 * its estimated cost (each field costs one, times the page sizes of the
 * lists above it). Refused before anything executes, with a coded error.
 */
import {
  type ASTVisitor,
  type FragmentDefinitionNode,
  GraphQLError,
  Kind,
  type SelectionSetNode,
  type ValidationContext,
  type ValueNode,
} from 'graphql';

export interface OperationLimits {
  readonly maxDepth: number;
  readonly maxCost: number;
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
const PAGE_ARGS = ['first', 'last'];

function intValue(node: ValueNode | undefined, variables: Record<string, unknown>): number | null {
  if (!node) return null;
  if (node.kind === Kind.INT) return Number.parseInt(node.value, 10);
  if (node.kind === Kind.VARIABLE) {
    const v = variables[node.name.value];
    return typeof v === 'number' ? v : null;
  }
  return null;
}

export function operationLimitsRule(
  limits: OperationLimits,
  variables: () => Record<string, unknown> = () => ({}),
) {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const def of context.getDocument().definitions) {
      if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
    }
    const vars = variables();

    // A fragment's size relative to where it is spread, computed once: spreads that repeat a
    // fragment must not make validation exponential.
    const fragmentSizes = new Map<string, { depth: number; cost: number }>();
    const measure = (
      set: SelectionSetNode,
      depth: number,
      seen: Set<string>,
    ): { depth: number; cost: number } => {
      let maxDepth = depth;
      let cost = 0;
      for (const sel of set.selections) {
        if (sel.kind === Kind.FIELD) {
          if (sel.name.value.startsWith('__')) continue;
          let multiplier = 1;
          const pageArg = sel.arguments?.find((a) => PAGE_ARGS.includes(a.name.value));
          if (pageArg) multiplier = Math.max(1, intValue(pageArg.value, vars) ?? 100);
          // A page's `nodes` is already sized by the page's `first`.
          else if (sel.selectionSet && /s$/.test(sel.name.value) && sel.name.value !== 'nodes')
            multiplier = UNSTATED_LIST;
          if (sel.selectionSet) {
            const inner = measure(sel.selectionSet, depth + 1, seen);
            maxDepth = Math.max(maxDepth, inner.depth);
            cost += 1 + multiplier * inner.cost;
          } else {
            cost += 1;
          }
        } else if (sel.kind === Kind.INLINE_FRAGMENT) {
          const inner = measure(sel.selectionSet, depth, seen);
          maxDepth = Math.max(maxDepth, inner.depth);
          cost += inner.cost;
        } else {
          const name = sel.name.value;
          const fragment = fragments.get(name);
          if (!fragment || seen.has(name)) continue;
          let relative = fragmentSizes.get(name);
          if (!relative) {
            relative = measure(fragment.selectionSet, 0, new Set([...seen, name]));
            fragmentSizes.set(name, relative);
          }
          maxDepth = Math.max(maxDepth, depth + relative.depth);
          cost += relative.cost;
        }
      }
      return { depth: maxDepth, cost };
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
        const { depth, cost } = measure(node.selectionSet, 1, new Set());
        if (depth > limits.maxDepth) {
          context.reportError(
            new GraphQLError(`query depth ${depth} exceeds the limit of ${limits.maxDepth}`, {
              nodes: [node],
              extensions: { code: 'LIMIT_EXCEEDED', reason: 'LIMIT_EXCEEDED', limit: limits.maxDepth, depth },
            }),
          );
        } else if (cost > limits.maxCost) {
          context.reportError(
            new GraphQLError(`query cost ${cost} exceeds the limit of ${limits.maxCost}`, {
              nodes: [node],
              extensions: { code: 'LIMIT_EXCEEDED', reason: 'LIMIT_EXCEEDED', limit: limits.maxCost, cost },
            }),
          );
        }
      },
    };
  };
}
