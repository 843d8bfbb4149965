// validate() runs each model's rules, which @tsrec/models registers next to its model classes
// (packages/models/src/models/<model>_rules.ts, files that import only @tsrec/config). The CLI
// always loads them; config's tests load the rule files alone (no tfjs, no addon) so they check
// what users get. Paths are computed, so the project graph gains no config -> models edge.
const fs = require('node:fs');
const path = require('node:path');

const dir = path.join(__dirname, '..', '..', 'models', 'src', 'models');
for (const f of fs.readdirSync(dir).sort()) if (f.endsWith('_rules.ts')) require(path.join(dir, f));
