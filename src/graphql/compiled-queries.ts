/**
 * Queries the gateway sees again and again (the UI's autocomplete and
 * membership lookups: a handful of operations, many times a second) run
 * compiled by graphql-jit instead of through graphql-js's interpreter, which
 * walks the query and the schema anew for every field of every answer
 * (docs/performance.md: the gateway's answer path).
 *
 * The fast path only ever answers with success. It applies to queries
 * (never mutations or subscriptions), after parsing, validation (depth,
 * cost, aliases) and the role check have passed, and only to an operation
 * seen before (compiling costs more than one interpreted run, and an
 * operation sent once should not cost a compile). Whenever the compiled run
 * reports an error, or compiling fails, the standard path answers instead,
 * so errors keep exactly the codes and formatting of graphql-js and Apollo.
 * Every query of this schema reads an immutable snapshot and the settings
 * store, so running one again on that path has no side effect.
 */
import { type ApolloServerPlugin, HeaderMap } from '@apollo/server';
import { type ExecutionResult, type GraphQLSchema, OperationTypeNode } from 'graphql';
import { type CompiledQuery, compileQuery, isCompiledQuery } from 'graphql-jit';
import { BoundedCache } from '../directory/bounded-cache.js';

export interface CompiledQueryOptions {
  /** Runs through the interpreter before an operation is compiled. */
  readonly compileAfter: number;
  /** Compiled operations kept (least recently used dropped). */
  readonly maxCompiled: number;
  /** Told how each compiled run ended: answered, or handed to the standard path. */
  readonly onOutcome: (outcome: CompiledOutcome) => void;
}

/** `answered`: the compiled run answered; `fallback`: it met an error; `uncompilable`: graphql-jit refused it. */
export type CompiledOutcome = 'answered' | 'fallback' | 'uncompilable';

const DEFAULTS: CompiledQueryOptions = { compileAfter: 1, maxCompiled: 500, onOutcome: () => {} };

type Slot = { readonly seen: number } | { readonly compiled: CompiledQuery } | { readonly failed: true };

export function compiledQueriesPlugin<TContext extends object>(
  schema: GraphQLSchema,
  options: Partial<CompiledQueryOptions> = {},
): ApolloServerPlugin<TContext> {
  const { compileAfter, maxCompiled, onOutcome } = { ...DEFAULTS, ...options };
  const slots = new BoundedCache<string, Slot>(maxCompiled, () => 1);

  const compiledFor = (key: string, compile: () => CompiledQuery | ExecutionResult): CompiledQuery | null => {
    const slot = slots.get(key);
    if (slot !== undefined && 'compiled' in slot) return slot.compiled;
    if (slot !== undefined && 'failed' in slot) return null;
    const seen = (slot?.seen ?? 0) + 1;
    if (seen <= compileAfter) {
      slots.set(key, { seen });
      return null;
    }
    let result: CompiledQuery | ExecutionResult;
    try {
      result = compile();
    } catch {
      result = { errors: [] };
    }
    if (!isCompiledQuery(result)) {
      slots.set(key, { failed: true });
      onOutcome('uncompilable');
      return null;
    }
    slots.set(key, { compiled: result });
    return result;
  };

  return {
    async requestDidStart() {
      return {
        async responseForOperation(rc) {
          const { operation, document, queryHash } = rc;
          if (operation?.operation !== OperationTypeNode.QUERY) return null;
          const operationName = rc.request.operationName ?? null;
          const compiled = compiledFor(`${queryHash}\u0000${operationName ?? ''}`, () =>
            compileQuery(schema, document, operationName ?? undefined),
          );
          if (!compiled) return null;
          const result = await compiled.query(undefined, rc.contextValue, rc.request.variables ?? {});
          if (result.errors?.length) {
            onOutcome('fallback');
            return null;
          }
          onOutcome('answered');
          return {
            http: { status: undefined, headers: new HeaderMap() },
            body: { kind: 'single', singleResult: { data: result.data ?? null } },
          };
        },
      };
    },
  };
}
