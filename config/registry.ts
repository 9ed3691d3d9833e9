import { z } from 'zod';
import { VenueSchema } from '../actors/messages.ts';
import { FlattenSettingsSchema } from './flatten-settings.ts';
import { RecordingSettingsSchema } from './recording.ts';
import { RestartIntensitySchema, type RestartIntensity } from './restart-intensity.ts';
import { RiskLimitsSchema, KillTriggersSchema, MarketProtectionSchema, AUTO_MARKET_PROTECTION } from './risk-limits.ts';
import { isSecretEnvName } from './secret-names.ts';
import { TICK_MODES } from './tick-mode.ts';

/** The registry of strategies, `config/strategies.yaml`. Validated completely before anything starts. */
const ResourceLimitsSchema = z.strictObject({
  maxOldGenerationSizeMb: z.number().int().positive().default(128),
  maxYoungGenerationSizeMb: z.number().int().positive().optional(),
  stackSizeMb: z.number().positive().optional(),
  /**
   * The worker thread's nice value (0-19, Linux): above the supervisor's, broker's and kill
   * relay's 0 so that they get a core first when strategies keep every core busy.
   */
  niceness: z.number().int().min(0).max(19).optional(),
});

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The environment of the strategy's worker thread, and all of it: a list of names copied from
 * the supervisor's environment at launch, or a map of names to values. Nothing else reaches the
 * worker (no venue secret, no NATS password); absent = an empty environment.
 */
export const StrategyEnvSchema = z.union([z.array(z.string()).max(64), z.record(z.string(), z.string().max(4_096))]).superRefine((env, ctx) => {
  const names = Array.isArray(env) ? env.map((n, i) => [n, i] as const) : Object.keys(env).map((n) => [n, n] as const);
  for (const [n, at] of names) {
    if (!ENV_NAME.test(n)) ctx.addIssue({ code: 'custom', path: [at], message: `${JSON.stringify(n)} is not an environment variable name (letters, digits, _)` });
    else if (isSecretEnvName(n)) ctx.addIssue({ code: 'custom', path: [at], message: `${n} is a secret of the broker or a NATS user; a strategy never gets it` });
  }
});
export type StrategyEnv = z.infer<typeof StrategyEnvSchema>;

/**
 * The supervisor's health check of a running actor, over comlink: every `intervalSeconds` it
 * asks; an answer later than `timeoutSeconds` is a miss; `maxMissed` misses in a row and the
 * worker is terminated and counted as a crash (a CPU loop answers nothing). `startSeconds`
 * bounds a start (loading the module, the broker's positions), past it the same.
 */
export const HealthCheckSchema = z.strictObject({
  intervalSeconds: z.number().positive().default(5),
  timeoutSeconds: z.number().positive().default(5),
  maxMissed: z.number().int().positive().default(3),
  startSeconds: z.number().positive().default(60),
});
export type HealthCheck = z.infer<typeof HealthCheckSchema>;
export const DEFAULT_HEALTH_CHECK: HealthCheck = Object.freeze(HealthCheckSchema.parse({}));

export const DEFAULT_GROUP = 'default';
export const PlacementGroupSchema = z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'group: 1-40 letters, digits, _ or -');

export const StrategyEntrySchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'id: 1-40 letters, digits, _ or -'),
  /** Path of the strategy module, relative to the YAML file. */
  module: z.string().min(1),
  venue: VenueSchema,
  instruments: z.array(z.string().min(1)).min(1),
  /** Market data this strategy needs (Kite: ltp, quote or full with depth); default quote. */
  tickMode: z.enum(TICK_MODES).optional(),
  params: z.record(z.string(), z.unknown()).default({}),
  risk: RiskLimitsSchema,
  /** Kite: the `market_protection` every MARKET order of this strategy carries (-1 = Kite's automatic band). */
  marketProtection: MarketProtectionSchema.default(AUTO_MARKET_PROTECTION),
  killTriggers: KillTriggersSchema.optional(),
  resources: ResourceLimitsSchema.default({ maxOldGenerationSizeMb: 128 }),
  restart: RestartIntensitySchema.optional(),
  health: HealthCheckSchema.default(DEFAULT_HEALTH_CHECK),
  /** What happens to the strategy's open orders when it is removed from the file. */
  onRemove: z.enum(['cancel-orders', 'leave-orders']).default('cancel-orders'),
  enabled: z.boolean().default(true),
  env: StrategyEnvSchema.optional(),
  /**
   * Placement group: `orch start --role strategies --group <name>` runs only the strategies of its
   * group, so one registry spreads strategies over several hosts (docs/deploy.md, "Several hosts").
   */
  group: PlacementGroupSchema.default(DEFAULT_GROUP),
});

export const OrchestratorConfigSchema = z.strictObject({
  restartIntensity: RestartIntensitySchema.default({ maxRestarts: 3, withinSeconds: 60 }),
  killTriggers: KillTriggersSchema.optional(),
  /**
   * A net position at start that neither the log nor the venue's own fills explain (manual
   * trades, earlier days): `kill` reports it and raises kill level 2 until an operator accepts it
   * (`orch reconcile --accept-external`); `baseline` records it as positions outside the
   * strategies. Default: `kill` on a live account, `baseline` on the built-in exchanges.
   */
  externalAtStart: z.enum(['kill', 'baseline']).optional(),
  /** How a flatten (kill level 4, `orch flatten`) closes positions and follows them to zero. */
  flatten: FlattenSettingsSchema.default(FlattenSettingsSchema.parse({})),
  /** Market-data recording into JetStream (config/recording.ts); absent = off. */
  recording: RecordingSettingsSchema.optional(),
  strategies: z.array(StrategyEntrySchema).superRefine((list, ctx) => {
    const seen = new Map<string, number>();
    list.forEach((s, i) => {
      const prev = seen.get(s.id);
      if (prev !== undefined) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate strategy id "${s.id}" (also entry ${prev})` });
      seen.set(s.id, i);
    });
  }),
});

export type StrategyEntry = z.infer<typeof StrategyEntrySchema>;
export type OrchestratorConfig = z.infer<typeof OrchestratorConfigSchema>;

/** A resolved entry: module as absolute path, params validated by the strategy's own schema. */
export type StrategySpec = Omit<StrategyEntry, 'module'> & { module: string; restart: RestartIntensity };
export type LoadedConfig = {
  file: string;
  restartIntensity: OrchestratorConfig['restartIntensity'];
  killTriggers: OrchestratorConfig['killTriggers'];
  externalAtStart?: OrchestratorConfig['externalAtStart'];
  flatten?: OrchestratorConfig['flatten'];
  recording?: OrchestratorConfig['recording'];
  strategies: StrategySpec[];
};
