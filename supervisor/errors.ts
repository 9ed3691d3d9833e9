/**
 * The supervisor's errors, in one table (in the style of VenueError's, broker/venue-errors.ts):
 * what each code means for the operator, and the exit code `orch` ends with when one reaches
 * the command line. Every class is a SupervisorError with a `code` from the table, defined next
 * to the code that throws it. Exit 2 = the input was refused (fix the file or the command);
 * exit 1 = the system could not do it now.
 */
export type SupervisorErrorPolicy = {
  exitCode: 1 | 2;
  /** Running the same command again later can succeed without the input changing. */
  retryable: boolean;
};

export const SUPERVISOR_ERROR_POLICY = Object.freeze({
  /** The registry (or another YAML file) is invalid: file, line and field are named. */
  config_invalid: { exitCode: 2, retryable: false },
  /** A `.env` readable by others, or a line that is not KEY=VALUE. */
  secrets_file: { exitCode: 2, retryable: false },
  /** NATS users could not be set up (a password that nats.conf cannot carry, an unknown role). */
  nats_auth: { exitCode: 1, retryable: false },
  /** Another orch holds the state directory. */
  instance_locked: { exitCode: 1, retryable: true },
  /** A port to bind is taken. */
  port_in_use: { exitCode: 1, retryable: true },
  /** Two settings chose the same port. */
  port_clash: { exitCode: 1, retryable: false },
  /** The Kalshi account's environment is incomplete or wrong. */
  kalshi_env: { exitCode: 1, retryable: false },
  /** `orch kill` / `orch reset` refused its arguments or could not reach the kill level. */
  kill_command: { exitCode: 1, retryable: false },
  /** A command's arguments (or what they name) were refused: the usage is printed. */
  usage: { exitCode: 2, retryable: false },
  /** A folder the permission-restricted strategies process would read holds a secret (docs/deploy.md). */
  secret_in_reach: { exitCode: 2, retryable: false },
  /** The running orchestrator's services did not answer. */
  not_answering: { exitCode: 1, retryable: true },
} satisfies Record<string, SupervisorErrorPolicy>);
export type SupervisorErrorCode = keyof typeof SUPERVISOR_ERROR_POLICY;

export class SupervisorError extends Error {
  constructor(
    readonly code: SupervisorErrorCode,
    message: string,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'SupervisorError';
  }
  get policy(): SupervisorErrorPolicy {
    return SUPERVISOR_ERROR_POLICY[this.code];
  }
  get exitCode(): 1 | 2 {
    return this.policy.exitCode;
  }
  get retryable(): boolean {
    return this.policy.retryable;
  }
}
