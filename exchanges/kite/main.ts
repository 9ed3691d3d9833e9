/**
 * Standalone sim: `node --import tsx exchanges/kite/main.ts [--port 8700] [--seed 1]
 * [--postback-url URL]`. Prints the URLs and the demo credentials (it is a simulator: they
 * unlock nothing real), then serves until SIGINT/SIGTERM. Drive faults with POST /_sim/faults.
 */
import { parseArgs } from 'node:util';
import { startKiteSim } from './index.ts';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    seed: { type: 'string', default: '1' },
    'tick-interval-ms': { type: 'string', default: '500' },
    'postback-url': { type: 'string' },
    'no-rate-limits': { type: 'boolean', default: false },
  },
});

const sim = await startKiteSim({
  host: values.host,
  port: Number(values.port),
  seed: Number(values.seed),
  tickIntervalMs: Number(values['tick-interval-ms']),
  postbackUrl: values['postback-url'],
  enforceRateLimits: !values['no-rate-limits'],
});

process.stdout.write(
  JSON.stringify(
    {
      restUrl: sim.restUrl,
      wsUrl: sim.wsUrl,
      loginUrl: sim.loginUrl,
      credentials: sim.credentials,
      accessToken: sim.issueAccessToken(),
    },
    null,
    2,
  ) + '\n',
);

const stop = () => void sim.close().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
