import { test } from 'node:test';
import assert from 'node:assert/strict';
import { intentTag, parseTag, tagMatches, TAG_LENGTH } from './tag.ts';

test('an intent tag fits Kite: at most 20 alphanumeric characters', () => {
  for (const id of ['a', '01J9Z3K7W8X2Q4R5T6Y7U8I9O0', 'f47ac10b-58cc-4372-a567-0e02b2c3d479', 'x'.repeat(500), 'नमस्ते']) {
    const tag = intentTag(id);
    assert.ok(tag.length <= 20, tag);
    assert.equal(tag.length, TAG_LENGTH);
    assert.match(tag, /^[0-9a-z]+$/);
  }
});

test('the same intent always gets the same tag, so a retry can find the first attempt', () => {
  assert.equal(intentTag('intent-42'), intentTag('intent-42'));
});

test('100k distinct intents get 100k distinct tags, including near-identical ids', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 100_000; i++) seen.add(intentTag(`strategy-a:${i}`));
  assert.equal(seen.size, 100_000);
  assert.notEqual(intentTag('ab'), intentTag('ba'));
});

test('an empty intent id is refused rather than tagged', () => {
  assert.throws(() => intentTag(''), /empty/);
});

test('our tags are recognised; manual or foreign tags are not', () => {
  const tag = intentTag('i-1');
  assert.deepEqual(parseTag(tag), { digest: tag.slice(1) });
  assert.deepEqual(parseTag(tag.toUpperCase()), { digest: tag.slice(1) }, 'venue upper-casing must not lose our orders');
  for (const t of [null, undefined, '', 'connect test order1', tag.slice(0, 19), `${tag}x`, `x${tag.slice(1)}`, `${tag.slice(0, 19)}-`]) {
    assert.equal(parseTag(t), undefined, String(t));
  }
});

test('tagMatches ties a venue order back to exactly its intent', () => {
  const tag = intentTag('intent-7');
  assert.equal(tagMatches(tag, 'intent-7'), true);
  assert.equal(tagMatches(tag, 'intent-8'), false);
  assert.equal(tagMatches(null, 'intent-7'), false);
});
