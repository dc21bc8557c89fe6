import { ConfigError, EXIT_CODES, createLogger } from '@omniaffect/core';
import { createGatewayApp } from './app';
import { loadGatewayConfig, type GatewayConfig } from './config';

async function main(): Promise<void> {
  let config: GatewayConfig;
  try {
    config = loadGatewayConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(EXIT_CODES.config);
    }
    throw err;
  }
  const log = createLogger('gateway', config.LOG_LEVEL);
  const app = await createGatewayApp(config, { logger: log });

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: no new connections, finishing in-flight requests');
    // SHUTDOWN_TIMEOUT_MS (baseEnv) bounds the wait for in-flight uploads; Kubernetes' grace period must exceed it.
    setTimeout(() => {
      log.error('shutdown timed out; exiting');
      process.exit(EXIT_CODES.shutdownTimeout);
    }, config.SHUTDOWN_TIMEOUT_MS).unref();
    // app.close(): end event streams → close the HTTP server (waits for in-flight requests) → close the gRPC client.
    app.close().then(
      () => process.exit(EXIT_CODES.ok),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(EXIT_CODES.software);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((err: unknown) => {
  createLogger('gateway').fatal({ err }, 'gateway failed to start');
  process.exit(EXIT_CODES.software);
});
