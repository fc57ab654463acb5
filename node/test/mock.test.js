// startMock, used the way a team's tests use it: a client talks to mock.url, the test reads the
// journal and records, resets, injects faults.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';

import { findBinary, serveFlags, startMock } from '../index.js';

const SMARTLEAD = '/api/v1/client/save';

async function create(url, apiKey, email) {
  const answer = await fetch(`${url}${SMARTLEAD}?api_key=${apiKey}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, name: 'Acme' }),
  });
  return { status: answer.status, body: await answer.json() };
}

function refused(url) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describe('one mock for these tests, reset before each', () => {
  let mock;
  before(async () => {
    mock = await startMock();
  });
  after(() => mock.stop());
  beforeEach(() => mock.reset());

  test('a create succeeds, is journalled and stored', async () => {
    const { status, body } = await create(mock.url, 'key-1', 'ada@example.com');
    assert.equal(status, 200);
    assert.equal(body.ok, true);
    const [entry] = await mock.journal();
    assert.deepEqual([entry.vendor, entry.method, entry.path, entry.status], ['smartlead', 'POST', SMARTLEAD, 200]);
    assert.equal(entry.outcome.kind, 'created');
    assert.deepEqual((await mock.records('smartlead')).map((r) => r.email), ['ada@example.com']);
  });

  test("the same e-mail twice gets SmartLead's duplicate answer", async () => {
    assert.equal((await create(mock.url, 'key-1', 'ada@example.com')).status, 200);
    const { status, body } = await create(mock.url, 'key-2', 'ADA@example.com');
    assert.equal(status, 409);
    assert.equal(body.error, 'Conflict');
    assert.deepEqual((await mock.journal('smartlead')).map((e) => e.status), [200, 409]);
    assert.equal((await mock.records('smartlead')).length, 1);
  });

  test('reset forgets records, journal and faults', async () => {
    await create(mock.url, 'key-1', 'ada@example.com');
    await mock.inject({ type: 'status', status: 500 }, { vendor: 'cellcast' });
    await mock.reset();
    assert.deepEqual(await mock.journal(), []);
    assert.deepEqual(await mock.records('smartlead'), []);
    assert.deepEqual(await mock.faults(), []);
    assert.equal((await create(mock.url, 'key-1', 'ada@example.com')).status, 200, 'the e-mail is free again');
  });

  test('an injected 503 answers once, then the mock is normal again', async () => {
    await mock.inject({ type: 'status', status: 503 }, { vendor: 'smartlead', times: 1 });
    const { status, body } = await create(mock.url, 'key-1', 'ada@example.com');
    assert.equal(status, 503);
    assert.ok('statusCode' in body && 'error' in body, JSON.stringify(body));
    assert.equal((await create(mock.url, 'key-1', 'ada@example.com')).status, 200);
    const journal = await mock.journal();
    assert.deepEqual(journal.map((e) => e.status), [503, 200]);
    assert.equal(journal[0].outcome.kind, 'fault');
  });

  test('journal filters narrow the entries', async () => {
    await create(mock.url, 'key-1', 'ada@example.com');
    await create(mock.url, 'key-1', 'ada@example.com');
    assert.deepEqual((await mock.journal(undefined, { status: '4xx' })).map((e) => e.status), [409]);
    assert.deepEqual(await mock.journal('cellcast'), []);
  });
});

test('startMock serves on loopback, a free port each, and stop() closes it', async () => {
  const [first, second] = await Promise.all([startMock(), startMock()]);
  assert.match(first.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.notEqual(first.url, second.url);
  const health = await (await fetch(`${first.url}/__admin/health`)).json();
  assert.equal(health.status, 'ok');
  await Promise.all([first.stop(), second.stop(), first.stop()]);
  assert.ok(await refused(first.url));
  assert.ok(await refused(second.url));
});

test('options become serve flags: seed, revision, header case', async () => {
  assert.deepEqual(serveFlags({ seed: 7, headerCase: 'lenient', rateLimits: true, journalSecrets: false }), [
    '--seed', '7', '--header-case', 'lenient', '--rate-limits',
  ]);
  const ids = [];
  for (let i = 0; i < 2; i += 1) {
    const mock = await startMock({ seed: 42, revision: { agencyhandy: '2026-07' } });
    ids.push((await create(mock.url, 'k', 'same@example.com')).body.data.api_key);
    const health = await (await fetch(`${mock.url}/__admin/health`)).json();
    assert.equal(health.revisions.agencyhandy, '2026-07');
    await mock.stop();
  }
  assert.equal(ids[0], ids[1], 'the same seed gives the same generated values');
});

test('an admin token is sent with every admin call', async () => {
  const mock = await startMock({ adminToken: 's3cret' });
  try {
    assert.deepEqual(await mock.journal(), []);
    assert.equal((await fetch(`${mock.url}/__admin/requests`)).status, 401);
  } finally {
    await mock.stop();
  }
});

test('a bad option fails to start with the mock\'s own message', async () => {
  await assert.rejects(startMock({ headerCase: 'sideways' }), /did not start[\s\S]*sideways/);
});

test('the binary comes from VENDOR_MOCK_BIN, then PATH, then the workspace build, else a clear error', () => {
  const built = findBinary('vendor-mock');
  assert.equal(findBinary('vendor-mock', { VENDOR_MOCK_BIN: built }), built);
  assert.throws(() => findBinary('vendor-mock', { VENDOR_MOCK_BIN: '/nonexistent/vendor-mock' }), /VENDOR_MOCK_BIN/);
  const dir = built.slice(0, built.lastIndexOf('/'));
  assert.equal(findBinary('vendor-mock', { PATH: dir }), `${dir}/vendor-mock`);
  // No variable, an empty PATH and a target folder that has nothing: the error says where it looked.
  assert.throws(
    () => findBinary('vendor-mock', { PATH: '', CARGO_TARGET_DIR: '/nonexistent-target' }),
    (err) => /cannot find `vendor-mock`/.test(err.message) && err.message.includes('/nonexistent-target/debug/vendor-mock'),
  );
});
