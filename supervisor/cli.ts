import { SupervisorError } from './errors.ts';

/** A command: takes its own arguments, returns the exit code. Register new ones in COMMANDS. */
export type Command = (args: string[]) => Promise<number>;

/*
 * Each command's module is loaded when it runs, not before: under the TypeScript loader every
 * module costs its compile and load, so `orch kill` in an emergency, or any --help, loads what
 * it needs and not the whole system (docs/testing.md, "Where the time goes").
 */
export const COMMANDS: Record<string, Command> = {
  start: async (args) => (await import('./commands/start-sim.ts')).start(args),
  sim: async (args) => (await import('./commands/start-sim.ts')).sim(args),
  kill: async (args) => (await import('./commands/kill.ts')).kill(args),
  reset: async (args) => (await import('./commands/kill.ts')).reset(args),
  flatten: async (args) => (await import('./commands/flatten.ts')).flattenCmd(args),
  events: async (args) => (await import('./commands/events.ts')).events(args),
  reconcile: async (args) => (await import('./commands/reconcile.ts')).reconcileCmd(args),
  status: async (args) => (await import('./commands/status.ts')).status(args),
  strategies: async (args) => (await import('./commands/strategies.ts')).strategies(args),
  reload: async (args) => (await import('./commands/reload.ts')).reload(args),
  login: async (args) => (await import('./commands/login.ts')).loginKite(args, process.env),
  data: async (args) => (await import('./commands/data.ts')).dataCmd(args, process.env),
  'nats-users': async (args) => (await import('./commands/nats-users.ts')).natsUsers(args, process.env),
  backtest: async (args) => (await import('./commands/backtest.ts')).backtest(args),
};

const CONNECT = '  --nats URL         the NATS server of the running orchestrator (env NATS_URL; default nats://127.0.0.1:4222)\n  --state-dir DIR    its state directory, for the operator credentials (default ./.orch)\n';
const OPS = `${CONNECT}  --timeout MS       how long to wait for an answer\n  --json             one JSON object instead of tables\n`;

/** Each command's own help (`orch <command> --help`, exit 0); the two kept beside their command load it. */
export const COMMAND_HELP: Record<string, string | (() => Promise<string>)> = {
  data: async () => (await import('./commands/data.ts')).DATA_HELP,
  backtest: async () => (await import('./commands/backtest.ts')).BACKTEST_HELP,
  login: `orch login kite [options]: Kite's official login. Prints the login URL (KITE_LOGIN_ROOT, default
https://kite.zerodha.com), catches the request_token on http://127.0.0.1:PORT/ (register it as
the app's redirect URL), exchanges it with KITE_API_KEY/KITE_API_SECRET at KITE_API_ROOT and
writes the token 0600 to <state-dir>/kite-token.json, which \`orch start\` trades on with only
KITE_API_KEY and KITE_API_SECRET set. The token dies at 06:00 IST: log in again each day after
06:00 and before the 09:15 open (a running orch start picks the new token up by itself).

  --port N           redirect listener port (env KITE_REDIRECT_PORT; default 5000)
  --state-dir DIR    where to store the token (default ./.orch)
`,
  start: `orch start [options]: run the broker and the strategies of the registry (paper trading on the
built-in exchanges unless KITE_* / KALSHI_* credentials are set). Ctrl-C stops it.

  --config FILE            strategy registry (default config/strategies.yaml)
  --nats URL[,URL...]      use this NATS server (a cluster: every node's URL) instead of starting one
                           from nats.conf (env NATS_URL); users from ORCH_NATS_<ROLE>_PASSWORD or
                           .orch/nats/passwords.json (orch nats-users), TLS CA from env ORCH_NATS_CA
  --role all|broker|strategies  all (default): the broker, and the strategies in a process of their own
                           under Node's permission model with no secret; broker: the broker alone;
                           strategies: a supervisor and its strategies against --nats (docs/deploy.md)
  --group NAME             with --role strategies: only the registry's strategies of this placement group
  --strategies-metrics-port N  with --role all: the strategies process's /metrics port (default 9465)
  --strategies-in-broker-process  LESS SAFE, with --role all: run the strategies' workers in the broker's own
                           process, where a strategy can read the Kite token, the NATS passwords and the .env
                           (for a strategy that needs a native addon or a child process; docs/deploy.md)
  --nats-port N            port of the nats-server it starts (default 4222)
  --nats-replicas N        copies of the event log and the kill/lease buckets: 1 on one server (default), 3 on a cluster (env ORCH_NATS_REPLICAS)
  --lease-ttl MS           broker lease TTL: a standby takes over this long after the active broker's last
                           renewal (env ORCH_LEASE_TTL_MS; default 10000, at least 1000)
  --metrics-port N         Prometheus /metrics and /healthz port (default 9464; --role strategies: 9465, its
                           supervisor's and its own strategies' series)
  --metrics-host ADDR      address they listen on (env ORCH_METRICS_HOST; default 127.0.0.1; 0.0.0.0 in a container)
  --log-format json|pretty readable lines or JSON (env ORCH_LOG_FORMAT; default: pretty on a terminal, JSON otherwise)
  --summary-interval MS    how often the summary line is logged (default 5000 on a terminal, 60000 otherwise; 0 = never)
`,
  'nats-users': `orch nats-users [options]: write the NATS users and permissions of every role and of every
strategy in the registry, for the nodes of a NATS cluster (docs/deploy.md, "Several hosts"):
<state-dir>/nats/authorization.conf (copy it next to cluster.conf on every node) and
<state-dir>/nats/passwords.json (generated once; ORCH_NATS_<ROLE>_PASSWORD overrides). Both 0600.
Prints the files and user names as one JSON line.

  --config FILE      strategy registry (default config/strategies.yaml)
  --state-dir DIR    where to write them (default ./.orch)
`,
  sim: `orch sim [options]: run the built-in Kite and Kalshi exchanges alone and print their URLs and
demo credentials as one JSON line.

  --port N           Kite REST + ticker port (0 = free)
  --kalshi-port N    Kalshi REST + WebSocket port (0 = free)
  --seed N           price path seed (default 42)
  --key-dir DIR      where the Kalshi demo key is written (default .orch/sim)
`,
  kill: `orch kill <1-4> [--strategy ID] --reason "...": raise the latched kill level.
  1 STRATEGY HALT (needs --strategy), 2 REDUCE ONLY, 3 HALT ALL, 4 FLATTEN (restart needed after).

  --strategy ID      the strategy to halt (level 1); it must be in the running registry
  --reason TEXT      kept in the audit trail (required)
  --operator NAME    who (default $USER)
${CONNECT}`,
  reset: `orch reset <0-3> [--strategy ID] --reason "...": lower the latched kill level (operator credentials).

  --strategy ID      the strategy whose halt is lifted (reset to 0)
  --reason TEXT      kept in the audit trail (required)
  --operator NAME    who (default $USER)
${CONNECT}`,
  flatten: `orch flatten --strategy ID --reason "...": halt one strategy (kill level 1) and close its
positions, followed until flat.

  --strategy ID      the strategy to flatten (required; a global flatten is orch kill 4)
  --reason TEXT      kept in the audit trail (required)
  --operator NAME    who (default $USER)
${OPS}`,
  events: `orch events [options]: print the event log (ORCH_EVENTS).

  --strategy ID      one strategy's events (it must be in the running registry or the log)
  --intent ID        one order's events
  --since WHEN       from a time: 5m, 1h, 2d or an ISO date/time
  --last N           only the last N events
  --follow, -f       keep printing new events as they are logged, until Ctrl-C
  --json             one JSON object per line

orch events export --before DATE --out FILE: archive every event stored before DATE (ISO) as
JSON lines into a new file (mode 0600); nothing is removed from the log (docs/event-log.md).
${CONNECT}`,
  reconcile: `orch reconcile [options]: reconcile every venue now and print the differences.
Exit 0 when every venue is ok or resolved, 3 on a mismatch or error.

  --accept-external  record unexplained net positions as held outside the strategies
${OPS}`,
  status: `orch status [options]: actors, kill level, venues, limiter headroom, positions, P&L and open orders.

${OPS}`,
  strategies: `orch strategies [options]: the registry as running, with each actor's state.

${OPS}`,
  reload: `orch reload [options]: validate the registry and the strategy modules, apply what changed.

${OPS}`,
};

const HELP = `orch <command> [options]   (orch <command> --help for its options)

Commands:
  start     paper-trade config/strategies.yaml on the built-in exchange (or a real account)
  sim       run the built-in exchange alone and print its URLs and demo credentials as JSON
  kill      raise the kill level: orch kill <1-4> [--strategy ID] --reason "..."
  reset     lower it (operator credentials; after 4, restart): orch reset <0-3> [--strategy ID] --reason "..."
  flatten   halt one strategy and close its positions, followed to flat: orch flatten --strategy ID --reason "..."
  events    print the event log: orch events [--strategy ID] [--intent ID] [--since 5m|1h|ISO|--last N] [--follow] [--json]
  reconcile reconcile every venue now and print the differences: orch reconcile [--json]
  status    actors, kill level, venues, limiter headroom, positions, P&L, open orders: orch status [--json]
  strategies the registry as running, with each actor's state: orch strategies [--json]
  login     Kite's official login, token stored for orch start: orch login kite [--port N]
  data      fill the local candle store for backtests: orch data kite --instrument NSE:INFY --from … --to … | import --csv FILE … | ls
  nats-users write the NATS users of every role and strategy for a cluster's nodes: orch nats-users [--config FILE]
  reload    validate config/strategies.yaml and the strategy modules, apply what changed: orch reload [--json]
  backtest  run the registry's strategies on stored data: orch backtest --data DIR --from DATE --to DATE [--speed max|N] [--seed N]
`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
      process.stdout.write(HELP);
      return 0;
    }
    const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
    if (!run) {
      process.stderr.write(`orch: unknown command "${command}"\n\n${HELP}`);
      return 2;
    }
    // Before the command parses anything: `orch start --help` must not start anything.
    if (rest.includes('--help') || rest.includes('-h')) {
      const help = COMMAND_HELP[command] ?? HELP;
      process.stdout.write(typeof help === 'string' ? help : await help());
      return 0;
    }
    return await run(rest);
  } catch (e) {
    if (e instanceof SupervisorError) {
      process.stderr.write(`orch: ${e.message}\n`);
      return e.exitCode;
    }
    process.stderr.write(`orch: ${(e as Error).message}\n`);
    return 1;
  }
}
