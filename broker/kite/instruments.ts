/**
 * The daily instruments dump (GET /instruments[/:exchange]) is CSV with a fixed header
 * (docs/venues/kite.md, "REST shapes"). Names can contain commas, so fields may be quoted (RFC 4180).
 */

export type KiteInstrument = {
  instrument_token: number;
  exchange_token: number;
  tradingsymbol: string;
  name: string;
  last_price: number;
  /** YYYY-MM-DD, or null for instruments that do not expire. */
  expiry: string | null;
  strike: number;
  tick_size: number;
  lot_size: number;
  instrument_type: string;
  segment: string;
  exchange: string;
};

export const INSTRUMENT_HEADER = [
  'instrument_token', 'exchange_token', 'tradingsymbol', 'name', 'last_price', 'expiry',
  'strike', 'tick_size', 'lot_size', 'instrument_type', 'segment', 'exchange',
] as const;

export function parseCsvRows(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0] === ''));
}

export function parseInstrumentsCsv(text: string): KiteInstrument[] {
  const rows = parseCsvRows(text);
  const header = rows.shift();
  if (!header) return [];
  const idx = new Map(header.map((h, i) => [h.trim(), i]));
  const missing = INSTRUMENT_HEADER.filter((h) => !idx.has(h));
  if (missing.length > 0) throw new Error(`instruments CSV lacks columns: ${missing.join(', ')}`);
  const get = (r: string[], h: (typeof INSTRUMENT_HEADER)[number]) => r[idx.get(h)!] ?? '';
  const n = (s: string) => (s === '' ? 0 : Number(s));
  return rows.map((r, line) => {
    const token = n(get(r, 'instrument_token'));
    if (!Number.isSafeInteger(token) || token <= 0) throw new Error(`instruments CSV row ${line + 2}: bad instrument_token`);
    const expiry = get(r, 'expiry');
    return {
      instrument_token: token,
      exchange_token: n(get(r, 'exchange_token')),
      tradingsymbol: get(r, 'tradingsymbol'),
      name: get(r, 'name'),
      last_price: n(get(r, 'last_price')),
      expiry: expiry === '' ? null : expiry,
      strike: n(get(r, 'strike')),
      tick_size: n(get(r, 'tick_size')),
      lot_size: n(get(r, 'lot_size')),
      instrument_type: get(r, 'instrument_type'),
      segment: get(r, 'segment'),
      exchange: get(r, 'exchange'),
    };
  });
}
