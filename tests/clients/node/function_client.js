// The Node reference client as a plain function, for `--client node:FILE#EXPORT`:
//
//   vendor-conformance run --client node:tests/clients/node/function_client.js#createClient
//
// `createClient` is the reference client of harness.js (same adapters, same HTTP), called by the
// suite's shim with one object ({ vendor, base_url, credentials, input, timeout_ms }); it
// resolves the outcome and lets its errors throw (the shim reports them as `errored`).
// `mutant_<name>` (dashes as underscores, e.g. `#mutant_sl_wrong_path`) is the
// same client with one of harness.js's mutants turned on.
'use strict';

const harness = require('./harness.js');

async function createClient(request) {
  const answer = await harness.createClient(request);
  if (!('outcome' in answer)) throw new harness.HarnessError(answer.message || 'the reference client gave no outcome');
  return answer.outcome;
}

const exported = {
  createClient,
  vendors: harness.VENDORS,
  implementation: { ...harness.IMPLEMENTATION, name: 'vendor-mock-reference-node-function' },
};
for (const name of Object.keys(harness.MUTANTS)) {
  exported[`mutant_${name.replaceAll('-', '_')}`] = (request) => {
    harness.setMutant(name);
    return createClient(request);
  };
}

module.exports = exported;
