// The platforms a run can belong to: what the agent detects or is told, what the collector
// stores and groups by, and what jobs and tokens may name.
import { quoted, type Parsed } from './parsed';

export type Platform = 'native' | 'kvm' | 'qemu' | 'vmware' | 'xen' | 'hyperv' | 'other';

/** Every platform, in the order reports list them. */
export const PLATFORMS: readonly Platform[] = ['native', 'kvm', 'qemu', 'vmware', 'xen', 'hyperv', 'other'];

export function isPlatform(s: string): s is Platform {
  return (PLATFORMS as readonly string[]).includes(s);
}

/**
 * Parses a platform name. With `allowAuto`, "auto" (detect it) is accepted too, the way an
 * operator declares a platform to the agent.
 */
export function parsePlatform(text: string, options: { readonly allowAuto?: boolean } = {}): Parsed<Platform | 'auto'> {
  if (isPlatform(text)) return { ok: true, value: text };
  if (options.allowAuto === true && text === 'auto') return { ok: true, value: 'auto' };
  return { ok: false, error: `expected ${options.allowAuto === true ? 'auto or ' : ''}one of ${PLATFORMS.join(', ')}, got ${quoted(text, 40)}` };
}
