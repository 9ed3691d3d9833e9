import type { Logger } from 'pino';

/** How long one stop step may take before the next one runs anyway. */
export const STOP_STEP_MS = 5_000;

/**
 * What a start undoes, in reverse order of starting. Each step is bounded: with NATS already
 * gone (a terminal's Ctrl-C reaches every process of the group) a drain or a log flush would
 * otherwise wait forever and the process never exits. A failing step is logged and the next
 * one runs. Real timers on purpose: a stop must end whatever a test clock does.
 */
export class Teardown {
  private readonly steps: (() => Promise<void> | void)[] = [];

  constructor(private readonly log: Logger, private readonly stepMs = STOP_STEP_MS) {}

  push(step: () => Promise<void> | void): void {
    this.steps.push(step);
  }

  /** Runs every step pushed so far, last first; a second run runs only what was pushed since. */
  async run(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<'late'>((r) => { timer = setTimeout(() => r('late'), this.stepMs); });
      const done = (async () => step())().then(() => 'done' as const, (err: unknown) => {
        this.log.warn({ err }, 'shutdown step failed');
        return 'done' as const;
      });
      const r = await Promise.race([done, late]);
      clearTimeout(timer);
      if (r === 'late') this.log.warn({ ms: this.stepMs }, 'shutdown step did not finish in time; going on');
    }
  }
}
