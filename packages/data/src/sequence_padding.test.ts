import { BadDataReport } from './bad_data';
import { FeatureEngine } from './feature_engine';
import { padDenseSequence, padSparseSequence } from './sequence_padding';
import { csvBlock } from './testing/csv_block';

describe('sequence padding', () => {
  const e = new FeatureEngine({
    featureConfigs: [
      { feature: { case: 'sequenceIdFeature', value: { featureName: 'hist', numBuckets: 10, sequenceLength: 3 } } },
      { feature: { case: 'sequenceRawFeature', value: { featureName: 'ts', valueDim: 2 } } },
    ],
  });
  const b = e.featurize(csvBlock('hist,ts\n1;2;3;4,1\u00032;3\u00034\n,\n5,7\u00038\n'), new BadDataReport());

  it('pads sparse sequences to [B, length] (truncated to sequence_length first)', () => {
    expect(b.sparse.toJSON()).toEqual({ hist: [[1, 2, 3], [], [5]] });
    const p = padSparseSequence(b, 'hist', 2, -1);
    expect(Array.from(p.ids)).toEqual([1, 2, -1, -1, 5, -1]);
    expect(Array.from(p.lengths)).toEqual([2, 0, 1]);
  });

  it('pads dense sequences to [B, length, dim]', () => {
    const p = padDenseSequence(b, 'ts', 2);
    expect(p.dim).toBe(2);
    expect(Array.from(p.values)).toEqual([1, 2, 3, 4, 0, 0, 0, 0, 7, 8, 0, 0]);
    expect(Array.from(p.lengths)).toEqual([2, 0, 1]);
    expect(() => padDenseSequence(b, 'nope', 2)).toThrow(
      'Expected a dense sequence feature named "nope" in the batch but received ts',
    );
    expect(() => padSparseSequence(b, 'hist', 0)).toThrow(
      'Expected a positive integer for the padded length of "hist" but received 0',
    );
  });
});
