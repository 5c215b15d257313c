// A job request from gRPC, HTTP or the CLI, checked once, by the protocol's rules.
import { isPlatform, parseLabel, parseProfileName, PLATFORMS, quoted } from '@guestbench/proto';

export type ParsedJob = { ok: true; value: { platform: string; profile: string; label: string } } | { ok: false; error: string };

export function parseJobRequest(req: { platform?: string; profile?: string; label?: string }): ParsedJob {
  const platform = req.platform ?? '';
  if (platform !== '' && platform !== 'any' && !isPlatform(platform)) {
    return { ok: false, error: `platform: expected any or one of ${PLATFORMS.join(', ')}, got ${quoted(platform, 40)}` };
  }
  // Only profiles the agent ships: a job naming another would fail in every guest.
  const profile = parseProfileName(req.profile === undefined || req.profile === '' ? 'quick' : req.profile);
  if (!profile.ok) return { ok: false, error: `profile: ${profile.error}` };
  const label = req.label ?? '';
  if (label !== '') {
    const parsed = parseLabel(label);
    if (!parsed.ok) return { ok: false, error: `label: ${parsed.error}` };
  }
  return { ok: true, value: { platform: platform === 'any' ? '' : platform, profile: profile.value, label } };
}
