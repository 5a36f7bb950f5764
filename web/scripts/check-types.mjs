// Fails the build when src/api/schema.d.ts is not what openapi-typescript
// makes from openapi.json (the API changed and nobody ran `npm run gen`).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = join(dirname(fileURLToPath(import.meta.url)), '..');
const committed = join(web, 'src/api/schema.d.ts');
const dir = mkdtempSync(join(tmpdir(), 'berth-schema-'));
const fresh = join(dir, 'schema.d.ts');
try {
  const cli = join(web, 'node_modules/openapi-typescript/bin/cli.js');
  execFileSync(process.execPath, [cli, join(web, 'openapi.json'), '-o', fresh], {
    cwd: web,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  let current = '';
  try {
    current = readFileSync(committed, 'utf8');
  } catch {
    current = '';
  }
  if (current !== readFileSync(fresh, 'utf8')) {
    console.error('web/src/api/schema.d.ts is stale: run npm run gen');
    process.exitCode = 1;
  } else {
    console.log('web/src/api/schema.d.ts matches openapi.json');
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
