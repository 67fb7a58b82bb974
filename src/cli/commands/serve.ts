/** `dirgate serve`: the service, exactly what `npm start` runs (src/serve-gateway.ts). */
import type { Command } from '../command.js';
import { stringOption } from '../command.js';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'Runs the gateway (what `npm start` does).',
  description: `
Serves GraphQL on http://HOST:PORT/graphql (subscriptions over graphql-ws on
the same path), the status page on /, GraphiQL for browsers on GET /graphql,
/healthz, /readyz and /metrics. Every setting is an environment variable
(see the README); the options below override the matching variable.
Logs are human-readable on a terminal, JSON lines otherwise
(DIRGATE_LOG_FORMAT=json|pretty forces one). SIGTERM or SIGINT stops it.`,
  options: {
    port: { type: 'string', short: 'p', value: 'PORT', help: 'HTTP port (PORT, default 4000)' },
    host: { type: 'string', value: 'HOST', help: 'address to listen on (HOST, default 127.0.0.1)' },
  },
  async run(values) {
    const { serveGateway } = await import('../../serve-gateway.js');
    serveGateway({
      PORT: stringOption(values, 'port'),
      HOST: stringOption(values, 'host'),
      DIRGATE_DATA_DIR: stringOption(values, 'data-dir'),
    });
    // The gateway owns the process from here: it exits on its own (signals, start failure).
    return new Promise<number>(() => {});
  },
};
