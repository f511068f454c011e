// bundled-licenses.js MAP [--missing] MODULES...: the licences of the
// packages a bundle holds, as its source map MAP names them, read from the
// node_modules trees MODULES; with --missing, only the names of those none
// of the trees has. fetch.sh runs it for GraphiQL's bundle.
'use strict';
const fs = require('fs');
const path = require('path');

const [map, ...rest] = process.argv.slice(2);
const missingOnly = rest[0] === '--missing';
const trees = missingOnly ? rest.slice(1) : rest;

const names = new Set();
for (const src of JSON.parse(fs.readFileSync(map, 'utf8')).sources) {
  const at = src.lastIndexOf('node_modules/');
  if (at < 0) continue; // GraphiQL's own packages, under graphiql's LICENSE
  const parts = src.slice(at + 'node_modules/'.length).split('/');
  names.add(parts[0].startsWith('@') ? parts[0] + '/' + parts[1] : parts[0]);
}

// find looks for a package at the top of a tree, then in the trees nested
// below its packages (npm nests a version that clashes with another).
function find(dir, name) {
  if (!fs.existsSync(dir)) return null;
  const direct = path.join(dir, name);
  if (fs.existsSync(path.join(direct, 'package.json'))) return direct;
  for (const entry of fs.readdirSync(dir)) {
    const owners = entry.startsWith('@') ?
      fs.readdirSync(path.join(dir, entry)).map((sub) => path.join(dir, entry, sub)) :
      [path.join(dir, entry)];
    for (const owner of owners) {
      const found = find(path.join(owner, 'node_modules'), name);
      if (found) return found;
    }
  }
  return null;
}

const located = (name) => trees.map((t) => find(t, name)).find(Boolean);
const sorted = [...names].sort();
if (missingOnly) {
  console.log(sorted.filter((name) => !located(name)).join(' '));
  process.exit(0);
}
console.log('The packages graphiql.min.js bundles, as its source map names them,');
console.log('with their licences. Written by ../../fetch.sh.');
for (const name of sorted) {
  const dir = located(name);
  if (!dir) {
    console.log(`\n==> ${name} <==\nnot found on the registry`);
    continue;
  }
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const file = fs.readdirSync(dir).find((f) => /^licen[cs]e/i.test(f));
  console.log(`\n==> ${name}@${pkg.version} (${pkg.license || 'no licence named'}) <==`);
  console.log(file ?
    fs.readFileSync(path.join(dir, file), 'utf8').trim() :
    `no licence file in the package; its package.json names ${pkg.license}`);
}
