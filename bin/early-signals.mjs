// Preloaded by `npm start` before the TypeScript loader (`--import`): from the first JavaScript
// the process runs, SIGTERM and SIGINT are recorded instead of killing it by their default
// action. src/process-lifecycle.ts takes them over and acts on any that came meanwhile
// (RUNTIME.md: a signal during start-up ends the process with exit 0). The gateway only: a
// command that never takes them over would otherwise ignore its signals.
const seen = [];
const record = (signal) => {
  seen.push(signal);
};
process.on('SIGTERM', record);
process.on('SIGINT', record);
globalThis[Symbol.for('dirgate.earlySignals')] = {
  /** Stops recording; returns the signals that came so far. */
  takeOver() {
    process.off('SIGTERM', record);
    process.off('SIGINT', record);
    return seen;
  },
};
