#!/usr/bin/env node

// The `tsrec` CLI: train_eval | eval | export | predict (see `tsrec --help`).
require('../dist/cli.js')
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  })
  .catch((e) => {
    process.stderr.write(`tsrec: ${e?.stack ? e.stack : e}\n`);
    process.exitCode = 1;
  });
