#!/usr/bin/env node

// The `tsrec` CLI: train_eval | eval | export | predict | plan | info (see `tsrec --help`).
let cli;
try {
  cli = require('../dist/cli.js');
} catch (e) {
  if (e?.code !== 'MODULE_NOT_FOUND' || !String(e.message).includes('dist/cli.js')) throw e;
  process.stderr.write(
    'tsrec: the trainer is not built (packages/trainer/dist is missing); run `npm install` at the repository root, or `npx nx run trainer:build`\n',
  );
  process.exit(1);
}
cli
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  })
  .catch((e) => {
    process.stderr.write(`tsrec: ${e?.stack ? e.stack : e}\n`);
    process.exitCode = 1;
  });
