#!/usr/bin/env node
// Reference client harness in Node (conformance protocol v1).
//
// A correct client of the four vendors' create-client endpoints, driven over newline-delimited
// JSON on stdin/stdout (see issue 3, "Driving a client: harness protocol v1"):
//
//   {"cmd":"start","version":1}                    -> {"ready":true,...}
//   {"cmd":"create_client","seq":N,"vendor":...}   -> {"seq":N,"outcome":{...}}
//   {"cmd":"stop"}                                 -> exit 0
//
// Built-in modules only. HTTP goes through `http` (or `https`), which sends header names exactly
// as given in the headers object (AgencyHandy's `companyId` is case-exact). No retries, ever.
// stdout carries protocol lines only; logs go to stderr.
//
// `--mutant NAME` turns on one realistic bug (see MUTANTS and tests/clients/MUTANTS.md);
// `--list-mutants` prints their names. Without it the harness is correct.
'use strict';

const http = require('node:http');
const https = require('node:https');
const readline = require('node:readline');

const IMPLEMENTATION = { name: 'vendor-mock-reference-node', language: 'javascript', version: '1.0.0' };
const PROTOCOL_VERSION = 1;
const VENDORS = ['smartlead', 'cellcast', 'voiceaiwrapper', 'agencyhandy'];
const DEFAULT_TIMEOUT_MS = 10_000;

// Each mutant changes exactly one behaviour of the correct client.
const MUTANTS = {
  'sl-null-optionals': 'SmartLead: sends `null` for every documented optional field the input omits',
  'sl-wrong-path': 'SmartLead: posts to `/api/v1/client/create` instead of `/api/v1/client/save`',
  'cc-no-content-type': 'Cellcast: sends the JSON body without a `Content-Type` header',
  'cc-form-encoded': 'Cellcast: sends the body form-encoded (`application/x-www-form-urlencoded`)',
  'cc-drop-notes': 'Cellcast: drops the optional `notes` field from the body',
  'vw-duplicate-as-validation': 'VoiceAIWrapper: reports every 400 as `validation_error`, duplicates included',
  'ah-all-created': 'AgencyHandy: reports every entry as created (ids zipped by position), ignoring `failedMembers`',
  'any-429-as-server-error': 'every vendor: reports a 429 as `server_error` (any status >= 400 that is not a known 4xx)',
  'sl-any-200-as-created': 'SmartLead: reports `created` for any 200, whatever its body (the id where there is one)',
  'any-ready-drops-agencyhandy': 'every vendor: `ready` leaves agencyhandy out (the harness still serves it)',
};

let MUTANT = null;

function log(...parts) {
  process.stderr.write(`[harness.js] ${parts.join(' ')}\n`);
}

function emit(obj) {
  // Pipes are synchronous on Linux: the line is out before the next request is read.
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

class HarnessError extends Error {}

// ------------------------------------------------------------------------------------------------
// Answers: shared helpers

const created = (id) => (id === undefined || id === null ? { kind: 'created' } : { kind: 'created', id });
const kind = (k) => ({ kind: k });
function validationError(fields) {
  const out = { kind: 'validation_error' };
  if (fields && fields.length > 0) out.fields = [...fields];
  return out;
}
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const nonEmptyString = (v) => typeof v === 'string' && v !== '';
const isInt = (v) => Number.isInteger(v);

// Seconds from `Retry-After` (delta-seconds or HTTP-date), else from the body, else undefined.
function retryAfterSeconds(headers, body) {
  let value = headers['retry-after'];
  if (Array.isArray(value)) value = value[0];
  if (typeof value === 'string') {
    value = value.trim();
    if (/^\d+$/.test(value)) return Number.parseInt(value, 10);
    const when = Date.parse(value);
    if (!Number.isNaN(when)) return Math.max(0, Math.floor((when - Date.now()) / 1000));
  }
  if (isObject(body)) {
    // SmartLead documents {"error":{"code":"RATE_LIMIT_EXCEEDED","retry_after":30}}.
    for (const holder of [body.error, body]) {
      if (isObject(holder) && isInt(holder.retry_after) && holder.retry_after >= 0) return holder.retry_after;
    }
  }
  return undefined;
}

function requireCredential(credentials, name) {
  const value = isObject(credentials) ? credentials[name] : undefined;
  // An empty value is the caller's (a key it did not set): sent as given, the vendor answers 401.
  if (typeof value !== 'string') throw new HarnessError(`credentials.${name} is missing or not a string`);
  return value;
}

const without = (body, field) => {
  if (!isObject(body)) return body;
  const copy = { ...body };
  delete copy[field];
  return copy;
};

// ------------------------------------------------------------------------------------------------
// Vendors: how to send (path, headers, body), how to read the answer

const smartlead = {
  path: '/api/v1/client/save',
  optional: ['password', 'logo', 'logo_url', 'permission', 'is_credit_assigned', 'email_credits', 'lead_credits'],
  request(credentials, body) {
    const key = requireCredential(credentials, 'api_key');
    let path = this.path;
    if (MUTANT === 'sl-wrong-path') path = '/api/v1/client/create';
    if (MUTANT === 'sl-null-optionals' && isObject(body)) {
      body = { ...body };
      for (const field of this.optional) if (!(field in body)) body[field] = null;
    }
    return { path: `${path}?api_key=${encodeURIComponent(key)}`, headers: { 'Content-Type': 'application/json' }, body };
  },
  classify(status, headers, body) {
    const message = isObject(body) && typeof body.message === 'string' ? body.message : '';
    if (status === 200) {
      if (isObject(body) && body.ok === true && isObject(body.data) && isInt(body.data.id)) return created(body.data.id);
      if (MUTANT === 'sl-any-200-as-created') return created();
      return kind('unexpected_response');
    }
    if (status === 401) return kind('unauthorized'); // SmartLead documents no 403
    if (status === 409 || ((status === 400 || status === 422) && message.includes('already exist'))) return kind('duplicate');
    if (status === 400 || status === 422) {
      // Joi/Boom messages name the field first: "\"forward_email_body\" must be a string".
      const m = /^"([^"]+)"/.exec(message);
      return validationError(m ? [m[1]] : undefined);
    }
    return kind('unexpected_response');
  },
};

const cellcast = {
  path: '/api/v2/subClient/user',
  request(credentials, body) {
    const token = requireCredential(credentials, 'token');
    const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
    if (MUTANT === 'cc-no-content-type') delete headers['Content-Type'];
    if (MUTANT === 'cc-drop-notes') body = without(body, 'notes');
    if (MUTANT === 'cc-form-encoded' && isObject(body)) {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      const form = new URLSearchParams();
      for (const [k, v] of Object.entries(body)) form.append(k, String(v));
      return { path: this.path, headers, body, raw: form.toString() };
    }
    return { path: this.path, headers, body };
  },
  classify(status, headers, body) {
    if (status === 200) {
      if (isObject(body) && body.status === true) return created(); // the documented success carries no id
      return kind('unexpected_response');
    }
    if (status === 401) return kind('unauthorized'); // Cellcast documents no 403, nor a 422
    if (status === 400) {
      const error = isObject(body) && isObject(body.error) ? body.error : {};
      for (const field of ['email', 'mobile']) {
        if (typeof error[field] === 'string' && error[field].includes('already exist')) return kind('duplicate');
      }
      return validationError(Object.keys(error));
    }
    return kind('unexpected_response');
  },
};

const voiceaiwrapper = {
  path: '/api/v2/clients/create',
  request(credentials, body) {
    const token = requireCredential(credentials, 'token');
    return { path: this.path, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body };
  },
  classify(status, headers, body) {
    const message = isObject(body) && typeof body.message === 'string' ? body.message : '';
    if (status === 200) {
      if (isObject(body) && body.success === true && isObject(body.data) && nonEmptyString(body.data.client_id)) {
        return created(body.data.client_id);
      }
      return kind('unexpected_response');
    }
    if (status === 401 || status === 403) return kind('unauthorized');
    if (status === 400) {
      if (message.includes('already exists') && MUTANT !== 'vw-duplicate-as-validation') return kind('duplicate');
      return validationError(isObject(body) && isObject(body.errors) ? Object.keys(body.errors) : undefined);
    }
    return kind('unexpected_response');
  },
};

const agencyhandy = {
  path: '/members/bulk-client',
  request(credentials, body) {
    const key = requireCredential(credentials, 'api_key');
    const company = requireCredential(credentials, 'company_id');
    // Node sends these names exactly as spelled here.
    return { path: this.path, headers: { 'x-api-key': key, companyId: company, 'Content-Type': 'application/json' }, body };
  },
  classify(status, headers, body, sent) {
    if (status === 200) return this.entries(body, sent);
    if (status === 401 || status === 403) return kind('unauthorized');
    if (status === 400) {
      const field = isObject(body) ? body.fieldName : undefined;
      return validationError(nonEmptyString(field) ? [field] : undefined);
    }
    return kind('unexpected_response');
  },
  // Per input entry: failedMembers name theirs by `index`; createdMembers are the rest, in order.
  entries(body, sent) {
    if (!isObject(body) || !Array.isArray(sent)) return kind('unexpected_response');
    const createdMembers = body.createdMembers;
    const failedMembers = body.failedMembers === undefined ? [] : body.failedMembers;
    if (!Array.isArray(createdMembers) || !Array.isArray(failedMembers)) return kind('unexpected_response');
    if (MUTANT === 'ah-all-created') {
      return { kind: 'bulk', entries: sent.map((_, i) => created(isObject(createdMembers[i]) ? createdMembers[i]._id : undefined)) };
    }
    const failed = new Map();
    for (const member of failedMembers) {
      const index = isObject(member) ? member.index : undefined;
      if (!isInt(index) || index < 0 || index >= sent.length || failed.has(index)) return kind('unexpected_response');
      const message = typeof member.message === 'string' ? member.message : '';
      if (message.toLowerCase().includes('already exist')) failed.set(index, kind('duplicate'));
      else failed.set(index, validationError(nonEmptyString(member.fieldName) ? [member.fieldName] : undefined));
    }
    if (createdMembers.length !== sent.length - failed.size) return kind('unexpected_response');
    const entries = [];
    let next = 0;
    for (let i = 0; i < sent.length; i += 1) {
      if (failed.has(i)) {
        entries.push(failed.get(i));
        continue;
      }
      const member = createdMembers[next];
      next += 1;
      if (!isObject(member) || !nonEmptyString(member._id)) return kind('unexpected_response');
      entries.push(created(member._id));
    }
    return { kind: 'bulk', entries };
  },
};

const ADAPTERS = { smartlead, cellcast, voiceaiwrapper, agencyhandy };

// ------------------------------------------------------------------------------------------------
// HTTP

// POST once. Resolves {status, headers, raw}; rejects on refused/reset/closed/truncated/time-out.
function send(baseUrl, path, headers, payload, timeoutMs) {
  let url;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new HarnessError(`base_url ${JSON.stringify(baseUrl)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new HarnessError(`base_url ${baseUrl} is not http(s)`);
  const transport = url.protocol === 'https:' ? https : http;
  const prefix = url.pathname.replace(/\/+$/, '');
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (fn, value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn(value);
    };
    const req = transport.request({
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port || undefined,
      method: 'POST',
      path: prefix + path,
      headers: { ...headers, 'Content-Length': String(payload.length) },
      agent: false, // one connection per request, closed afterwards
    });
    const timer = setTimeout(() => {
      const err = new Error(`no complete answer within ${timeoutMs} ms`);
      err.code = 'ETIMEDOUT';
      req.destroy(err);
      finish(reject, err);
    }, timeoutMs);
    req.on('error', (err) => finish(reject, err));
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('error', (err) => finish(reject, err));
      res.on('aborted', () => finish(reject, Object.assign(new Error('answer aborted'), { code: 'ECONNRESET' })));
      res.on('end', () => {
        if (!res.complete) finish(reject, Object.assign(new Error('answer truncated'), { code: 'ECONNRESET' }));
        else finish(resolve, { status: res.statusCode, headers: res.headers, raw: Buffer.concat(chunks) });
      });
      res.on('close', () => {
        if (!res.complete) finish(reject, Object.assign(new Error('connection closed mid-answer'), { code: 'ECONNRESET' }));
      });
    });
    req.end(payload);
  });
}

function classify(adapter, status, headers, raw, sent) {
  let body;
  try {
    body = raw.length > 0 ? JSON.parse(raw.toString('utf8')) : undefined;
  } catch {
    body = undefined;
    if (status >= 200 && status < 300) return kind('unexpected_response');
  }
  if (status === 429 && MUTANT !== 'any-429-as-server-error') {
    const out = kind('rate_limited');
    const seconds = retryAfterSeconds(headers, body);
    if (seconds !== undefined) out.retry_after = seconds;
    return out;
  }
  if (status >= 500 || (MUTANT === 'any-429-as-server-error' && status === 429)) return kind('server_error');
  return adapter.classify(status, headers, body, sent);
}

async function createClient(request) {
  const vendor = request.vendor;
  const adapter = Object.hasOwn(ADAPTERS, vendor) ? ADAPTERS[vendor] : undefined;
  if (!adapter) return { skipped: true, message: `vendor ${JSON.stringify(vendor)} is not supported by this harness` };
  if (!('input' in request)) throw new HarnessError('create_client without `input`');
  if (typeof request.base_url !== 'string') throw new HarnessError('create_client without a string `base_url`');
  const timeoutMs = isInt(request.timeout_ms) && request.timeout_ms > 0 ? request.timeout_ms : DEFAULT_TIMEOUT_MS;

  const built = adapter.request(request.credentials, request.input);
  const payload = Buffer.from(built.raw !== undefined ? built.raw : JSON.stringify(built.body), 'utf8');
  let answer;
  try {
    answer = await send(request.base_url, built.path, built.headers, payload, timeoutMs);
  } catch (err) {
    if (err instanceof HarnessError) throw err;
    log(`${vendor}: transport error: ${err.code || ''} ${err.message}`);
    return { outcome: kind('transport_error') };
  }
  log(`${vendor}: POST ${built.path.split('?')[0]} -> ${answer.status} ${answer.raw.toString('utf8').slice(0, 300)}`);
  return { outcome: classify(adapter, answer.status, answer.headers, answer.raw, built.body) };
}

// ------------------------------------------------------------------------------------------------
// The protocol loop

// One request line; resolves the answer object, or null when the harness must exit.
async function handle(line) {
  let request;
  try {
    request = JSON.parse(line);
  } catch (err) {
    return { errored: true, context: { message: `request line is not JSON: ${err.message}` } };
  }
  if (!isObject(request)) return { errored: true, context: { message: 'request line is not a JSON object' } };
  if (request.cmd === 'start') {
    if (request.version !== PROTOCOL_VERSION) {
      log(`unsupported protocol version ${JSON.stringify(request.version)}; this harness speaks ${PROTOCOL_VERSION}`);
      process.exit(2);
    }
    const implementation = { ...IMPLEMENTATION };
    if (MUTANT) implementation.name += `+mutant:${MUTANT}`;
    const vendors = MUTANT === 'any-ready-drops-agencyhandy' ? VENDORS.filter((v) => v !== 'agencyhandy') : VENDORS;
    return { ready: true, version: PROTOCOL_VERSION, implementation, vendors };
  }
  if (request.cmd === 'stop') return null;
  let answer;
  if (request.cmd === 'create_client') {
    try {
      answer = await createClient(request);
    } catch (err) {
      if (!(err instanceof HarnessError)) log(`internal error: ${err.stack || err}`);
      const prefix = err instanceof HarnessError ? '' : 'harness bug: ';
      answer = { errored: true, context: { message: prefix + err.message } };
    }
  } else {
    answer = { errored: true, context: { message: `unknown cmd ${JSON.stringify(request.cmd)}` } };
  }
  return { seq: request.seq, ...answer };
}

function parseArgs(argv) {
  const args = { mutant: null, list: false };
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    if (a === '--list-mutants') args.list = true;
    else if (a === '--mutant') args.mutant = argv[++i] ?? '';
    else if (a.startsWith('--mutant=')) args.mutant = a.slice('--mutant='.length);
    else {
      process.stderr.write(`usage: node harness.js [--mutant NAME] [--list-mutants]\nunknown argument ${a}\n`);
      process.exit(2);
    }
  }
  if (args.mutant !== null && !Object.hasOwn(MUTANTS, args.mutant)) {
    process.stderr.write(`unknown mutant ${JSON.stringify(args.mutant)}; known: ${Object.keys(MUTANTS).join(', ')}\n`);
    process.exit(2);
  }
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.list) {
    for (const [name, what] of Object.entries(MUTANTS)) process.stdout.write(`${name}\t${what}\n`);
    return;
  }
  MUTANT = args.mutant;
  if (MUTANT) log(`mutant ${MUTANT}: ${MUTANTS[MUTANT]}`);
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
  for await (const line of rl) {
    if (line.trim() === '') continue;
    const answer = await handle(line);
    if (answer === null) process.exit(0);
    emit(answer);
  }
  process.exit(0);
}

// Run as a harness; imported (function_client.js), it lends its client.
if (require.main === module) {
  main().catch((err) => {
    log(`fatal: ${err.stack || err}`);
    process.exit(1);
  });
}

function setMutant(name) {
  if (name !== null && !Object.hasOwn(MUTANTS, name)) throw new Error(`unknown mutant ${name}`);
  MUTANT = name;
}

module.exports = { createClient, setMutant, HarnessError, IMPLEMENTATION, MUTANTS, VENDORS };
