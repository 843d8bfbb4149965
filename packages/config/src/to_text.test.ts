import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { equals } from '@bufbuild/protobuf';
import { EasyRecConfigSchema, loadPipelineConfig, parsePipelineConfig, saveConfig, toJsonText, toText } from './index';

const EXAMPLES = join(__dirname, '..', '..', '..', 'examples');

describe('toText', () => {
  test.each(readdirSync(EXAMPLES).filter((f) => f.endsWith('.config')))(
    '%s: text -> config -> text -> config round-trips',
    (f) => {
      const a = loadPipelineConfig(join(EXAMPLES, f));
      const text = toText(a);
      const b = parsePipelineConfig(text);
      expect(equals(EasyRecConfigSchema, a, b)).toBe(true);
      expect(toText(b)).toBe(text);
      expect(equals(EasyRecConfigSchema, a, parsePipelineConfig(toJsonText(a)))).toBe(true);
    },
  );

  test('saveConfig writes text or JSON by extension', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsrec-save-'));
    const cfg = loadPipelineConfig(join(EXAMPLES, 'deepfm_criteo.config'));
    saveConfig(cfg, join(dir, 'model', 'pipeline.config'));
    saveConfig(cfg, join(dir, 'model', 'pipeline.json'));
    expect(readFileSync(join(dir, 'model', 'pipeline.config'), 'utf8')).toBe(toText(cfg));
    expect(JSON.parse(readFileSync(join(dir, 'model', 'pipeline.json'), 'utf8')).data_config.batch_size).toBe(4096);
  });
});
