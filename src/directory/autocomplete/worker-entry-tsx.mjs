// Starts a TypeScript worker module (workerData.entry) when the gateway runs
// from its TypeScript sources (npm start, the dirgate command, the tests) by
// registering tsx in the worker first. Passing tsx's loader in the worker's
// execArgv works only as far as the process was started a certain way (under
// the tsx command run by an older Node, the worker could not load .ts at
// all); registering it here does not depend on that.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
