import { KeyedJaggedBatch } from './keyed_jagged_batch';

describe('KeyedJaggedBatch', () => {
  // The docstring's example: user bags [7] [] [1,4], item bags [9] [2,2] [5].
  const kjb = () =>
    KeyedJaggedBatch.fromLengths({
      keys: ['user', 'item'],
      batchSize: 3,
      values: Int32Array.of(7, 1, 4, 9, 2, 2, 5),
      lengths: Int32Array.of(1, 0, 2, 1, 2, 1),
    });

  it('fromLengths builds the feature-major offsets of the docstring', () => {
    const b = kjb();
    expect(Array.from(b.offsets)).toEqual([0, 1, 1, 3, 4, 6, 7]);
    expect(Array.from(b.offsetPerKey())).toEqual([0, 3, 7]);
    expect(Array.from(b.bag('user', 2))).toEqual([1, 4]);
    expect(Array.from(b.bag(1, 1))).toEqual([2, 2]);
    expect(b.toJSON()).toEqual({ user: [[7], [], [1, 4]], item: [[9], [2, 2], [5]] });
  });

  it('fromOffsets equals fromLengths and derives lengths lazily', () => {
    const a = kjb();
    const b = KeyedJaggedBatch.fromOffsets({
      keys: ['user', 'item'],
      batchSize: 3,
      values: a.values,
      offsets: a.offsets,
    });
    expect(Array.from(b.lengths())).toEqual([1, 0, 2, 1, 2, 1]);
    expect(b.lengths()).toBe(b.lengths());
  });

  it('toSparseBatch hands the same arrays to the native EmbeddingCollection', () => {
    const b = kjb();
    const s = b.toSparseBatch();
    expect(s.indices).toBe(b.values);
    expect(s.offsets).toBe(b.offsets);
    expect(s.batchSize).toBe(3);
    expect(s.weights).toBeNull();
  });

  it('select copies some keys in a given order', () => {
    const s = kjb().select(['item']);
    expect(s.toJSON()).toEqual({ item: [[9], [2, 2], [5]] });
    expect(Array.from(s.offsets)).toEqual([0, 1, 3, 4]);
    const w = KeyedJaggedBatch.fromLengths({
      keys: ['a', 'b'],
      batchSize: 1,
      values: Int32Array.of(1, 2),
      lengths: Int32Array.of(1, 1),
      weights: Float32Array.of(0.5, 2),
    });
    expect(Array.from(w.select(['b', 'a']).weightsOrThrow())).toEqual([2, 0.5]);
  });

  it('weights accessors: xOrNull and x (throws)', () => {
    expect(kjb().weightsOrNull()).toBeNull();
    expect(() => kjb().weightsOrThrow()).toThrow('This batch of keys [user, item] has no weights');
    const w = KeyedJaggedBatch.fromLengths({
      keys: ['a'],
      batchSize: 2,
      values: Int32Array.of(1, 2),
      lengths: Int32Array.of(2, 0),
      weights: Float32Array.of(0.5, 2),
    });
    expect(Array.from(w.bagWeights('a', 0))).toEqual([0.5, 2]);
  });

  it('toMessage / revive: a structured clone carries only the arrays and revives equal', () => {
    const a = kjb();
    a.lengths(); // fills the lengths cache, which must not travel
    const m = structuredClone(a.toMessage());
    expect(Object.keys(m).sort()).toEqual(['batchSize', 'keys', 'offsets', 'values', 'weights']);
    const b = KeyedJaggedBatch.revive(m);
    expect(b.toJSON()).toEqual(a.toJSON());
    expect(Array.from(b.offsets)).toEqual(Array.from(a.offsets));
    // A message that toMessage could not have made gets the full validation and its message.
    expect(() => KeyedJaggedBatch.revive({ ...m, offsets: Int32Array.of(0, 1, 0, 3, 4, 6, 7) })).not.toThrow(); // O(1) checks pass: trusted
    expect(() => KeyedJaggedBatch.revive({ ...m, offsets: Int32Array.of(0, 1, 1, 3, 4, 6, 8) })).toThrow(
      'Expected offsets[6] = values.length (7) but received 8',
    );
  });

  it('fromLengths: lengths summing past int32 are refused', () => {
    expect(() =>
      KeyedJaggedBatch.fromLengths({
        keys: ['a'],
        batchSize: 2,
        values: new Int32Array(1),
        lengths: Int32Array.of(2147483647, 2),
      }),
    ).toThrow('Expected offsets[2] = values.length (1) but received 2147483649');
  });

  it('rejects inconsistent layouts with exact messages', () => {
    const keys = ['a', 'b'];
    expect(() =>
      KeyedJaggedBatch.fromLengths({ keys, batchSize: 2, values: new Int32Array(0), lengths: new Int32Array(3) }),
    ).toThrow('Expected lengths of length 4 (keys 2 x batchSize 2) but received 3');
    expect(() =>
      KeyedJaggedBatch.fromLengths({ keys, batchSize: 1, values: new Int32Array(0), lengths: Int32Array.of(-1, 1) }),
    ).toThrow('Expected non-negative lengths but lengths[0] is -1');
    expect(() =>
      KeyedJaggedBatch.fromLengths({ keys, batchSize: 1, values: new Int32Array(0), lengths: Int32Array.of(1, -1) }),
    ).toThrow('Expected non-negative lengths but lengths[1] is -1');
    expect(() =>
      KeyedJaggedBatch.fromLengths({ keys, batchSize: 1, values: new Int32Array(1), lengths: Int32Array.of(1, 1) }),
    ).toThrow('Expected offsets[2] = values.length (1) but received 2');
    expect(() =>
      KeyedJaggedBatch.fromOffsets({ keys, batchSize: 1, values: new Int32Array(2), offsets: Int32Array.of(0, 2) }),
    ).toThrow('Expected offsets of length 3 (keys 2 x batchSize 1 + 1) but received 2');
    expect(() =>
      KeyedJaggedBatch.fromOffsets({ keys, batchSize: 1, values: new Int32Array(2), offsets: Int32Array.of(1, 1, 2) }),
    ).toThrow('Expected offsets[0] = 0 but received 1');
    expect(() =>
      KeyedJaggedBatch.fromOffsets({ keys, batchSize: 1, values: new Int32Array(2), offsets: Int32Array.of(0, 2, 1) }),
    ).toThrow('Expected non-decreasing offsets but offsets[2] = 1 < offsets[1] = 2');
    expect(() =>
      KeyedJaggedBatch.fromOffsets({ keys, batchSize: 1, values: new Int32Array(3), offsets: Int32Array.of(0, 1, 2) }),
    ).toThrow('Expected offsets[2] = values.length (3) but received 2');
    expect(() =>
      KeyedJaggedBatch.fromOffsets({
        keys,
        batchSize: 1,
        values: new Int32Array(2),
        offsets: Int32Array.of(0, 1, 2),
        weights: new Float32Array(1),
      }),
    ).toThrow('Expected weights of length 2 (as values) but received 1');
    expect(() => KeyedJaggedBatch.empty(['a', 'a'], 1)).toThrow('Expected distinct keys but received [a, a]');
    expect(() => KeyedJaggedBatch.empty(['a'], -1)).toThrow(
      'Expected a non-negative integer for batchSize but received -1',
    );
    expect(() => kjb().bag('nope', 0)).toThrow('Expected one of the keys [user, item] but received "nope"');
  });

  it('empty batches have all-zero offsets', () => {
    const e = KeyedJaggedBatch.empty(['a', 'b'], 3);
    expect(Array.from(e.offsets)).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect(e.values.length).toBe(0);
  });
});
