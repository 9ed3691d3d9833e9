import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseConfigText } from '../config.ts';
import { rolesFor, userName, writeNatsAuth } from '../nats-auth.ts';

/**
 * `orch nats-users`: writes the NATS users of every role and of every strategy in the registry
 * (`<state-dir>/nats/authorization.conf`, passwords in `passwords.json` or from
 * `ORCH_NATS_<ROLE>_PASSWORD`), for the nodes of a cluster (docs/deploy.md). Prints one JSON line
 * naming the files and users; never a password.
 */
export async function natsUsers(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string' }, 'state-dir': { type: 'string' } }, strict: true });
  const file = resolve(values.config ?? join(process.cwd(), 'config', 'strategies.yaml'));
  const { config } = parseConfigText(await readFile(file, 'utf8'), file);
  const stateDir = resolve(values['state-dir'] ?? join(process.cwd(), '.orch'));
  const ids = config.strategies.map((s) => s.id);
  const auth = await writeNatsAuth({ stateDir, strategyIds: ids, env });
  process.stdout.write(`${JSON.stringify({ authorization: auth.authFile, passwords: join(stateDir, 'nats', 'passwords.json'), users: rolesFor(ids).map(userName) })}\n`);
  return 0;
}
