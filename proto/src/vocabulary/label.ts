// Labels and groups: a run's label names its group beside its platform ("kvm/virtio-scsi").
import { LABEL_PATTERN } from '../limits';
import { quoted, type Parsed } from './parsed';

/**
 * Parses a label an operator gives: 1 to 64 letters, digits and . _ - = (no spaces; no
 * slash, which separates platform and label in a group's name; no comma, which separates
 * groups in a query). The protocol also allows the empty label, which means "no label".
 */
export function parseLabel(text: string): Parsed<string> {
  if (text === '' || !LABEL_PATTERN.test(text)) {
    return { ok: false, error: `expected 1 to 64 letters, digits and . _ - = (no spaces, slashes or commas), got ${quoted(text)}` };
  }
  return { ok: true, value: text };
}

/** A group of runs is one platform and one label: "kvm", "kvm/virtio-scsi". */
export function groupKey(platform: string, label: string): string {
  return label === '' ? platform : `${platform}/${label}`;
}

/** Splits a group's name back into platform and label (the label may itself hold slashes). */
export function splitGroupKey(key: string): { platform: string; label: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { platform: key, label: '' } : { platform: key.slice(0, slash), label: key.slice(slash + 1) };
}

const GROUP_PATTERN = /^[a-z][a-z0-9_-]{0,31}(\/[A-Za-z0-9._=-]{1,64})?$/;

/** Parses a group's name as a query gives it: "platform" or "platform/label". */
export function parseGroupKey(text: string): Parsed<string> {
  if (!GROUP_PATTERN.test(text)) return { ok: false, error: `expected "platform" or "platform/label" (e.g. "native" or "kvm/virtio"), got ${quoted(text)}` };
  return { ok: true, value: text };
}
