#!/usr/bin/env node
// The `fireact` command. Runs scripts/cli.ts from a bundle kept in dist/cli/ (ignored by git), built
// with the esbuild that tsx ships, the first time and again whenever a source it was built from
// changes (size or mtime), so a fresh clone needs no build step and a call costs no transpiling.
// Packages stay outside the bundle; each command loads its own code only when it runs. If the
// bundle cannot be built (an unwritable folder), the CLI runs through tsx as before.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
// FIREACT_CLI_BUNDLE_DIR (a folder inside the clone, so the bundle still finds node_modules) lets a
// test build its own bundle while other CLI calls use dist/cli.
const outDir = process.env.FIREACT_CLI_BUNDLE_DIR ? path.resolve(process.env.FIREACT_CLI_BUNDLE_DIR) : path.join(root, 'dist', 'cli');
const manifestFile = path.join(outDir, 'manifest.json');
/** Bumped when the build options change, so an older bundle is rebuilt. */
const BUILD = 1;

function stamp(file) {
  const st = fs.statSync(path.join(root, file));
  return `${st.size}:${st.mtimeMs}`;
}

/** The bundle when every source it was built from is unchanged, else null. */
function freshBundle() {
  let manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
  } catch {
    return null;
  }
  if (manifest.build !== BUILD || manifest.node !== process.version) return null;
  try {
    for (const [file, was] of Object.entries(manifest.inputs)) if (stamp(file) !== was) return null;
  } catch {
    return null; // a source was deleted or renamed
  }
  const bundle = path.join(outDir, manifest.bundle);
  return fs.existsSync(bundle) ? bundle : null;
}

function build() {
  // esbuild comes with tsx (a dependency already); resolve it from there.
  const esbuild = require(require.resolve('esbuild', { paths: [path.dirname(require.resolve('tsx/package.json'))] }));
  fs.mkdirSync(outDir, { recursive: true });
  const name = `fireact-${process.pid}-${Date.now()}.cjs`;
  const result = esbuild.buildSync({
    entryPoints: [path.join(root, 'scripts', 'cli.ts')],
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: `node${process.versions.node.split('.')[0]}`,
    packages: 'external',
    outfile: path.join(outDir, name),
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = {};
  for (const file of Object.keys(result.metafile.inputs)) inputs[file] = stamp(file);
  // Bundle first, manifest last (atomically), so a concurrent call sees an old or a new pair, never a mix.
  const tmp = `${manifestFile}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ build: BUILD, node: process.version, bundle: name, inputs }));
  fs.renameSync(tmp, manifestFile);
  // Older bundles go once no call can still be about to load them.
  for (const f of fs.readdirSync(outDir)) {
    if (f === name || !f.endsWith('.cjs')) continue;
    try {
      if (Date.now() - fs.statSync(path.join(outDir, f)).mtimeMs > 60_000) fs.unlinkSync(path.join(outDir, f));
    } catch {
      // another call removed it
    }
  }
  return path.join(outDir, name);
}

let bundle = freshBundle();
if (!bundle) {
  try {
    bundle = build();
  } catch (err) {
    process.stderr.write(`fireact: cannot build the CLI bundle in ${outDir} (${err.message.split('\n')[0]}); running through tsx, which is slower\n`);
  }
}
if (bundle) {
  require(bundle);
} else {
  const { spawnSync } = require('node:child_process');
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'scripts', 'cli.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status === null ? 1 : r.status);
}
