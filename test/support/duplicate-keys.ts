/**
 * The keys that occur twice in one object of a JSON text, as `path.key`. JSON.parse keeps the
 * last of two equal keys without a word (so a log line with two `level`s reads as the second),
 * which is why this scans the text itself. Throws on text that is not JSON.
 */
export function duplicateKeys(text: string): string[] {
  let i = 0;
  const found: string[] = [];
  const ws = () => { while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++; };
  const fail = (what: string): never => { throw new Error(`not JSON at ${i}: ${what}`); };
  const str = (): string => {
    if (text[i] !== '"') fail('expected a string');
    const start = i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (text[i++] !== '"') fail('unterminated string');
    return JSON.parse(text.slice(start, i)) as string;
  };
  const val = (path: string): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const seen = new Set<string>();
      ws();
      if (text[i] === '}') { i++; return; }
      for (;;) {
        ws();
        const k = str();
        if (seen.has(k)) found.push(path ? `${path}.${k}` : k);
        seen.add(k);
        ws();
        if (text[i++] !== ':') fail('expected :');
        val(path ? `${path}.${k}` : k);
        ws();
        const d = text[i++];
        if (d === '}') return;
        if (d !== ',') fail('expected , or }');
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') { i++; return; }
      for (let n = 0; ; n++) {
        val(`${path}[${n}]`);
        ws();
        const d = text[i++];
        if (d === ']') return;
        if (d !== ',') fail('expected , or ]');
      }
    }
    if (c === '"') { str(); return; }
    const m = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 64));
    if (!m) fail('unexpected token');
    i += m![0].length;
  };
  val('');
  ws();
  if (i !== text.length) fail('trailing text');
  return found;
}
