// train_eval with W ranks simulated in this one process (SimWorld): the reference a `mpirun -np W`
// run must equal bit for bit. Usage: node sim_train.js <pipeline.config> <model_dir> <W>

const { loadPipelineConfig } = require('@tsrec/config');
const { setUpTfjs } = require('@tsrec/models');
const { SimWorld, selectBackend } = require('@tsrec/native');
const { trainAndEvaluate } = require('@tsrec/trainer');

async function main() {
  const [configPath, modelDir, w] = process.argv.slice(2);
  await setUpTfjs(await selectBackend({}));
  const world = new SimWorld(Number(w));
  const summaries = await Promise.all(
    world.ranks.map((comm) =>
      trainAndEvaluate({ config: loadPipelineConfig(configPath), modelDir, comm, stream: process.stderr }),
    ),
  );
  console.log(
    JSON.stringify({
      step: summaries[0].step,
      lastLoss: summaries[0].lastLoss,
      auc: summaries[0].lastEval?.metrics.auc,
    }),
  );
}

main().catch((e) => {
  console.error(e?.stack ?? e);
  process.exit(1);
});
