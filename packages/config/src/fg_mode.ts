import { isFieldSet } from '@bufbuild/protobuf';
import { type DataConfig, DataConfigSchema, FgMode } from './gen/tsrec/protos/data_pb';

/**
 * The feature-generation mode a data_config runs in, as TorchEasyRec derives it
 * (config_util._get_compatible_fg_mode): the deprecated `fg_encoded`, when set, decides (true:
 * FG_NONE; false: FG_DAG with fg_threads > 0, else FG_NORMAL); otherwise `fg_mode`.
 */
export function effectiveFgMode(dc: DataConfig | undefined): FgMode {
  if (!dc) return FgMode.FG_NONE;
  if (isFieldSet(dc, DataConfigSchema.field.fgEncoded))
    return dc.fgEncoded ? FgMode.FG_NONE : dc.fgThreads > 0 ? FgMode.FG_DAG : FgMode.FG_NORMAL;
  return dc.fgMode;
}
