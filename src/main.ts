/**
 * Process entry: configuration, the gateway, the HTTP server, signals.
 * SIGTERM/SIGINT stop taking requests, stop schedules, end running syncs
 * without touching the last good cache, close the stores and exit 0.
 */
import './production-mode.js';
import 'reflect-metadata';
import { createGateway } from './app.js';
import { ConfigError, loadConfig } from './config/environment.js';
import { createLogger } from './logging.js';
import { startServer } from './server.js';

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`dirgate: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  const gateway = await createGateway(config, logger);
  if (gateway.secrets.adminTokenPath) {
    const verb = gateway.secrets.generatedAdminToken ? 'generated the admin token' : 'admin token';
    process.stderr.write(`dirgate: ${verb} in ${gateway.secrets.adminTokenPath} (mode 0600)\n`);
  }
  const server = await startServer(gateway);
  logger.info({ url: server.url, node: config.nodeName, dataDir: config.dataDir }, 'dirgate is serving');

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    // A stuck directory or client must not keep the process alive forever.
    setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, 30_000).unref();
    void (async () => {
      await server.close();
      await gateway.stop();
      logger.info('stopped');
      process.exit(0);
    })().catch((err: unknown) => {
      logger.error({ err }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`dirgate: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
