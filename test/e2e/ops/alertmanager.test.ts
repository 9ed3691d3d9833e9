import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const file = fileURLToPath(new URL('../../../deploy/alertmanager/alertmanager.yml', import.meta.url));
const source = readFileSync(file, 'utf8');

type Route = { receiver?: string; routes?: Route[]; mute_time_intervals?: string[]; active_time_intervals?: string[] };
type Config = {
  route: Route;
  receivers: { name: string; telegram_configs?: Record<string, unknown>[] }[];
  time_intervals?: { name: string }[];
};

function routes(r: Route): Route[] {
  return [r, ...(r.routes ?? []).flatMap(routes)];
}

test('alertmanager config references only receivers and time intervals it defines', () => {
  const c = parse(source) as Config;
  const receivers = new Set(c.receivers.map((r) => r.name));
  const intervals = new Set((c.time_intervals ?? []).map((t) => t.name));
  for (const r of routes(c.route)) {
    if (r.receiver) assert.ok(receivers.has(r.receiver), `unknown receiver ${r.receiver}`);
    for (const t of [...(r.mute_time_intervals ?? []), ...(r.active_time_intervals ?? [])]) assert.ok(intervals.has(t), `unknown interval ${t}`);
  }
});

test('telegram receivers read the bot token from a file and never inline it', () => {
  const c = parse(source) as Config;
  const tg = c.receivers.flatMap((r) => r.telegram_configs ?? []);
  assert.ok(tg.length > 0);
  for (const t of tg) {
    assert.equal(typeof t.bot_token_file, 'string');
    assert.equal(t.bot_token, undefined);
    assert.equal(typeof t.chat_id, 'number', 'chat_id must be a number for Alertmanager');
  }
  assert.doesNotMatch(source, /\d{6,}:[A-Za-z0-9_-]{30,}/, 'something that looks like a bot token');
});
// amtool is not checked here: Debian's Alertmanager (0.25) predates bot_token_file (0.26+).
