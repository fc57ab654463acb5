// vendor-mock for Node: start the vendor mock from tests and drive it through its admin API.
//
//   import { startMock } from 'vendor-mock';
//   const mock = await startMock({ seed: 7 });
//   // point the client under test at mock.url ...
//   await mock.inject({ type: 'status', status: 503 }, { vendor: 'smartlead', times: 1 });
//   const entries = await mock.journal('smartlead');
//   await mock.stop();
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const ENV = { 'vendor-mock': 'VENDOR_MOCK_BIN', 'vendor-conformance': 'VENDOR_CONFORMANCE_BIN' };
const BANNER = /listening on (http:\/\/\S+)/;

function executable(file) {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The vendor-mock workspace (a folder with Cargo.toml and mock-server/) at or above `start`. */
function workspaceAbove(start) {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'Cargo.toml')) && existsSync(path.join(dir, 'mock-server'))) return dir;
    if (path.dirname(dir) === dir) return null;
  }
}

/**
 * The path of `vendor-mock` (or `vendor-conformance`): `$VENDOR_MOCK_BIN` (`$VENDOR_CONFORMANCE_BIN`),
 * then PATH, then the workspace's build output, `target/{debug,release}` (or `$CARGO_TARGET_DIR`),
 * of the workspace this package sits in or the current folder is in. Throws, saying where it looked.
 */
export function findBinary(name = 'vendor-mock', env = process.env) {
  const variable = ENV[name];
  const explicit = variable ? env[variable] : undefined;
  if (explicit) {
    if (executable(explicit)) return explicit;
    throw new Error(`${variable}=${explicit} is not an executable file`);
  }
  const looked = [`$${variable} (unset)`];
  for (const dir of (env.PATH || '').split(path.delimiter).filter(Boolean)) {
    const file = path.join(dir, name);
    if (executable(file)) return file;
  }
  looked.push('PATH');
  const here = path.dirname(fileURLToPath(import.meta.url));
  const workspaces = [...new Set([workspaceAbove(here), workspaceAbove(process.cwd())].filter(Boolean))];
  if (workspaces.length === 0) looked.push('a workspace build (neither this package nor the current folder is in the vendor-mock repository)');
  for (const root of workspaces) {
    const target = env.CARGO_TARGET_DIR ? path.resolve(root, env.CARGO_TARGET_DIR) : path.join(root, 'target');
    const builds = ['debug', 'release'].map((profile) => path.join(target, profile, name));
    const found = builds.filter(executable).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
    if (found.length > 0) return found[0];
    looked.push(...builds);
  }
  throw new Error(
    `cannot find \`${name}\`; looked in: ${looked.join(', ')}. Build it with ` +
      '`cargo build -p mock-server -p conformance` in the vendor-mock repository, put it on PATH, ' +
      `or set ${variable}.`,
  );
}

/** `serve` flags from options: `{ seed: 7, headerCase: 'lenient', rateLimits: true }`. */
export function serveFlags(options) {
  const args = [];
  for (const [key, raw] of Object.entries(options)) {
    if (raw === undefined || raw === null || raw === false) continue;
    const flag = `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`).replaceAll('_', '-')}`;
    if (raw === true) {
      args.push(flag);
      continue;
    }
    let values = Array.isArray(raw) ? raw : [raw];
    if (!Array.isArray(raw) && typeof raw === 'object') values = Object.entries(raw).map(([k, v]) => `${k}=${v}`);
    for (const value of values) args.push(flag, String(value));
  }
  return args;
}

const OWN = new Set(['binary', 'env', 'startTimeoutMs', 'host', 'port']);

/**
 * Starts the mock on 127.0.0.1 and a free port and resolves once it answers its health check.
 * Options are `vendor-mock serve` flags in camelCase (`seed`, `revision` as `'agencyhandy=2026-07'`
 * or `{ agencyhandy: '2026-07' }`, `headerCase`, `specs`, `credentials`, `journalSecrets`,
 * `rateLimits`, `adminToken`, …), plus `binary`, `env` and `startTimeoutMs` (default 10 s).
 */
export async function startMock(options = {}) {
  const binary = options.binary ?? findBinary('vendor-mock');
  const serve = Object.fromEntries(Object.entries(options).filter(([k]) => !OWN.has(k)));
  const args = ['serve', '--host', '127.0.0.1', '--port', '0', ...serveFlags(serve)];
  const env = { ...process.env, ...(options.env ?? {}) };
  env.VENDOR_MOCK_LOG ??= 'warn';
  const child = spawn(binary, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = [];
  const keep = (line) => {
    output.push(line);
    if (output.length > 200) output.shift();
  };
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const failed = new Promise((resolve) => child.once('error', (error) => resolve({ error })));
  readline.createInterface({ input: child.stderr }).on('line', keep);
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no start banner')), options.startTimeoutMs ?? 10_000);
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      keep(line);
      const match = BANNER.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    Promise.race([exited, failed]).then((how) => {
      clearTimeout(timer);
      reject(new Error(how.error ? how.error.message : `it exited (${how.signal ?? how.code})`));
    });
  }).catch((err) => {
    child.kill('SIGKILL');
    process.removeListener('exit', killOnExit);
    const tail = output.length ? `; its output:\n${output.join('\n')}` : '';
    throw new Error(`vendor-mock did not start (${binary} ${args.join(' ')}): ${err.message}${tail}`);
  });
  // Nothing of the mock keeps a test process alive: a forgotten stop() ends with the process.
  child.unref();
  child.stdout.unref?.();
  child.stderr.unref?.();

  const token = options.adminToken ?? options.admin_token;
  async function admin(method, route, body) {
    const headers = {};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (token) headers.Authorization = `Bearer ${token}`;
    const answer = await fetch(url + route, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await answer.text();
    if (!answer.ok) throw new Error(`${method} ${route}: ${answer.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }
  await admin('GET', '/__admin/health');

  let stopped = null;
  const mock = {
    url,
    /** The mock's last lines of output. */
    get output() {
      return [...output];
    },
    async journal(vendor, filters = {}) {
      const query = new URLSearchParams();
      for (const [k, v] of Object.entries({ vendor, ...filters })) if (v !== undefined && v !== null) query.set(k, String(v));
      const suffix = query.toString() ? `?${query}` : '';
      return (await admin('GET', `/__admin/requests${suffix}`)).requests;
    },
    async records(vendor, collection) {
      const { records } = await admin('GET', `/__admin/state/${encodeURIComponent(vendor)}`);
      if (collection !== undefined) return [...(records[collection] ?? [])];
      return Object.values(records).flat();
    },
    async reset(vendor, credential) {
      const body = {};
      if (vendor) body.vendor = vendor;
      if (credential) body.credential = credential;
      await admin('POST', '/__admin/reset', body);
    },
    async inject(effect, { vendor, times, ...match } = {}) {
      const fault = { effect };
      for (const [k, v] of Object.entries({ vendor, times, ...match })) if (v !== undefined && v !== null) fault[k] = v;
      return (await admin('POST', '/__admin/faults', fault)).id;
    },
    async faults() {
      return (await admin('GET', '/__admin/faults')).faults;
    },
    async seedRecords(vendor, records, credentials) {
      const batch = credentials === undefined ? { records } : { credentials, records };
      return (await admin('POST', `/__admin/state/${encodeURIComponent(vendor)}`, batch)).created;
    },
    stop() {
      stopped ??= (async () => {
        process.removeListener('exit', killOnExit);
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
          await exited;
          clearTimeout(timer);
        }
      })();
      return stopped;
    },
  };
  return mock;
}
