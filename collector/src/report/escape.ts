// Escaping for every format a report is written in. Hostnames, labels, CPU models, evidence
// and errors come from guests, so none of it is trusted: each string passes through one of
// these on its way out.

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** For HTML (and inline SVG) text and quoted attribute values alike. */
export function escapeHtml(value: string): string {
  // Control characters other than tab and newline have no place in a page; show them as U+FFFD.
  // eslint-disable-next-line no-control-regex
  return value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '\uFFFD');
}

/** For a Markdown table cell: no line breaks; what Markdown or HTML would read inside a cell is backslash-escaped. */
export function escapeMarkdown(value: string): string {
  return (
    value
      .replace(/[\r\n\t]+/g, ' ')
      .replace(/[\\`*_[\]|<>~&]/g, (c) => `\\${c}`)
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u001f\u007f]/g, '\uFFFD')
  );
}

/**
 * For one CSV field (RFC 4180). Text that a spreadsheet would run as a formula (=, +, -, @,
 * tab, CR first) gets a leading apostrophe; numbers are written by the caller as numbers.
 */
export function csvField(value: string | number | boolean | undefined): string {
  if (value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** Shortens to `max` characters with an ellipsis (before escaping: escaping may lengthen). */
export function truncate(value: string, max: number): string {
  const chars = [...value];
  return chars.length <= max ? value : `${chars.slice(0, max - 1).join('')}…`;
}
