// JSON.parse keeps the last of two equal keys without a word; log readers (jq included) do
// the same, so a line with a key twice can say what its writer never meant. This finds them.

/** The first key that appears twice in one object of `text` (as "path.key"), or undefined. Throws on invalid JSON. */
export function duplicateKey(text: string): string | undefined {
  let i = 0;
  let found: string | undefined;
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  const fail = (): never => {
    throw new Error(`invalid JSON at ${i}: ${text.slice(Math.max(0, i - 20), i + 20)}`);
  };
  const str = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) fail();
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (path: string): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const keys = new Set<string>();
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        const key = str();
        if (keys.has(key) && found === undefined) found = `${path}${key}`;
        keys.add(key);
        ws();
        if (text[i] !== ':') fail();
        i++;
        value(`${path}${key}.`);
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return;
        } else fail();
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value(path);
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          return;
        } else fail();
      }
    } else if (c === '"') {
      str();
    } else {
      const m = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400));
      if (m === null) fail();
      i += (m as RegExpExecArray)[0].length;
    }
  };
  JSON.parse(text);
  value('');
  return found;
}
