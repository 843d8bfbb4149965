import * as tf from '@tensorflow/tfjs-core';

import { SyntheticCtrTask } from '../testing/synthetic_task';
import { testContext } from '../testing/test_context';
import { setUpTfjs } from '../tfjs_setup';
import { EmbeddingGroup } from './embedding_group';
import { wholeSources } from './select_columns';

// GroupedFeatures.blocks: a group made of whole blocks side by side (dense features, then the
// pooled embeddings) comes as those blocks, and its `groups` entry is their concatenation, built
// only when read.

beforeAll(() => setUpTfjs('cpu'));

const task = new SyntheticCtrTask(4, 3, 40, 11);
const names = (xs: string[]) => xs.map((n) => `feature_names: "${n}"`).join(' ');

function groupOf(groupsText: string) {
  const { config, ctx, collections } = testContext(
    task.configText(`${groupsText} deepfm { deep { hidden_units: [4] } } losses { binary_cross_entropy {} }`),
  );
  return { group: new EmbeddingGroup(config.modelConfig!.featureGroups, ctx), collections };
}

describe('EmbeddingGroup blocks', () => {
  it('gives dense + pooled blocks for a mixed group in block order, and the concat on read', () => {
    const text =
      `feature_groups { group_name: "deep" ${names([...task.denseNames, ...task.sparseNames])} group_type: DEEP } ` +
      `feature_groups { group_name: "fm" ${names(task.sparseNames)} group_type: DEEP } ` +
      `feature_groups { group_name: "mixed" ${names([task.sparseNames[0], task.denseNames[0]])} group_type: DEEP }`;
    const { group, collections } = groupOf(text);
    const { batch } = task.batch(16);
    tf.tidy(() => {
      const out = group.forward(batch);
      expect(Object.keys(out.blocks)).toEqual(['deep']); // fm is one block; mixed picks parts of blocks
      const [dense, pooled] = out.blocks.deep;
      expect(dense.shape).toEqual([16, task.denseNames.length]);
      expect(pooled.shape).toEqual([16, group.groupDim('fm')]);
      const deep = out.groups.deep;
      expect(deep.shape).toEqual([16, group.groupDim('deep')]);
      expect(Array.from(deep.dataSync())).toEqual(Array.from(tf.concat([dense, pooled], 1).dataSync()));
      expect(out.groups.deep).toBe(deep); // built once
      expect(Object.keys(out.groups).sort()).toEqual(['deep', 'fm', 'mixed']);
      expect(out.groups.mixed.shape).toEqual([16, group.groupDim('mixed')]);
      // A disposed concat is rebuilt on the next read; the entry stays assignable.
      deep.dispose();
      expect(out.groups.deep.isDisposed).toBe(false);
      expect(Array.from(out.groups.deep.dataSync())).toEqual(Array.from(tf.concat([dense, pooled], 1).dataSync()));
      const other = tf.zeros([16, group.groupDim('deep')]) as tf.Tensor2D;
      out.groups.deep = other;
      expect(out.groups.deep).toBe(other);
    });
    group.dispose();
    collections.forEach((c) => c.dispose());
  });
});

describe('EmbeddingGroup with co-located wide tables', () => {
  it('pools deep-only, both-group and wide-only features like two separate collections', () => {
    // sparse[0]: DEEP only; sparse[1], sparse[2]: both (their _wide tables co-located); sparse[3]: WIDE only (a _wide table of its own).
    const s = task.sparseNames;
    const text = `feature_groups { group_name: "deep" ${names([s[0], s[1], s[2]])} group_type: DEEP } feature_groups { group_name: "wide" ${names([s[1], s[2], s[3]])} group_type: WIDE }`;
    const { config, ctx, collections } = testContext(
      task.configText(`${text} deepfm { deep { hidden_units: [4] } } losses { binary_cross_entropy {} }`),
    );
    const co = new EmbeddingGroup(config.modelConfig!.featureGroups, ctx);
    const sep = new EmbeddingGroup(config.modelConfig!.featureGroups, ctx, { coLocateWide: false });
    expect(collections.length).toBe(3);
    const [together, deep, wide] = collections;
    expect(
      together.tables.map((t) => `${t.name}${t.host >= 0 ? `@${together.tables[t.host].name}` : ''}/${t.output}`),
    ).toEqual([
      `${s[0]}/0`,
      `${s[1]}/0`,
      `${s[2]}/0`,
      `${s[1]}_wide@${s[1]}/1`,
      `${s[2]}_wide@${s[2]}/1`,
      `${s[3]}_wide/1`,
    ]);
    for (const c of [deep, wide])
      for (const t of c.tables) c.writeRows(t.name, 0, together.readRows(t.name, 0, t.rows));
    const { batch } = task.batch(32);
    tf.tidy(() => {
      const a = co.forward(batch);
      const b = sep.forward(batch);
      for (const g of ['deep', 'wide'])
        expect(Array.from(a.groups[g].dataSync())).toEqual(Array.from(b.groups[g].dataSync()));
    });
    [co, sep].forEach((g) => g.dispose());
    collections.forEach((c) => c.dispose());
  });
});

describe('wholeSources', () => {
  const pick = (pairs: [number, number][]) => pairs.map(([source, column]) => ({ source, column }));
  it('returns the source order for whole sources side by side, else null', () => {
    expect(
      wholeSources(
        [2, 3],
        pick([
          [1, 0],
          [1, 1],
          [1, 2],
          [0, 0],
          [0, 1],
        ]),
      ),
    ).toEqual([1, 0]);
    expect(
      wholeSources(
        [2, 3],
        pick([
          [0, 0],
          [0, 1],
        ]),
      ),
    ).toEqual([0]);
    expect(
      wholeSources(
        [2, 3],
        pick([
          [0, 1],
          [0, 0],
        ]),
      ),
    ).toBeNull(); // out of order
    expect(
      wholeSources(
        [2, 3],
        pick([
          [0, 0],
          [0, 1],
          [1, 0],
          [1, 1],
        ]),
      ),
    ).toBeNull(); // part of a source
    expect(
      wholeSources(
        [2],
        pick([
          [0, 0],
          [0, 1],
          [0, 0],
          [0, 1],
        ]),
      ),
    ).toBeNull(); // a source twice
    expect(wholeSources([0, 1], pick([[1, 0]]))).toEqual([1]);
    expect(wholeSources([2], [])).toBeNull();
  });
});
