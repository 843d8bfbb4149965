import * as tf from '@tensorflow/tfjs-core';

import { setUpTfjs } from '../tfjs_setup';
import { assembleColumns, selectColumns } from './select_columns';

beforeAll(() => setUpTfjs('cpu'));

describe('assembleColumns', () => {
  it('copies picked columns and routes gradients back like gather/concat (repeats accumulate)', () => {
    const a = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = tf.tensor2d([10, 20, 30, 40], [2, 2]);
    const picks = [
      { source: 1, column: 1 },
      { source: 0, column: 0 },
      { source: 0, column: 2 },
      { source: 1, column: 1 },
    ];
    expect(Array.from(assembleColumns([a, b], picks).dataSync())).toEqual([20, 1, 3, 20, 40, 4, 6, 40]);
    const R = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [2, 4]);
    const f = (x: tf.Tensor, y: tf.Tensor) =>
      tf.sum(tf.mul(assembleColumns([x as tf.Tensor2D, y as tf.Tensor2D], picks), R));
    const plain = (x: tf.Tensor, y: tf.Tensor) =>
      tf.sum(
        tf.mul(
          tf.gather(
            tf.concat([x, y], 1),
            tf.tensor1d(
              picks.map((p) => (p.source === 0 ? p.column : 3 + p.column)),
              'int32',
            ),
            1,
          ),
          R,
        ),
      );
    const [ga, gb] = tf.grads(f)([a, b]);
    const [pa, pb] = tf.grads(plain)([a, b]);
    expect(Array.from(ga.dataSync())).toEqual(Array.from(pa.dataSync()));
    expect(Array.from(gb.dataSync())).toEqual(Array.from(pb.dataSync()));
  });
  it('returns the source itself for an in-order full pick and checks picks', () => {
    const a = tf.zeros([2, 3]) as tf.Tensor2D;
    expect(selectColumns(a, [0, 1, 2])).toBe(a);
    expect(() => selectColumns(a, [3])).toThrow(
      'Expected a column of one of 1 sources for assembleColumns but received source 0, column 3',
    );
  });
});
