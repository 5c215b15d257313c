// Agent, run, sample and job ids.
import { ID_PATTERN } from '../limits';
import { quoted, type Parsed } from './parsed';

export function parseId(text: string): Parsed<string> {
  if (!ID_PATTERN.test(text))
    return { ok: false, error: `expected 1 to 128 letters, digits and . _ : - (starting with a letter or digit), got ${quoted(text)}` };
  return { ok: true, value: text };
}
