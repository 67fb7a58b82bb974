/**
 * The API edge for errors: domain errors become coded GraphQL errors; any
 * other error is logged by the caller and masked, so no stack trace or
 * internal message (which might name a secret) reaches a client.
 */
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { DomainError, ValidationError } from '../model/errors.js';

export const ErrorCode = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  LIMIT_EXCEEDED: 'LIMIT_EXCEEDED',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
};

export function codedError(
  code: ErrorCode,
  message: string,
  extensions: Record<string, unknown> = {},
): GraphQLError {
  const status = HTTP_STATUS[code];
  return new GraphQLError(message, {
    extensions: { code, ...extensions, ...(status ? { http: { status } } : {}) },
  });
}

export function unauthenticated(): GraphQLError {
  return codedError(ErrorCode.UNAUTHENTICATED, 'a valid bearer token is required');
}

export function forbidden(what: string): GraphQLError {
  return codedError(ErrorCode.FORBIDDEN, `the reader role may not ${what}`);
}

export function badInput(field: string, message: string, reason = 'INVALID'): GraphQLError {
  return codedError(ErrorCode.BAD_USER_INPUT, `${field}: ${message}`, { field, reason });
}

export function limitExceeded(message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return codedError(ErrorCode.LIMIT_EXCEEDED, message, extensions);
}

/** Translates a thrown domain error; returns null for anything else. */
function fromDomainError(err: unknown): GraphQLError | null {
  if (!(err instanceof DomainError)) return null;
  if (err instanceof ValidationError)
    return badInput(err.field, err.message.replace(`${err.field}: `, ''), err.reason);
  return codedError(err.code, err.message);
}

const KNOWN_CODES = new Set<string>([
  ...Object.values(ErrorCode),
  // graphql-js and Apollo's own codes for parse and validation failures.
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);

/**
 * Apollo's formatError: keeps coded errors, converts domain errors, masks
 * the rest as INTERNAL_SERVER_ERROR.
 */
export function formatError(
  formatted: GraphQLFormattedError,
  error: unknown,
  log: (err: unknown) => void,
): GraphQLFormattedError {
  let original: unknown = error;
  // Apollo and type-graphql may wrap a thrown error more than once.
  // Checked by shape, not instanceof: a test runner may load graphql's CJS and ESM builds side by side.
  while (isWrapper(original)) original = original.originalError;
  // Apollo files every validation failure under one code; ours carry the precise one as `reason`.
  if (
    formatted.extensions?.code === 'GRAPHQL_VALIDATION_FAILED' &&
    formatted.extensions.reason === 'LIMIT_EXCEEDED'
  ) {
    return {
      ...formatted,
      extensions: { ...stripHttp(formatted.extensions), code: ErrorCode.LIMIT_EXCEEDED },
    };
  }
  const domain = fromDomainError(original);
  if (domain) {
    return {
      message: domain.message,
      path: formatted.path,
      locations: formatted.locations,
      extensions: stripHttp(domain.extensions),
    };
  }
  if (original instanceof Error && 'extensions' in original && isRecord(original.extensions)) {
    const code = original.extensions.code;
    if (typeof code === 'string' && KNOWN_CODES.has(code))
      return { ...formatted, extensions: stripHttp(formatted.extensions ?? {}) };
  }
  const code = formatted.extensions?.code;
  if (typeof code === 'string' && KNOWN_CODES.has(code) && code !== 'INTERNAL_SERVER_ERROR') {
    return { ...formatted, extensions: stripHttp(formatted.extensions ?? {}) };
  }
  log(original);
  return {
    message: 'internal error',
    path: formatted.path,
    locations: formatted.locations,
    extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function isWrapper(e: unknown): e is { originalError: unknown } {
  return isRecord(e) && 'originalError' in e && e.originalError !== undefined && e.originalError !== null;
}

function stripHttp(extensions: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const { http: _http, stacktrace: _stack, exception: _exception, ...rest } = extensions;
  return rest;
}
