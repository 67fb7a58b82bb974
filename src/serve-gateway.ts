/**
 * The gateway as a process: signals first, then configuration, the gateway,
 * the HTTP server. SIGTERM/SIGINT stop taking requests, stop schedules, end
 * running syncs without touching the last good cache, close the stores and
 * exit 0 (src/process-lifecycle.ts); a signal during start-up ends it with
 * exit 0. Run by src/main.ts (`npm start`) and by `dirgate serve`, which
 * gives its --port, --host and --data-dir as overrides.
 *
 * Everything slow to load is imported after the signal handlers exist: a
 * static import would load it first, and a signal meanwhile would kill the
 * process by its default action.
 */
import type { ConfigOverrides } from './config/environment.js';
import { ProcessLifecycle } from './process-lifecycle.js';

/** Starts the gateway; it owns the process from then on and exits on its own (signals, start failure). */
export function serveGateway(overrides: ConfigOverrides = {}): void {
  const lifecycle = new ProcessLifecycle();
  run(lifecycle, overrides).catch((err: unknown) => {
    process.stderr.write(`dirgate: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}

async function run(lifecycle: ProcessLifecycle, overrides: ConfigOverrides): Promise<void> {
  await import('reflect-metadata');
  const { ConfigError, loadProcessConfig } = await import('./config/environment.js');
  let config: ReturnType<typeof loadProcessConfig>;
  try {
    config = loadProcessConfig(overrides);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`dirgate: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const { createLogger } = await import('./logging.js');
  const logger = createLogger(config.logLevel);
  lifecycle.useLogger(logger);
  // A rejection nobody awaited is a bug to see in the log, not a reason to stop serving: every
  // write is atomic, so the cache is whole whatever the failed task was doing.
  process.on('unhandledRejection', (reason: unknown) => {
    logger.error({ err: reason }, 'unhandled promise rejection');
  });
  const [{ createGateway, StartupAborted }, { startServer }] = await Promise.all([
    import('./app.js'),
    import('./server.js'),
  ]);
  if (lifecycle.signal) return lifecycle.startupStopped();

  let gateway: Awaited<ReturnType<typeof createGateway>>;
  try {
    gateway = await createGateway(config, logger, { signal: lifecycle.startupSignal });
  } catch (err) {
    if (err instanceof StartupAborted) return lifecycle.startupStopped();
    throw err;
  }
  if (gateway.secrets.adminTokenPath) {
    const verb = gateway.secrets.generatedAdminToken ? 'generated the admin token' : 'admin token';
    process.stderr.write(`dirgate: ${verb} in ${gateway.secrets.adminTokenPath} (mode 0600)\n`);
  }
  let server: Awaited<ReturnType<typeof startServer>> | null = null;
  lifecycle.serving(async () => {
    await server?.close();
    await gateway.stop();
  });
  if (lifecycle.signal) return;
  server = await startServer(gateway);
  logger.info({ url: server.url, node: config.nodeName, dataDir: config.dataDir }, 'dirgate is serving');
}
