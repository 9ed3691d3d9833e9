/**
 * The sim's own control surface under /_sim, so a standalone sim (another process) can be
 * driven by tests and operators. JSON in, Kite-style envelopes out.
 */
import { z } from 'zod';
import type { SimContext } from './context.ts';
import { inputError } from './errors.ts';
import { ok, validate, type Router } from './http-kit.ts';

const FaultCommand = z.discriminatedUnion('fault', [
  z.object({ fault: z.literal('dropSockets') }),
  z.object({ fault: z.literal('stallSockets'), ms: z.number().int().positive() }),
  z.object({ fault: z.literal('refuseSockets'), on: z.boolean() }),
  z.object({
    fault: z.literal('failNext'),
    n: z.number().int().positive(),
    status: z.number().int().min(400).max(599).optional(),
    errorType: z.string().min(1).optional(),
    message: z.string().min(1).optional(),
  }),
  z.object({ fault: z.literal('rateLimitStorm'), ms: z.number().int().positive() }),
  z.object({ fault: z.literal('acceptThenTimeout'), n: z.number().int().positive() }),
  z.object({ fault: z.literal('rejectNext'), n: z.number().int().positive(), reason: z.string().min(1).optional() }),
  z.object({ fault: z.literal('marginExceptionNext'), n: z.number().int().positive() }),
  z.object({ fault: z.literal('thinBook'), units: z.number().int().nonnegative().nullable() }),
  z.object({ fault: z.literal('forgetSessions') }),
  z.object({ fault: z.literal('reset') }),
]);
export type FaultCommand = z.infer<typeof FaultCommand>;

const PriceBody = z.object({ instrument_token: z.number().int().positive(), price: z.number().positive() });

export function addSimRoutes(r: Router, ctx: SimContext): void {
  const sim = { kind: 'sim', rate: 'other' } as const;

  r.add('POST', '/_sim/faults', sim, (req) => {
    const cmd = validate(FaultCommand, req.body);
    const f = ctx.faults;
    switch (cmd.fault) {
      case 'dropSockets': f.dropSockets(); break;
      case 'stallSockets': f.stallSockets(cmd.ms); break;
      case 'refuseSockets': f.refuseSockets(cmd.on); break;
      case 'failNext': {
        const { status, errorType, message } = cmd;
        f.failNext(cmd.n, { ...(status && { status }), ...(errorType && { errorType }), ...(message && { message }) });
        break;
      }
      case 'rateLimitStorm': f.rateLimitStorm(cmd.ms); break;
      case 'acceptThenTimeout': f.acceptThenTimeout(cmd.n); break;
      case 'rejectNext': f.rejectNext(cmd.n, cmd.reason); break;
      case 'marginExceptionNext': f.marginExceptionNext(cmd.n); break;
      case 'thinBook': f.thinBook(cmd.units ?? undefined); break;
      case 'forgetSessions': ctx.sessions.forgetAll(); break;
      case 'reset': f.reset(); break;
    }
    return ok(true);
  });

  r.add('POST', '/_sim/price', sim, (req) => {
    const b = validate(PriceBody, req.body);
    if (!ctx.index.token(b.instrument_token)) throw inputError('Invalid `instrument_token`.');
    ctx.market.setPrice(b.instrument_token, Math.round(b.price * 100), ctx.clock.now());
    ctx.priceMoved(b.instrument_token);
    return ok(true);
  });

  r.add('GET', '/_sim/orders', sim, () => ok(ctx.engine.list()));

  /** Paper trading without the browser login: same token the login flow would yield. */
  r.add('POST', '/_sim/access_token', sim, () => ok({ access_token: ctx.sessions.issue().accessToken, api_key: ctx.creds.apiKey }));
}
