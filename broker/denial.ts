/**
 * A refused intent as a value: the rule that refused it, a sentence for the trader and the
 * figures behind it (`limit`, `actual`, ...). Every part of the order path answers with this one
 * shape (broker/decide.ts lists the rules in the order they are judged), never with an exception.
 */
export type Figures = Record<string, number | string>;

export type Denial<R extends string = string> = { ok: false; rule: R; reason: string; figures?: Figures };

/** A rule's answer: go on, or the denial. */
export type Verdict<R extends string = string> = { ok: true } | Denial<R>;

/** The kill level and the risk limits always show their figures. */
export type FiguredVerdict<R extends string> = { ok: true } | (Denial<R> & { figures: Figures });

export function deny<R extends string>(rule: R, reason: string, figures?: Figures): Denial<R> {
  return { ok: false, rule, reason, ...(figures ? { figures } : {}) };
}
