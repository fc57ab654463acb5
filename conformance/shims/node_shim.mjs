// vendor-conformance shim for `--client node:FILE#EXPORT` (protocol v1, PROTOCOL.md).
//
// Shipped inside the vendor-conformance binary and written to a temporary folder for each run.
// It imports FILE (an ES module or CommonJS file, relative to the current folder), takes its
// export EXPORT (default: the default export), and speaks the line protocol on the suite's
// behalf: for every `create_client` it calls
//
//     EXPORT({ vendor, base_url, credentials, input, timeout_ms })
//
// once, awaits it, and answers with the outcome it returns ({ kind: 'created', id: 7 }). A
// thrown error (or a rejected promise) becomes an `errored` reply carrying its stack.
//
// Optional exports: `vendors` (the vendors the client supports; default: every vendor of the
// suite's specs, argv) and `implementation` ({ name, language, version }).
//
// Protocol lines go to file descriptor 1 only; console.log and process.stdout.write from the
// client go to stderr, which the suite keeps for its crash reports.
import { writeSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { pathToFileURL } from 'node:url';

const PROTOCOL_VERSION = 1;
const SELF = import.meta.url;

function emit(obj) {
  const bytes = Buffer.from(`${JSON.stringify(obj)}\n`, 'utf8');
  let written = 0;
  while (written < bytes.length) written += writeSync(1, bytes, written);
}

// Everything the client prints goes to stderr.
process.stdout.write = process.stderr.write.bind(process.stderr);
for (const level of ['log', 'info', 'debug', 'dir', 'table']) console[level] = console.error;

function pick(mod, name) {
  if (name in mod) return mod[name];
  // A CommonJS module's exports are the default export.
  if (mod.default !== null && typeof mod.default === 'object' && name in mod.default) return mod.default[name];
  if (typeof mod.default === 'function' && name in mod.default) return mod.default[name];
  return undefined;
}

function errored(seq, message) {
  return { seq, errored: true, context: { message } };
}

function describe(value) {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

async function answer(fn, request) {
  const { seq } = request;
  let outcome;
  try {
    outcome = await fn({
      vendor: request.vendor,
      base_url: request.base_url,
      credentials: request.credentials,
      input: request.input,
      timeout_ms: request.timeout_ms ?? null,
    });
  } catch (err) {
    // The shim's own frames say nothing about the client.
    const stack = err instanceof Error && typeof err.stack === 'string'
      ? err.stack.split('\n').filter((l) => !l.includes(SELF)).join('\n')
      : '';
    const text = err instanceof Error ? stack || `${err.name}: ${err.message}` : `thrown: ${describe(err)}`;
    process.stderr.write(`${text}\n`);
    const first = err instanceof Error ? `${err.name}: ${err.message}` : `thrown: ${describe(err)}`;
    return errored(seq, text.startsWith(first) ? text : `${first}\n${text}`);
  }
  if (outcome === null || typeof outcome !== 'object' || Array.isArray(outcome) || typeof outcome.kind !== 'string') {
    return errored(
      seq,
      `the client function returned ${describe(outcome)}; expected an outcome object such as ` +
        '{ kind: "created", id: 42 } (see PROTOCOL.md)',
    );
  }
  return { seq, outcome };
}

async function main() {
  const [file, exportName = 'default', vendorList = ''] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node node_shim.mjs FILE [EXPORT] [VENDOR,...]\n');
    process.exit(2);
  }
  // Import before answering `start`: an import error is a start-up failure with its stack.
  const where = `node:${file}#${exportName}: cannot load the client function`;
  let mod;
  try {
    mod = await import(pathToFileURL(path.resolve(file)).href);
  } catch (err) {
    process.stderr.write(`${err && err.stack ? err.stack : err}\n${where}: ${err}\n`);
    process.exit(1);
  }
  const fn = pick(mod, exportName);
  if (typeof fn !== 'function') {
    const cjs = mod.default !== null && typeof mod.default === 'object' ? Object.keys(mod.default) : [];
    const names = [...Object.keys(mod).filter((k) => k !== 'default' || cjs.length === 0), ...cjs].join(', ') || '(none)';
    process.stderr.write(`${where}: ${file} has no function export \`${exportName}\` (its exports: ${names})\n`);
    process.exit(1);
  }
  const declared = pick(mod, 'vendors');
  const vendors = Array.isArray(declared) && declared.every((v) => typeof v === 'string')
    ? declared
    : vendorList.split(',').filter(Boolean);
  const implementation = { name: `${file}#${exportName}`, language: 'javascript', version: '' };
  const own = pick(mod, 'implementation');
  if (own !== null && typeof own === 'object') {
    for (const key of ['name', 'language', 'version']) if (key in own) implementation[key] = String(own[key]);
  }

  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
  for await (const line of rl) {
    if (line.trim() === '') continue;
    let request;
    try {
      request = JSON.parse(line);
    } catch (err) {
      process.stderr.write(`node_shim: a request line is not JSON: ${err.message}\n`);
      process.exit(2);
    }
    if (request.cmd === 'start') {
      emit({ ready: true, version: PROTOCOL_VERSION, implementation, vendors });
    } else if (request.cmd === 'stop') {
      break;
    } else if (request.cmd === 'create_client') {
      emit(await answer(fn, request));
    } else {
      emit(errored(request.seq, `unknown cmd ${describe(request.cmd)}`));
    }
  }
  // The client may hold sockets or timers open: the protocol says exit now.
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`node_shim: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
