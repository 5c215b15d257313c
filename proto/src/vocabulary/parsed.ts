// The result of parsing untrusted text: a typed value, or one line saying what was wrong.

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** Quotes what was given for an error message, cut short so a huge input cannot flood a log. */
export function quoted(text: string, max = 80): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}
