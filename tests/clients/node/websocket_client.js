// End-to-end test of Sluice's WebSocket front end with the npm `ws` client, unchanged.
// Usage: node websocket_client.js REGISTRY_URL (ignored); the HTTP URL comes from
// SLUICE_HTTP_URL, which run_client_test.sh sets. Exits non-zero with a message on failure.
'use strict';
const assert = require('node:assert/strict');
const WebSocket = require('ws');

const http = process.env.SLUICE_HTTP_URL;
if (!http) {
  console.error('SLUICE_HTTP_URL is not set (run through run_client_test.sh)');
  process.exit(2);
}
const wsBase = http.replace(/^http/, 'ws');

// A connection whose messages are read one at a time with next().
function open(path) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsBase + path);
    const queue = [];
    const waiters = [];
    let closed = null;
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString());
      if (waiters.length) waiters.shift().resolve(m); else queue.push(m);
    });
    ws.on('close', (code, reason) => {
      closed = {code, reason: reason.toString()};
      while (waiters.length) waiters.shift().reject(new Error('closed ' + code));
    });
    ws.on('unexpected-response', (req, res) => reject(Object.assign(
        new Error('HTTP ' + res.statusCode), {status: res.statusCode})));
    ws.on('error', (e) => reject(e));
    ws.on('open', () => resolve({
      ws,
      send: (obj) => ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj)),
      next: () => queue.length ? Promise.resolve(queue.shift())
                               : new Promise((res, rej) => waiters.push({resolve: res, reject: rej})),
      closed: () => closed ? Promise.resolve(closed)
                           : new Promise((res) => ws.once('close', (code, reason) =>
                                 res({code, reason: reason.toString()}))),
    }));
  });
}

async function createTopic(name, partitions) {
  const r = await fetch(http + '/v1/topics', {
    method: 'POST', headers: {'content-type': 'application/json'},
    body: JSON.stringify({name, partitions})});
  assert.equal(r.status, 201, await r.text());
}

async function main() {
  const topic = 'node-ws-' + Date.now();
  await createTopic(topic, 1);

  // Subscriber first, live: it must see exactly what is published afterwards.
  const sub = await open('/v1/topics/' + topic + '/ws?mode=subscribe&from=live');
  const subscribed = await sub.next();
  assert.deepEqual(subscribed.subscribed.partitions, [{partition: 0, offset: 0}]);
  sub.send({credit: 100});

  const pub = await open('/v1/topics/' + topic + '/ws');
  assert.equal((await pub.next()).credit, 16);

  // Single event and batch.
  pub.send({id: 'one', event: {key: 'k', value: {n: 1}}});
  assert.deepEqual(await pub.next(), {id: 'one', results: [{partition: 0, offset: 0}]});
  pub.send({id: 'batch', events: [{value: 2}, {value: 3, headers: {h: 'v'}}]});
  assert.deepEqual(await pub.next(),
      {id: 'batch', results: [{partition: 0, offset: 1}, {partition: 0, offset: 2}]});

  // A per-event error, the rest appended.
  pub.send({id: 'mixed', events: [{value: 4}, {value: 5, partition: 3}]});
  const mixed = await pub.next();
  assert.deepEqual(mixed.results[0], {partition: 0, offset: 3});
  assert.equal(mixed.results[1].error.code, 'invalid_argument');

  // Bad JSON: a frame error, the connection stays.
  pub.send('{"id": "broken", ');
  const broken = await pub.next();
  assert.equal(broken.id, null);
  assert.equal(broken.error.code, 'invalid_argument');

  // Producer id + sequence: the resend gets the original result, nothing appended twice.
  pub.send({id: 'p1', producer: 'node', seq: 1, event: {value: 6}});
  const first = await pub.next();
  assert.deepEqual(first.results, [{partition: 0, offset: 4}]);
  pub.send({id: 'p1-again', producer: 'node', seq: 1, event: {value: 6}});
  const again = await pub.next();
  assert.equal(again.duplicate, true);
  assert.deepEqual(again.results, first.results);

  // The live subscriber saw offsets 0..4 once each, in order, with their values.
  const seen = [];
  while (seen.length < 5) {
    const batch = await sub.next();
    for (const e of batch.events) seen.push(e);
  }
  assert.deepEqual(seen.map((e) => e.offset), [0, 1, 2, 3, 4]);
  assert.deepEqual(seen.map((e) => e.value), [{n: 1}, 2, 3, 4, 6]);
  assert.equal(seen[0].key, 'k');
  assert.deepEqual(seen[2].headers, {h: 'v'});

  // Subscribe from an offset.
  const from = await open('/v1/topics/' + topic + '/ws?mode=subscribe&from=offset:3&max_events=10');
  assert.deepEqual((await from.next()).subscribed.partitions, [{partition: 0, offset: 3}]);
  from.send({credit: 1});
  assert.deepEqual((await from.next()).events.map((e) => e.value), [4, 6]);
  from.ws.close(1000);

  // Oversize frame: closed with 1009 (the server's frame limit is 1 MiB by default).
  pub.send(JSON.stringify({id: 'big', event: {value: 'x'.repeat(1100 * 1024)}}));
  const closed = await pub.closed();
  assert.equal(closed.code, 1009);

  // Refused before the upgrade: unknown topic is a plain 404.
  await assert.rejects(open('/v1/topics/no-such/ws'), (e) => e.status === 404);

  sub.ws.close(1000);
  console.log('websocket_client: all checks passed');
}

main().then(() => process.exit(0), (e) => {
  console.error('websocket_client: FAILED:', e);
  process.exit(1);
});
