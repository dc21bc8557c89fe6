#!/usr/bin/env node
// The workspace bin (`pnpm exec omniaffect`). It is a committed file rather than dist/src/main.js
// itself because pnpm links bins before `pnpm install`'s postinstall compiles dist/: a bin that
// points into dist/ is not linked on a fresh clone's first install.
'use strict';
const path = require('node:path');
const main = path.join(__dirname, '..', 'dist', 'src', 'main.js');
try {
  require.resolve(main);
} catch {
  process.stderr.write(`omniaffect: ${main} is not built: run \`pnpm install\` (or \`pnpm build\`) first\n`);
  process.exit(1);
}
require(main);
