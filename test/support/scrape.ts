/** One sample of a Prometheus text exposition: `name{labels} value`. */
export type Sample = { name: string; labels: Record<string, string>; value: string; series: string };

/** The samples of a `/metrics` body (comments skipped; label values as written, unescaped enough for ours). */
export function parseExposition(body: string): Sample[] {
  const out: Sample[] = [];
  for (const line of body.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: m[3]!, series: `${m[1]}${m[2] ?? ''}` });
  }
  return out;
}

/** The metric a sample belongs to (a histogram's `_bucket`, `_sum`, `_count` folded to its name). */
export function metricOf(s: Sample, known: readonly string[]): string {
  return known.includes(s.name) ? s.name : s.name.replace(/_(bucket|sum|count)$/, '');
}

export async function scrape(url: string): Promise<Sample[]> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return parseExposition(await res.text());
}
