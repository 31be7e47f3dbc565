import { Registry, collectDefaultMetrics } from 'prom-client';

export { Registry };

/**
 * One registry per process. Metric names never depend on the host process: a component's metrics are named
 * `moodstream_<component>_<what>[_<unit>]` wherever it runs (plus the standard `process_*`/`nodejs_*` defaults); the `service` label says which process it is.
 */
export function createMetricsRegistry(service: string, options: { defaultMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}
