/**
 * Worker-thread entry of autocomplete-builder.ts. For each job it builds
 * the address half of the autocomplete index and posts it at once (the
 * main thread builds the account keys from it meanwhile), then the name
 * keys, and posts them: typed arrays handed over, not copied.
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
} from './autocomplete-build.js';

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
  // This copy of the sources is the worker's own: each is let go once read (the addresses are
  // most of the 40 MB posted at 130,000 principals), so that the build's peak does not hold it.
  const held: { addresses?: AddressSource; keys?: KeySource } = {
    addresses: request.addresses,
    keys: request.keys,
  };
  (request as { addresses?: unknown }).addresses = undefined;
  (request as { keys?: unknown }).keys = undefined;
  let reply: BuildReply;
  try {
    const addresses = buildAddresses(held.addresses as AddressSource);
    delete held.addresses;
    // `owners` is copied, not handed over: the name keys are collected in its order.
    port.postMessage({ job, addresses } satisfies BuildReply, addressTransferables(addresses));
    const maps = collectKeys(held.keys as KeySource, addresses.owners, ['names']);
    delete held.keys;
    const names = finishKeys(maps);
    port.postMessage({ job, names } satisfies BuildReply, keyTransferables(names));
    return;
  } catch (err) {
    reply = { job, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
  port.postMessage(reply);
});
