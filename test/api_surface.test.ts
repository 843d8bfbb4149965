/**
 * Each package's public surface (the names its src/index.ts exports, with their kinds) equals its
 * packages/<name>/api.txt: a surface changes only on purpose (node tools/api_surface.js --update).
 */
const { compare } = require('../tools/api_surface') as {
  compare(): { name: string; expected: string[]; found: string[] }[];
};

describe('package surfaces', () => {
  const results = compare();
  it.each(results.map((r) => [r.name, r] as const))('@tsrec/%s exports what its api.txt lists', (_, r) => {
    expect(r.found.length).toBeGreaterThan(0);
    expect(r.found).toEqual(r.expected);
  });
});
