// The TypeScript types (index.d.ts) describe the package: a typed test file compiles with
// `tsc --strict`, and a misuse does not.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');

const USE = `
import { findBinary, startMock, type JournalEntry, type Mock } from 'vendor-mock';
const mock: Mock = await startMock({ seed: 7, revision: { agencyhandy: '2026-07' }, headerCase: 'lenient' });
const url: string = mock.url;
await mock.inject({ type: 'status', status: 503 }, { vendor: 'smartlead', times: 1 });
const entries: JournalEntry[] = await mock.journal('smartlead', { status: '4xx' });
const status: number = entries[0].status;
const records = await mock.records('smartlead');
await mock.reset();
await mock.reset('smartlead');
const bin: string = findBinary('vendor-conformance');
await mock.stop();
export const used = [url, status, records.length, bin];
`;

function compile(source) {
  const dir = mkdtempSync(path.join(tmpdir(), 'vendor-mock-types-'));
  writeFileSync(path.join(dir, 'use.ts'), source);
  const config = {
    compilerOptions: {
      strict: true,
      noEmit: true,
      target: 'es2022',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      lib: ['es2022'],
      types: [],
      paths: { 'vendor-mock': [path.join(root, 'index.d.ts')] },
    },
    files: ['use.ts'],
  };
  writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(config));
  writeFileSync(path.join(dir, 'package.json'), '{"type": "module"}');
  try {
    execFileSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' });
    return '';
  } catch (err) {
    return err.stdout || String(err);
  }
}

test('the types compile in strict mode for the documented use, and catch a misuse', () => {
  assert.ok(existsSync(tsc), `TypeScript is missing: run \`npm ci\` in ${root} (the test command does)`);
  assert.equal(compile(USE), '');
  const misuse = compile(`import { startMock } from 'vendor-mock';\nconst m = await startMock();\nawait m.inject({ type: 'status' }, { times: 'once' });\n`);
  assert.match(misuse, /error TS/);
});
