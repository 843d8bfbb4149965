// The communicator of a build without MPI: single-process runs need none, and a job launched
// with mpirun is refused with what to install (see Comm::Start).
#include "tsrec/comm.h"

namespace tsrec {

bool Comm::Compiled() { return false; }

Status Comm::Start(std::unique_ptr<Comm>* out) {
  out->reset();
  return Status::Unavailable(
      "this tsrec addon was built without MPI: install Open MPI (Debian: apt-get install openmpi-bin "
      "libopenmpi-dev) and rebuild (npx nx run native:build), or run a single process");
}

}  // namespace tsrec
