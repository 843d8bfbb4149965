// One rank of the collective-timeout check: rank 0 waits in a barrier the other ranks never
// join; its communicator gives up after TSREC_TEST_TIMEOUT_S seconds, prints one JSON line with
// the error and how long it took, and aborts the job (MPI_Abort), which ends the silent ranks.

const { createCommunicator } = require('@tsrec/native');

async function main() {
  const comm = createCommunicator();
  comm.setTimeoutSeconds(Number(process.env.TSREC_TEST_TIMEOUT_S || 1));
  if (comm.rank !== 0) {
    await new Promise((res) => setTimeout(res, 120000)); // stuck: never reaches the barrier
    return;
  }
  const t0 = Date.now();
  try {
    await comm.barrier();
    console.log(JSON.stringify({ rank: 0, error: null }));
  } catch (e) {
    console.log(JSON.stringify({ rank: 0, error: String(e.message), seconds: (Date.now() - t0) / 1000 }));
    // A later collective fails at once with the same error: the communicator is broken, not retried.
    const again = await comm.barrier().then(
      () => null,
      (x) => String(x.message),
    );
    console.log(JSON.stringify({ rank: 0, again }));
  }
  comm.abort(3);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
