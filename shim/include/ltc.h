/*
 * ltc.h: LibTorch for C. The whole public API of libltc; if it is not in this header or the wing headers
 * it includes (ltc/<wing>.h), it is not API. One include for users:
 *   ltc/core.h      status, versions, runtime settings, devices, tensors, CUDA, nn, optim, checkpoints, graphs
 *   ltc/diagnose.h  the GPU diagnosis (check_cuda)
 *   ltc/dist.h      data-parallel training: launchers, process groups, collectives, the cross-rank check
 *   ltc/model.h     exported models (.pt2 packages from Python)
 *
 * Conventions (docs/conventions.md says more):
 *  - Every fallible call returns an ltc_status; LTC_OK is 0. Results come back through out parameters,
 *    which come first. On failure the out parameters are left untouched (pointers: set to NULL) and
 *    ltc_last_error() holds a message naming the bad value and what would be valid.
 *  - Handles are opaque, one incomplete struct type per kind. A handle returned through a
 *    pointer-to-pointer is a new reference owned by the caller, released with its _free function.
 *    Every _free accepts NULL.
 *  - Threads: handles may be used from any thread, but one handle must not be used from two threads at
 *    once. ltc_last_error() is per thread.
 *  - No C++ exception ever crosses this boundary.
 *
 * Pure C11; also compiles as C++.
 */
#ifndef LTC_H
#define LTC_H

#include "ltc/core.h"
#include "ltc/diagnose.h"
#include "ltc/dist.h"
#include "ltc/model.h"

#endif /* LTC_H */
