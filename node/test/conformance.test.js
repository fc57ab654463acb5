// `vendor-conformance run --client node:FILE#EXPORT` against Node client functions: the ten-line
// SmartLead client passes, a planted bug fails the property that checks it, a throw is reported
// with its stack.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { findBinary } from '../index.js';

const clients = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'clients');

/** Runs the suite; resolves { code, output, events }. */
function conformance(client, vendor, cases) {
  const dir = mkdtempSync(path.join(tmpdir(), 'vendor-conformance-node-'));
  const events = path.join(dir, 'events.ndjson');
  const args = ['run', '--client', client, '--vendor', vendor, '--cases', String(cases), '--seed', '5'];
  args.push('--no-progress', '--replay-dir', dir, '--report', `ndjson:${events}`);
  return new Promise((resolve) => {
    execFile(findBinary('vendor-conformance'), args, { cwd: clients }, (error, stdout, stderr) => {
      let lines = [];
      try {
        lines = readFileSync(events, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
      } catch {
        // no event log: the run stopped before it started
      }
      resolve({ code: error ? error.code : 0, output: stdout + stderr, events: lines });
    });
  });
}

const failed = (events) =>
  [...new Set(events.filter((e) => e.event === 'property' && e.status === 'fail').map((e) => e.property))].sort();

test('the ten-line SmartLead client passes every property it is checked on', async () => {
  const run = await conformance('node:smartlead_client.mjs#createClient', 'smartlead', 8);
  assert.equal(run.code, 0, run.output);
  const properties = run.events.filter((e) => e.event === 'property');
  assert.ok(properties.length >= 20, run.output);
  assert.ok(properties.some((e) => e.property === 'response.rate_limited' && e.status === 'pass'));
  assert.match(run.output, /via node:smartlead_client\.mjs#createClient/);
});

test('a planted bug (429 reported as a server error) fails response.rate_limited and nothing else', async () => {
  const run = await conformance('node:buggy_smartlead_client.mjs#createClient', 'smartlead', 8);
  assert.equal(run.code, 1, run.output);
  assert.deepEqual(failed(run.events), ['response.rate_limited']);
  const failure = run.events.find((e) => e.event === 'failure');
  assert.equal(failure.scenario, 'rate_limited');
  assert.ok(JSON.stringify(failure.reported).includes('server_error'));
});

test('a thrown error is reported as errored with its stack', async () => {
  const run = await conformance('node:throwing_client.mjs', 'cellcast', 2);
  assert.equal(run.code, 1, run.output);
  assert.ok(failed(run.events).includes('response.answers'));
  const failure = run.events.find((e) => e.event === 'failure' && e.property === 'response.answers');
  assert.match(failure.message, /TypeError: Cannot read properties of undefined/);
  assert.match(failure.message, /throwing_client\.mjs:\d+/);
});

test('a missing export stops the run, naming the exports there are', async () => {
  const run = await conformance('node:smartlead_client.mjs#create', 'smartlead', 1);
  assert.equal(run.code, 3, run.output);
  assert.match(run.output, /no function export `create` \(its exports: createClient, vendors\)/);
});
