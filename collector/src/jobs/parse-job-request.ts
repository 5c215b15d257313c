// A job request from gRPC, HTTP or the CLI, checked once.
import { PLATFORMS } from '../grpc/parse-messages';

export type ParsedJob = { ok: true; value: { platform: string; profile: string; label: string } } | { ok: false; error: string };

/** Profiles the agent ships; a job naming another would fail in every guest. */
export const JOB_PROFILES = ['smoke', 'quick', 'standard', 'full'] as const;

export function parseJobRequest(req: { platform?: string; profile?: string; label?: string }): ParsedJob {
  const platform = req.platform ?? '';
  if (platform !== '' && platform !== 'any' && !(PLATFORMS as readonly string[]).includes(platform)) {
    return { ok: false, error: `platform: one of any, ${PLATFORMS.join(', ')}; got ${JSON.stringify(platform.slice(0, 40))}` };
  }
  const profile = req.profile === undefined || req.profile === '' ? 'quick' : req.profile;
  if (!(JOB_PROFILES as readonly string[]).includes(profile)) {
    return { ok: false, error: `profile: one of ${JOB_PROFILES.join(', ')}; got ${JSON.stringify(profile.slice(0, 40))}` };
  }
  const label = req.label ?? '';
  if (!/^[A-Za-z0-9._-]{0,64}$/.test(label)) return { ok: false, error: `label: up to 64 letters, digits and . _ -; got ${JSON.stringify(label.slice(0, 80))}` };
  return { ok: true, value: { platform: platform === 'any' ? '' : platform, profile, label } };
}
