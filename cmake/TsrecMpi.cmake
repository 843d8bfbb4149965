# Open MPI (collectives for multi-process training): TSREC_MPI=AUTO links it when found, ON
# requires it, OFF never. Without it the core gets comm_stub.cc, whose Comm::Start refuses a
# job launched with mpirun, naming the packages to install.
set(TSREC_WITH_MPI OFF)
if(NOT TSREC_MPI STREQUAL "OFF")
  # FindMPI checks its C wrapper by compiling C; the project itself is C++ (and CUDA).
  enable_language(C)
  set(MPI_CXX_SKIP_MPICXX ON)
  find_package(MPI COMPONENTS C QUIET)
  if(MPI_C_FOUND)
    set(TSREC_WITH_MPI ON)
    message(STATUS "tsrec: MPI ${MPI_C_VERSION} (${MPI_C_LIBRARIES})")
  elseif(TSREC_MPI STREQUAL "ON")
    message(FATAL_ERROR "tsrec: TSREC_MPI=ON but no MPI was found (Debian: apt-get install openmpi-bin libopenmpi-dev)")
  else()
    message(STATUS "tsrec: MPI not found; building single-process only (apt-get install libopenmpi-dev to enable)")
  endif()
endif()
