// A job request from gRPC, HTTP or the CLI, checked once, by the protocol's rules.
import { formatProfileSpec, isPlatform, parseLabel, parseProfileSpec, PLATFORMS, PROFILE_NAMES, quoted } from '@guestbench/proto';

export type ParsedJob = { ok: true; value: { platform: string; profile: string; label: string } } | { ok: false; error: string };

export function parseJobRequest(req: { platform?: string; profile?: string; label?: string }): ParsedJob {
  const platform = req.platform ?? '';
  if (platform !== '' && platform !== 'any' && !isPlatform(platform)) {
    return { ok: false, error: `platform: expected any or one of ${PLATFORMS.join(', ')}, got ${quoted(platform, 40)}` };
  }
  // A profile the agent ships (a job naming another would fail in every guest), optionally
  // narrowed: "quick only=cpu skip=cpu.math set=disk.seq_read.fileMiB=64". Benchmark ids and
  // setting values are the agent's to check: it refuses a job it cannot run.
  const spec = parseProfileSpec(req.profile === undefined || req.profile === '' ? 'quick' : req.profile, PROFILE_NAMES);
  if (!spec.ok) return spec;
  const profile = formatProfileSpec(spec.value);
  const label = req.label ?? '';
  if (label !== '') {
    const parsed = parseLabel(label);
    if (!parsed.ok) return { ok: false, error: `label: ${parsed.error}` };
  }
  return { ok: true, value: { platform: platform === 'any' ? '' : platform, profile, label } };
}
