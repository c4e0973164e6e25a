#!/usr/bin/env node
// volume-guard's command, as npm installs it. Plain JavaScript that any Node can parse, so an unsupported Node gets
// one clear line instead of a syntax or TypeError from deep inside a dependency; only then is the CLI loaded: the
// compiled dist/cli.js when `npm run build` made one, otherwise src/cli.ts straight from source (Node >= 24 runs
// TypeScript by stripping types), so `npm ci` alone leaves a working command.
'use strict';

var REQUIRED = [24, 11];
var found = process.versions.node.split('.').map(Number);
var supported = found[0] > REQUIRED[0] || (found[0] === REQUIRED[0] && found[1] >= REQUIRED[1]);
if (!supported) {
  process.stderr.write(
    'volume-guard: needs Node >= ' + REQUIRED.join('.') + ', found ' + process.versions.node +
      ' (' + process.execPath + '). Install Node 24, or run it with the project\'s own: npx volume-guard ...\n'
  );
  process.exit(2);
}

var fs = require('node:fs');
var path = require('node:path');
var url = require('node:url');
var root = path.resolve(__dirname, '..');
var compiled = path.join(root, 'dist', 'cli.js');
var entry = fs.existsSync(compiled) ? compiled : path.join(root, 'src', 'cli.ts');
import(url.pathToFileURL(entry).href)
  .then(function (cli) {
    return cli.main();
  })
  .then(function (code) {
    // serve keeps the process alive itself; everything else ends here.
    if (code !== 0) process.exit(code);
  })
  .catch(function (error) {
    process.stderr.write('volume-guard: ' + (error && error.stack ? error.stack : String(error)) + '\n');
    process.exit(1);
  });
