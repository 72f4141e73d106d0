#!/usr/bin/env node
// The `fireact` command: runs the TypeScript CLI through tsx (no build step).
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const root = path.join(__dirname, '..');
const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'scripts', 'cli.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status === null ? 1 : r.status);
