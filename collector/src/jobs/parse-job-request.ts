// A job request from gRPC, HTTP or the CLI, checked once.
import { formatProfileSpec, parseProfileSpec } from '@guestbench/proto';
import { PLATFORMS } from '../grpc/parse-messages';

export type ParsedJob = { ok: true; value: { platform: string; profile: string; label: string } } | { ok: false; error: string };

/** Profiles the agent ships; a job naming another would fail in every guest. */
export const JOB_PROFILES = ['smoke', 'quick', 'standard', 'full'] as const;

export function parseJobRequest(req: { platform?: string; profile?: string; label?: string }): ParsedJob {
  const platform = req.platform ?? '';
  if (platform !== '' && platform !== 'any' && !(PLATFORMS as readonly string[]).includes(platform)) {
    return { ok: false, error: `platform: one of any, ${PLATFORMS.join(', ')}; got ${JSON.stringify(platform.slice(0, 40))}` };
  }
  // A profile name, optionally narrowed: "quick only=cpu skip=cpu.math set=disk.seq_read.fileMiB=64".
  // Benchmark ids and setting values are the agent's to check: it refuses a job it cannot run.
  const spec = parseProfileSpec(req.profile === undefined || req.profile === '' ? 'quick' : req.profile, JOB_PROFILES);
  if (!spec.ok) return spec;
  const profile = formatProfileSpec(spec.value);
  const label = req.label ?? '';
  if (!/^[A-Za-z0-9._-]{0,64}$/.test(label)) return { ok: false, error: `label: up to 64 letters, digits and . _ -; got ${JSON.stringify(label.slice(0, 80))}` };
  return { ok: true, value: { platform: platform === 'any' ? '' : platform, profile, label } };
}
