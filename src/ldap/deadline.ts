/**
 * Our own bound around each step. ldapts' timeouts do not cover every wait
 * (a peer that accepts and stays silent during StartTLS, a connect promise
 * that never settles once its socket is destroyed), so every awaited LDAP
 * step goes through `bounded`, which also honours an AbortSignal.
 */
import { AbortedError, type LdapError, TimeoutError } from './errors.js';
import type { ConnectionStep } from './types.js';

export interface BoundOptions {
  readonly step: ConnectionStep;
  readonly server: string | null;
  readonly ms: number;
  readonly signal?: AbortSignal | undefined;
  /** Called once when the bound fires or the signal aborts: kill the socket so nothing lingers. */
  readonly onGiveUp: (reason: LdapError) => void;
}

export function bounded<T>(work: Promise<T>, options: BoundOptions): Promise<T> {
  const { step, server, ms, signal, onGiveUp } = options;
  // The losing promise may reject later (socket destroyed); that must not surface as unhandled.
  work.catch(() => undefined);
  if (signal?.aborted) {
    const reason = new AbortedError(step, server);
    onGiveUp(reason);
    return Promise.reject(reason);
  }
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const giveUp = (reason: LdapError): void => {
      if (settled) return;
      settled = true;
      cleanup();
      onGiveUp(reason);
      reject(reason);
    };
    const timer = setTimeout(() => giveUp(new TimeoutError(step, server, ms)), ms);
    const onAbort = (): void => giveUp(new AbortedError(step, server));
    signal?.addEventListener('abort', onAbort, { once: true });
    const cleanup = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    work.then(
      (value) => {
        if (settled) return;
        settled = true;
        cleanup();
        resolve(value);
      },
      (err: unknown) => {
        if (settled) return;
        settled = true;
        cleanup();
        reject(err);
      },
    );
  });
}
