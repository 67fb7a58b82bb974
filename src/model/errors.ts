/**
 * Domain errors. Every layer below the API throws these (or its own errors
 * translated into these at its edge); the GraphQL layer maps them to coded
 * GraphQL errors and masks everything else.
 */

export abstract class DomainError extends Error {
  abstract readonly code: 'BAD_USER_INPUT' | 'NOT_FOUND' | 'CONFLICT';
}

/** Input that breaks a rule; `field` names the argument or input field. */
export class ValidationError extends DomainError {
  readonly code = 'BAD_USER_INPUT' as const;
  constructor(
    readonly field: string,
    message: string,
    readonly reason: string = 'INVALID',
  ) {
    super(`${field}: ${message}`);
    this.name = 'ValidationError';
  }
}

export class NotFoundError extends DomainError {
  readonly code = 'NOT_FOUND' as const;
  constructor(
    readonly what: string,
    readonly id: string,
  ) {
    super(`${what} ${JSON.stringify(id)} does not exist`);
    this.name = 'NotFoundError';
  }
}

/** The operation is valid but cannot run in the current state. */
export class ConflictError extends DomainError {
  readonly code = 'CONFLICT' as const;
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}
