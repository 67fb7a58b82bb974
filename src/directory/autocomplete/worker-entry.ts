/**
 * The worker thread's script (worker-thread.ts starts it). For each job it
 * builds the address half of the autocomplete index and posts it at once
 * (the main thread builds the account keys from it meanwhile), then the
 * name keys, and posts them: typed arrays handed over, not copied.
 */
import { parentPort } from 'node:worker_threads';
import {
  type AddressParts,
  type AddressSource,
  addressTransferables,
  buildAddresses,
  collectKeys,
  finishKeys,
  type KeyParts,
  type KeySource,
  keyTransferables,
} from './index-halves.js';

export interface BuildRequest {
  readonly job: number;
  readonly addresses: AddressSource;
  readonly keys: KeySource;
}

export type BuildReply =
  | { readonly job: number; readonly addresses: AddressParts }
  | { readonly job: number; readonly names: KeyParts }
  | { readonly job: number; readonly error: string };

parentPort?.on('message', (request: BuildRequest) => {
  const port = parentPort;
  if (!port) return;
  const { job } = request;
  let reply: BuildReply;
  try {
    const addresses = buildAddresses(request.addresses);
    // `owners` is copied, not handed over: the name keys are collected in its order.
    port.postMessage({ job, addresses } satisfies BuildReply, addressTransferables(addresses));
    const names = finishKeys(collectKeys(request.keys, addresses.owners, ['names']));
    port.postMessage({ job, names } satisfies BuildReply, keyTransferables(names));
    return;
  } catch (err) {
    reply = { job, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
  port.postMessage(reply);
});
