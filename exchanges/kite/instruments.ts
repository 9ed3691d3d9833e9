/**
 * The sim's instrument master. Tokens are the real Kite instrument tokens so code and configs
 * written against the sim keep working against the venue (token = exchange_token << 8 | segment;
 * segment ids: 1 NSE, 2 NFO, 4 BSE, 9 indices).
 */
export type SimInstrument = {
  instrumentToken: number;
  exchangeToken: number;
  tradingsymbol: string;
  name: string;
  exchange: 'NSE' | 'BSE' | 'NFO';
  /** CSV `segment` column: NSE, BSE, INDICES or NFO-FUT. */
  segment: string;
  instrumentType: 'EQ' | 'FUT';
  /** Rupees, as in the CSV. Indices list 0. Orders must be priced on this grid. */
  tickSize: number;
  /** Units per lot; an order's quantity must be whole lots. 1 for equities, 0 for indices. */
  lotSize: number;
  /** CSV `expiry`, YYYY-MM-DD; null for what does not expire. */
  expiry: string | null;
  /** false for indices: no orders, 28/32-byte ticker packets. */
  tradable: boolean;
  isin: string | null;
  /** Previous session's close in paise; the price path starts here. */
  closePaise: number;
};

export const isDerivative = (i: SimInstrument): boolean => i.instrumentType === 'FUT';

/** The instrument's price grid in paise. Indices list no tick; their path moves in 5 paise. */
export const tickPaiseOf = (i: SimInstrument): number => Math.round(i.tickSize * 100) || 5;

type Row = [token: number, symbol: string, name: string, exchange: 'NSE' | 'BSE', closeRupees: number, isin: string | null];

const EQUITIES: Row[] = [
  [408065, 'INFY', 'INFOSYS', 'NSE', 1542.35, 'INE009A01021'],
  [738561, 'RELIANCE', 'RELIANCE INDUSTRIES', 'NSE', 1418.6, 'INE002A01018'],
  [2953217, 'TCS', 'TATA CONSULTANCY SERV LT', 'NSE', 3412.9, 'INE467B01029'],
  [341249, 'HDFCBANK', 'HDFC BANK', 'NSE', 1687.45, 'INE040A01034'],
  [779521, 'SBIN', 'STATE BANK OF INDIA', 'NSE', 812.15, 'INE062A01020'],
  [1270529, 'ICICIBANK', 'ICICI BANK', 'NSE', 1254.8, 'INE090A01021'],
  [424961, 'ITC', 'ITC', 'NSE', 431.25, 'INE154A01025'],
];

/**
 * NSE index futures. NIFTY: lot 65 (NSE cut it from 75 for contracts expiring after
 * 2025-12-30), tick 0.10, monthly expiry on the last Tuesday of the month (NSE moved index
 * expiries to Tuesday in September 2025). The exchange token is NSE's contract token as a
 * third-party scrip master lists it for NIFTY26DECFUT, not checked against Kite's own dump.
 * The close sits a month's carry above the index's.
 */
type FutRow = [exchangeToken: number, symbol: string, name: string, closeRupees: number, expiry: string, lotSize: number, tickSize: number];
const NFO_FUTURES: FutRow[] = [
  [113063, 'NIFTY26DECFUT', 'NIFTY', 24425.0, '2026-12-29', 65, 0.1],
];
const NFO_SEGMENT_ID = 2;

const INDICES: Row[] = [
  [256265, 'NIFTY 50', 'NIFTY 50', 'NSE', 24321.5, null],
  [260105, 'NIFTY BANK', 'NIFTY BANK', 'NSE', 51834.2, null],
  [265, 'SENSEX', 'SENSEX', 'BSE', 79806.95, null],
];

export function defaultInstruments(): SimInstrument[] {
  const eq = EQUITIES.map(([token, symbol, name, exchange, close, isin]) => ({
    instrumentToken: token,
    exchangeToken: token >> 8,
    tradingsymbol: symbol,
    name,
    exchange,
    segment: exchange,
    instrumentType: 'EQ' as const,
    tickSize: 0.05,
    lotSize: 1,
    expiry: null,
    tradable: true,
    isin,
    closePaise: Math.round(close * 100),
  }));
  const idx = INDICES.map(([token, symbol, name, exchange, close]) => ({
    instrumentToken: token,
    exchangeToken: token >> 8,
    tradingsymbol: symbol,
    name,
    exchange,
    segment: 'INDICES',
    instrumentType: 'EQ' as const,
    tickSize: 0,
    lotSize: 0,
    expiry: null,
    tradable: false,
    isin: null,
    closePaise: Math.round(close * 100),
  }));
  const fut = NFO_FUTURES.map(([exchangeToken, symbol, name, close, expiry, lotSize, tickSize]) => ({
    instrumentToken: (exchangeToken << 8) | NFO_SEGMENT_ID,
    exchangeToken,
    tradingsymbol: symbol,
    name,
    exchange: 'NFO' as const,
    segment: 'NFO-FUT',
    instrumentType: 'FUT' as const,
    tickSize,
    lotSize,
    expiry,
    tradable: true,
    isin: null,
    closePaise: Math.round(close * 100),
  }));
  // Appended last: the cash market keeps its place (and its seeded path) in the list.
  return [...eq, ...idx, ...fut];
}

export const INSTRUMENTS_CSV_HEADER =
  'instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,tick_size,lot_size,instrument_type,segment,exchange';

/**
 * The dump as Kite serves it. No trailing newline: the official JS client parses with papaparse
 * `header: true`, which would turn a final empty line into a bogus row.
 */
export function instrumentsCsv(list: SimInstrument[], exchange?: string): string {
  const rows = list
    .filter((i) => !exchange || i.exchange === exchange)
    .map((i) =>
      [i.instrumentToken, i.exchangeToken, i.tradingsymbol, i.name, 0, i.expiry ?? '', 0, i.tickSize, i.lotSize, i.instrumentType, i.segment, i.exchange].join(','),
    );
  return [INSTRUMENTS_CSV_HEADER, ...rows].join('\n');
}

export class InstrumentIndex {
  private readonly byToken = new Map<number, SimInstrument>();
  private readonly byKey = new Map<string, SimInstrument>();
  constructor(readonly list: SimInstrument[]) {
    for (const i of list) {
      this.byToken.set(i.instrumentToken, i);
      this.byKey.set(`${i.exchange}:${i.tradingsymbol}`, i);
    }
  }
  token(t: number): SimInstrument | undefined {
    return this.byToken.get(t);
  }
  /** "NSE:INFY", or a bare instrument token as the quote API also accepts. */
  key(k: string): SimInstrument | undefined {
    if (/^\d+$/.test(k)) return this.byToken.get(Number(k));
    return this.byKey.get(k);
  }
  symbol(exchange: string, tradingsymbol: string): SimInstrument | undefined {
    return this.byKey.get(`${exchange}:${tradingsymbol}`);
  }
}
