import { CriteoSynthetic } from '@tsrec/data';
import { exactAuc } from '@tsrec/models';

// The synthetic Criteo-like set (@tsrec/data) draws labels from a planted probability; the AUC of
// that probability is the best any model can reach, which the default example and the e2e tests
// compare against. It must be well above chance and below certainty.
describe("the synthetic set's planted AUC", () => {
  it('is between 0.7 and 0.9 on 20,000 rows', () => {
    const c = new CriteoSynthetic({ rows: 0, seed: 1 }).chunk(0, 20000);
    const best = exactAuc(c.probability, c.labels);
    expect(best).toBeGreaterThan(0.7);
    expect(best).toBeLessThan(0.9);
  });
});
