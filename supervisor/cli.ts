import { SecretsFileError } from './secrets.ts';
import { ConfigError } from './config.ts';
import { start, sim } from './commands/start-sim.ts';
import { kill, reset } from './commands/kill.ts';
import { events } from './commands/events.ts';
import { reconcileCmd } from './commands/reconcile.ts';
import { flattenCmd } from './commands/flatten.ts';
import { status } from './commands/status.ts';
import { strategies } from './commands/strategies.ts';
import { reload } from './commands/reload.ts';

/** A command: takes its own arguments, returns the exit code. Register new ones in COMMANDS. */
export type Command = (args: string[]) => Promise<number>;

export const COMMANDS: Record<string, Command> = {
  start,
  sim,
  kill,
  reset,
  flatten: flattenCmd,
  events,
  reconcile: reconcileCmd,
  status,
  strategies,
  reload,
};

const HELP = `orch <command> [options]

Commands:
  start     paper-trade config/strategies.yaml on the built-in exchange (or a real account)
  sim       run the built-in exchange alone and print its URLs and demo credentials as JSON
  kill      raise the kill level: orch kill <1-4> [--strategy ID] --reason "..." [--nats URL] [--state-dir DIR]
  reset     lower it (operator credentials; after 4, restart): orch reset <0-3> [--strategy ID] --reason "..."
  flatten   halt one strategy and close its positions, followed to flat: orch flatten --strategy ID --reason "..."
  events    print the event log: orch events [--strategy ID] [--intent ID] [--since ISO|--last N] [--json]
  reconcile reconcile every venue now and print the differences: orch reconcile [--json]
  status    actors, kill level, venues, limiter headroom, positions, P&L, open orders: orch status [--json]
  strategies the registry as running, with each actor's state: orch strategies [--json]
  reload    validate config/strategies.yaml and the strategy modules, apply what changed: orch reload [--json]
            (status, strategies, reload also take --nats URL, --state-dir DIR, --timeout MS)

Options (start):
  --config FILE      strategy registry (default config/strategies.yaml)
  --nats URL         use this NATS server instead of starting one from nats.conf (env NATS_URL)
  --nats-port N      port of the nats-server it starts (default 4222)
  --metrics-port N   Prometheus /metrics and /healthz port (default 9464)
Options (sim):
  --port N           Kite REST + ticker port (0 = free)       --kalshi-port N   (0 = free)
  --seed N           price path seed
`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
      process.stdout.write(HELP);
      return 0;
    }
    const run = COMMANDS[command];
    if (!run) {
      process.stderr.write(`orch: unknown command "${command}"\n\n${HELP}`);
      return 2;
    }
    return await run(rest);
  } catch (e) {
    if (e instanceof ConfigError || e instanceof SecretsFileError) {
      process.stderr.write(`orch: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`orch: ${(e as Error).message}\n`);
    return 1;
  }
}
