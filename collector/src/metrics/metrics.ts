// Prometheus metrics of the collector, served at GET /metrics in the text exposition format.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Store } from '../store/store';
import { RUN_STATUSES } from '../model';

export interface CollectorMetrics {
  readonly registry: Registry;
  readonly samplesIngested: Counter;
  readonly runsStarted: Counter;
  readonly runsEnded: Counter<'status'>;
  readonly enrollments: Counter;
  readonly rejected: Counter<'api' | 'method' | 'code'>;
  readonly agentsConnected: Gauge;
  readonly grpcDuration: Histogram<'method' | 'code'>;
  readonly httpDuration: Histogram<'route' | 'status'>;
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Creates the metrics. `runs by status` is read from the store at scrape time, so it is
 * right even when several collectors share one database.
 */
export function createMetrics(options: { store: Store; connectedAgents: () => number }): CollectorMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'guestbench_collector_' });
  // Three of the default gauges end in _total, which Prometheus keeps for counters (promtool
  // check metrics refuses them); their per-type gauges without the suffix stay, and sum() of
  // those gives the same totals.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    registry.removeSingleMetric(`guestbench_collector_${name}`);
  }
  const runsByStatus = new Gauge({
    name: 'guestbench_runs',
    help: 'Runs in the store by status',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const counts = await options.store.countRunsByStatus();
      for (const s of RUN_STATUSES) this.set({ status: s }, counts[s] ?? 0);
    },
  });
  void runsByStatus;
  return {
    registry,
    samplesIngested: new Counter({
      name: 'guestbench_samples_ingested_total',
      help: 'Samples committed (resends of stored samples not counted twice)',
      registers: [registry],
    }),
    runsStarted: new Counter({ name: 'guestbench_runs_started_total', help: 'Runs started by agents', registers: [registry] }),
    runsEnded: new Counter({ name: 'guestbench_runs_ended_total', help: 'Runs ended, by final status', labelNames: ['status'], registers: [registry] }),
    enrollments: new Counter({ name: 'guestbench_enrollments_total', help: 'Agent enrollments', registers: [registry] }),
    rejected: new Counter({
      name: 'guestbench_requests_rejected_total',
      help: 'Requests refused for bad input, auth or state',
      labelNames: ['api', 'method', 'code'],
      registers: [registry],
    }),
    agentsConnected: new Gauge({
      name: 'guestbench_agents_connected',
      help: 'Agents seen within the last heartbeat timeout',
      registers: [registry],
      collect() {
        this.set(options.connectedAgents());
      },
    }),
    grpcDuration: new Histogram({
      name: 'guestbench_grpc_request_duration_seconds',
      help: 'gRPC request latency',
      labelNames: ['method', 'code'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'guestbench_http_request_duration_seconds',
      help: 'HTTP request latency',
      labelNames: ['route', 'status'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
  };
}
