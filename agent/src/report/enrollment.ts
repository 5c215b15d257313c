// Enrollment, in one place: who this agent is and what it detected, told to the collector
// before runs are started (an idempotent upsert), and what the collector answers (how often
// to heartbeat, where its network sink listens).
import os from 'node:os';
import type { EnrollRequest } from '@guestbench/proto';
import type { Logger } from 'pino';
import type { Detection } from '../detect/detect-platform';
import type { Inventory } from '../detect/inventory';
import { resolveAnnouncedSink } from '../net/announced-sink';
import { AGENT_VERSION } from '../version';
import type { CallOptions, CollectorClient } from './collector-client';

export interface Enrolled {
  readonly heartbeatIntervalMs: number;
  /** The network sink the collector announced, resolved against its address. */
  readonly netSink?: string;
}

export interface AgentDescription {
  readonly agentId: string;
  /** Declared platform, or '' for auto. */
  readonly declaredPlatform: string;
  readonly detection: Detection;
  readonly inventory: Inventory;
}

export function enrollRequest(agent: AgentDescription): EnrollRequest {
  return {
    agentId: agent.agentId,
    hostname: os.hostname(),
    declaredPlatform: agent.declaredPlatform,
    detected: { platform: agent.detection.platform, evidence: agent.detection.evidence.map((e) => ({ ...e })) },
    inventory: { ...agent.inventory },
    agentVersion: AGENT_VERSION,
  };
}

/** This agent's enrollment at its collector: made once, renewed when the answer may have changed. */
export class Enrollment {
  private answer: Enrolled | undefined;

  constructor(
    private readonly client: CollectorClient,
    readonly request: EnrollRequest,
    private readonly logger: Logger,
  ) {}

  /** The collector's last answer, if enrolled. */
  get current(): Enrolled | undefined {
    return this.answer;
  }

  /** Enrolls unless already enrolled. */
  async ensure(call?: CallOptions): Promise<Enrolled> {
    return this.answer ?? this.renew(call);
  }

  /** Enrolls again, e.g. to learn the sink of a collector that restarted. */
  async renew(call?: CallOptions): Promise<Enrolled> {
    const res = await this.client.enroll(this.request, call);
    const netSink = resolveAnnouncedSink(res.netSink, this.client.address);
    this.logger.info({ event: 'enrolled', agentId: this.request.agentId, collector: this.client.address, netSink }, 'enrolled');
    this.answer = { heartbeatIntervalMs: res.heartbeatIntervalMs, netSink };
    return this.answer;
  }

  /** The collector went away: enroll again before the next call that needs it. */
  forget(): void {
    this.answer = undefined;
  }
}
