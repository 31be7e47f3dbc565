import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { createRouter, type Router } from './router';
import { sendJson } from './respond';

/** What `/healthz` answers: 200 while `ok`, 503 otherwise, with each part's state in the body. */
export interface HealthReport {
  ok: boolean;
  [key: string]: unknown;
}

export interface OpsSource {
  registry: Registry;
  /** Liveness: every part runs (a restart would help when it does not). */
  health: () => HealthReport;
  /** Readiness: every dependency answers (Kafka, Redis, the model); absent, `/readyz` answers as `/healthz`. */
  ready?: () => Promise<HealthReport>;
}

/**
 * Adds `/metrics` (Prometheus text), `/healthz` (liveness) and `/readyz` (readiness, per dependency) to a router:
 * the one ops surface of every process.
 */
export function addOpsRoutes(router: Router, source: OpsSource): Router {
  return router
    .get('/metrics', async ({ res }) => {
      const text = await source.registry.metrics();
      res.writeHead(200, { 'content-type': source.registry.contentType });
      res.end(text);
    })
    .get('/healthz', ({ res }) => {
      const report = source.health();
      sendJson(res, report.ok ? 200 : 503, report);
    })
    .get('/readyz', async ({ res }) => {
      const report = source.ready === undefined ? source.health() : await source.ready();
      sendJson(res, report.ok ? 200 : 503, report);
    });
}

export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Serves the ops routes on their own port (port 0 picks a free one). */
export async function startOpsServer(options: OpsSource & { port: number; host?: string; logger?: Logger }): Promise<OpsServer> {
  const router = addOpsRoutes(createRouter({ logger: options.logger, what: 'ops request', owns: () => true }), options);
  const server: Server = createServer((req, res) => {
    void router.handle(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
