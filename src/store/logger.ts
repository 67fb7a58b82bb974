/**
 * The logger interface the store layer needs (pino satisfies it, and so does
 * src/sync/logger.ts's): the store is below every layer that makes loggers.
 */
export interface StoreLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export const silentStoreLogger: StoreLogger = {
  info: () => {},
  warn: () => {},
  debug: () => {},
};
