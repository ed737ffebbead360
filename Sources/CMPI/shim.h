// Open MPI's C API. Its handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) are macros that take the
// address of a global, which Swift cannot import, so each one the wrapper needs is a function here.
#include <mpi.h>

static inline MPI_Comm synapse_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Comm synapse_mpi_comm_null(void) { return MPI_COMM_NULL; }
static inline MPI_Datatype synapse_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype synapse_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype synapse_mpi_long_long(void) { return MPI_LONG_LONG; }
static inline void* synapse_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Op synapse_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Info synapse_mpi_info_null(void) { return MPI_INFO_NULL; }
static inline int synapse_mpi_any_source(void) { return MPI_ANY_SOURCE; }
static inline int synapse_mpi_any_tag(void) { return MPI_ANY_TAG; }
static inline int synapse_mpi_comm_type_shared(void) { return MPI_COMM_TYPE_SHARED; }
static inline int synapse_mpi_thread_serialized(void) { return MPI_THREAD_SERIALIZED; }
static inline int synapse_mpi_thread_multiple(void) { return MPI_THREAD_MULTIPLE; }
static inline int synapse_mpi_success(void) { return MPI_SUCCESS; }
