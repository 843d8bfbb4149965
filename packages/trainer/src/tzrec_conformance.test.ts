import * as path from 'node:path';
import { loadPipelineConfig, validate } from '@tsrec/config';
import { setUpTfjs } from '@tsrec/models';

import { describeWithSharedData, sharedPath } from '../../../test/helpers/shared_data';
import { buildModel } from './model_setup';
import { type ConformanceRow, configFiles, conformanceOf, formatConformance } from './tzrec_conformance';

beforeAll(() => setUpTfjs('cpu'));

const EXAMPLES = path.resolve(__dirname, '../../../examples');

describe("tsrec's own examples", () => {
  it.each(configFiles(EXAMPLES).map((f) => [path.basename(f), f]))('%s validates and builds', (_, file) => {
    const row = conformanceOf(file, EXAMPLES);
    expect(row.firstProblem).toBe('');
    expect([row.parses, row.validates, row.builds]).toEqual([true, true, true]);
  });
});

describeWithSharedData(['tzrec/examples'], "TorchEasyRec's 65 shipped configs (../shared/tzrec)", () => {
  const root = sharedPath('tzrec');
  let rows: ConformanceRow[];
  beforeAll(() => {
    rows = configFiles(root).map((f) => conformanceOf(f, root));
    process.stdout.write(`${formatConformance(rows)}\n`);
  });

  it('all parse as written', () => {
    expect(rows).toHaveLength(65);
    expect(rows.filter((r) => !r.parses).map((r) => `${r.file}: ${r.firstProblem}`)).toEqual([]);
  });

  it('every config that validates builds (validator and runtime agree)', () => {
    expect(rows.filter((r) => r.validates && !r.builds).map((r) => `${r.file}: ${r.firstProblem}`)).toEqual([]);
  });

  it('the counts the README states: 17 validate and build with only the data source swapped', () => {
    expect(rows.filter((r) => r.validates).map((r) => r.file)).toEqual([
      'examples/dbmtl_taobao.config',
      'examples/dbmtl_taobao_jrc.config',
      'examples/deepfm_criteo.config',
      'examples/dlrm_criteo.config',
      'examples/masknet_criteo.config',
      'examples/mmoe_taobao.config',
      'examples/multi_tower_taobao.config',
      'examples/ple_taobao.config',
      'tzrec/benchmark/configs/criteo/deepfm.config',
      'tzrec/benchmark/configs/criteo/dlrm.config',
      'tzrec/benchmark/configs/taobao/dbmtl.config',
      'tzrec/benchmark/configs/taobao/dbmtl_jrc.config',
      'tzrec/benchmark/configs/taobao/mmoe.config',
      'tzrec/benchmark/configs/taobao/ple.config',
      'tzrec/benchmark/configs/taobao_ccp/dbmtl.config',
      'tzrec/benchmark/configs/taobao_ccp/mmoe.config',
      'tzrec/benchmark/configs/taobao_ccp/ple.config',
    ]);
  });

  it('a MaxCompute config as written is refused at validation with one sentence on what to do', () => {
    const config = loadPipelineConfig(path.join(root, 'examples/deepfm_criteo.config'));
    const odps = validate(config).filter((p) => p.message.includes('MaxCompute'));
    expect(odps.map((p) => `${p.path}: ${p.message}`)).toEqual([
      'data_config.dataset_type: reading MaxCompute tables (dataset_type OdpsDataset) is not supported yet by tsrec; export the data to Parquet or CSV files and use dataset_type ParquetDataset or CsvDataset',
      expect.stringMatching(
        /^train_input_path: reading MaxCompute tables \(odps:\/\/\S+\) is not supported yet by tsrec; export the data/,
      ),
      expect.stringMatching(
        /^eval_input_path: reading MaxCompute tables \(odps:\/\/\S+\) is not supported yet by tsrec/,
      ),
    ]);
  });

  it('builds a validated config at its real size too (tables not capped)', () => {
    const config = loadPipelineConfig(path.join(root, 'examples/multi_tower_taobao.config'));
    buildModel(config).dispose();
  });
});
