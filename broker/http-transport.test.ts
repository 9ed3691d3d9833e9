import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { keepAliveFetch } from './http-transport.ts';
import { startHttp, json } from './kite/test-http.ts';
import { socketErrorCode } from './kite/errors.ts';

test('a POST arrives with its body and headers; status, headers and body come back as sent', async (t) => {
  const srv = await startHttp((_req, res) => json(res, 429, { status: 'error' }, { 'retry-after': '2', 'x-two': 'b' }));
  t.after(() => srv.close());
  const res = await keepAliveFetch(`${srv.url}/orders/regular?x=1`, { method: 'POST', body: 'a=1&b=2', headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Kite-Version': '3' } });
  assert.equal(res.status, 429);
  assert.equal(res.headers.get('Retry-After'), '2');
  assert.equal(res.headers.get('x-two'), 'b');
  assert.deepEqual(JSON.parse(await res.text()), { status: 'error' });
  const [req] = srv.requests;
  assert.equal(req!.method, 'POST');
  assert.equal(req!.url.pathname + req!.url.search, '/orders/regular?x=1');
  assert.equal(req!.body, 'a=1&b=2');
  assert.equal(req!.headers['content-length'], '7');
  assert.equal(req!.headers['x-kite-version'], '3');
});

test('sequential requests reuse one kept-alive connection', async (t) => {
  const sockets = new Set<unknown>();
  const srv = await startHttp((req, res) => json(res, 200, { n: srv.requests.length }));
  t.after(() => srv.close());
  srv.setHandler((_req, res) => {
    sockets.add(res.socket);
    json(res, 200, {});
  });
  for (let i = 0; i < 5; i++) await (await keepAliveFetch(`${srv.url}/x`, { method: 'GET' })).text();
  assert.equal(srv.requests.length, 5);
  assert.equal(sockets.size, 1);
});

test('a refused connection keeps its socket code, so callers know the request never left', async () => {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((r) => probe.close(() => r()));
  await assert.rejects(keepAliveFetch(`http://127.0.0.1:${port}/x`, { method: 'POST', body: 'a=1' }), (e: unknown) => socketErrorCode(e) === 'ECONNREFUSED');
});

test('an abort ends a request the server never answers', async (t) => {
  const srv = await startHttp(() => undefined);
  t.after(() => srv.close());
  const ctrl = new AbortController();
  const pending = keepAliveFetch(`${srv.url}/hang`, { method: 'GET', signal: ctrl.signal });
  setImmediate(() => ctrl.abort());
  await assert.rejects(pending, (e: Error) => e.name === 'AbortError');
  await assert.rejects(keepAliveFetch(`${srv.url}/x`, { method: 'GET', signal: ctrl.signal }), (e: Error) => e.name === 'AbortError');
});

test('a body that is not a string is refused rather than sent empty', async () => {
  await assert.rejects(keepAliveFetch('http://127.0.0.1:1/x', { method: 'POST', body: new Uint8Array([1]) }), /only string bodies/);
});

test('an abort ends a response whose body never completes (a withheld body is a withheld answer)', async (t) => {
  const srv = await startHttp((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"partial":');
  });
  t.after(() => srv.close());
  const ctrl = new AbortController();
  const pending = keepAliveFetch(`${srv.url}/x`, { method: 'GET', signal: ctrl.signal });
  setTimeout(() => ctrl.abort(), 50);
  await assert.rejects(pending, (e: Error) => e.name === 'AbortError');
});
