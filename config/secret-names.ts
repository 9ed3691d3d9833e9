/** Every secret value currently configured, so tests and the log scrubber can look for leaks. */
export const SECRET_ENV_KEYS = [
  'KITE_API_SECRET', 'KITE_PASSWORD', 'KITE_TOTP_SECRET', 'KITE_ACCESS_TOKEN',
  'KALSHI_PRIVATE_KEY', 'ORCH_OPERATOR_TOKEN',
] as const;

/** A variable whose value is a secret: the list above, and every NATS user's password (supervisor/nats-auth.ts). */
export function isSecretEnvName(name: string): boolean {
  return (SECRET_ENV_KEYS as readonly string[]).includes(name) || /^ORCH_NATS_[A-Z0-9_]+_PASSWORD$/.test(name);
}
