/** How much market data an instrument is subscribed with (Kite's ticker modes; Kalshi ignores it). */
export const TICK_MODES = ['ltp', 'quote', 'full'] as const;
export type TickMode = (typeof TICK_MODES)[number];
