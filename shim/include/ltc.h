/*
 * ltc.h: LibTorch for C. The whole public API of libltc; if it is not in this header, it is not API.
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

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(LTC_BUILDING)
#  define LTC_API __attribute__((visibility("default")))
#else
#  define LTC_API
#endif
/* ------------------------------------------------------------------------------------------------ */
/* Status codes and errors (values pinned: never renumbered)                                        */
/* ------------------------------------------------------------------------------------------------ */

typedef enum ltc_status {
    LTC_OK = 0,
    LTC_ERR_INVALID_ARGUMENT = 1, /* a NULL handle, a bad size, shape, dtype, string or index */
    LTC_ERR_CUDA_UNAVAILABLE = 2, /* CUDA asked for, but LibTorch cannot use a GPU here */
    LTC_ERR_DEVICE = 3,           /* the GPU or its driver reported an error */
    LTC_ERR_OUT_OF_MEMORY = 4,    /* host or device memory exhausted; the process can go on */
    LTC_ERR_TORCH = 5,            /* LibTorch raised an error not covered above */
    LTC_ERR_DISTRIBUTED = 6,      /* rendezvous, process group or collective failed */
    LTC_ERR_TIMEOUT = 7,          /* an operation did not finish within its timeout */
    LTC_ERR_UNSUPPORTED = 8,      /* this build or this LibTorch lacks the feature */
    LTC_ERR_INTERNAL = 9,         /* a bug in ltc; please report it with ltc_last_error() */
    LTC_ERR_IO = 10               /* the file system refused: a missing folder, no permission, a read-only
                                     file system, a full disk, a folder where a file should be; the
                                     message names the path and gives errno's text */
} ltc_status;

/*! A short constant name for a status, e.g. "LTC_ERR_INVALID_ARGUMENT"; "LTC_ERR_UNKNOWN" for a
 *  value not listed above. Static storage, never NULL. Thread-safe. */
LTC_API const char *ltc_status_string(ltc_status status);

/*! The message of the last failed ltc call on this thread ("" if none failed yet): LibTorch's message
 *  without its C++ backtrace, or ours. Never NULL. Borrowed: valid until the next failing ltc call on
 *  this thread. Per thread. */
LTC_API const char *ltc_last_error(void);

/* ------------------------------------------------------------------------------------------------ */
/* Versions and build information                                                                   */
/* ------------------------------------------------------------------------------------------------ */

#define LTC_VERSION_MAJOR 0
#define LTC_VERSION_MINOR 1
#define LTC_VERSION_PATCH 0
#define LTC_VERSION_NUMBER (LTC_VERSION_MAJOR * 10000 + LTC_VERSION_MINOR * 100 + LTC_VERSION_PATCH)
#define LTC_VERSION_STRING "0.1.0"

/*! The library's version as "MAJOR.MINOR.PATCH"; static storage, never NULL. Thread-safe.
 *  assert(ltc_version_number() == LTC_VERSION_NUMBER) catches a header/library mismatch. */
LTC_API const char *ltc_version(void);
/*! LTC_VERSION_NUMBER of the library actually loaded. Thread-safe. */
LTC_API int ltc_version_number(void);

typedef struct ltc_build_info {
    const char *torch_version; /* LibTorch's version, e.g. "2.11.0"; static storage */
    int cuda_built;            /* 1 if LibTorch was built with CUDA and its CUDA half is loaded */
    int cuda_runtime_version;  /* CUDA runtime LibTorch was built with, e.g. 13000 for 13.0; 0 if none */
    int cudnn_version;         /* cuDNN LibTorch was built with, e.g. 91900 for 9.19.0; 0 if none */
    int nccl_version;          /* NCCL LibTorch was built with, e.g. 22809 for 2.28.9; 0 if none */
    int distributed;           /* 1 if this libltc has the NCCL data-parallel part */
} ltc_build_info;

/*! Fills *out with what LibTorch and libltc were built with. Never touches a GPU. Thread-safe.
 *  Bad input: out NULL -> LTC_ERR_INVALID_ARGUMENT. */
LTC_API ltc_status ltc_build_info_get(ltc_build_info *out);

/* ------------------------------------------------------------------------------------------------ */
/* Runtime settings: random seed, CPU threads, LibTorch's log level                                 */
/* ------------------------------------------------------------------------------------------------ */

/*! Seeds LibTorch's global generators (CPU and every CUDA device), as torch::manual_seed. Process-wide;
 *  never fails. */
LTC_API void ltc_manual_seed(uint64_t seed);

#define LTC_NUM_THREADS_MAX 1024

/*! Intra-op CPU threads LibTorch uses, as torch::set_num_threads. n from 1 to LTC_NUM_THREADS_MAX,
 *  else LTC_ERR_INVALID_ARGUMENT naming n and the range (each thread is a real OS thread with its own
 *  stack: far more threads than cores only slows LibTorch down). Process-wide; call it before work
 *  starts on other threads. */
LTC_API ltc_status ltc_num_threads_set(int n);
/*! The current intra-op thread count (>= 1). Never fails. Thread-safe. */
LTC_API int ltc_num_threads_get(void);

/* LibTorch's own log lines on stderr: c10's LOG(...) and TORCH_WARN, and c10d's "[c10d]" warnings
 * (some with a C++ backtrace of "frame #" lines, e.g. for every broken or silent connection to a
 * rendezvous store). The values are TORCH_CPP_LOG_LEVEL's, and pinned. */
typedef enum ltc_log_level {
    LTC_LOG_INFO = 0,
    LTC_LOG_WARNING = 1, /* LibTorch's default */
    LTC_LOG_ERROR = 2,
    LTC_LOG_FATAL = 3    /* only the last line before an abort */
} ltc_log_level;

/*! Prints LibTorch's log lines of `level` and above only, dropping the rest, as TORCH_CPP_LOG_LEVEL
 *  does under Python (c10's FLAGS_caffe2_log_level). ltc's own messages (ltc_last_error(), the
 *  "ltc: rank R waits for ..." lines) do not depend on it. Process-wide, as LibTorch's setting is;
 *  libltc itself never changes it: a program chooses. level outside LTC_LOG_INFO..LTC_LOG_FATAL ->
 *  LTC_ERR_INVALID_ARGUMENT naming it, and nothing changes. Call it at start-up: a line being logged
 *  on another thread at that moment may see either level. */
LTC_API ltc_status ltc_log_level_set(ltc_log_level level);
/*! The level in force (a level set outside ltc below LTC_LOG_INFO reads as LTC_LOG_INFO, above
 *  LTC_LOG_FATAL as LTC_LOG_FATAL). Never fails. */
LTC_API ltc_log_level ltc_log_level_get(void);
/*! A program's own default, with the user's last word: sets the level from the environment variable
 *  TORCH_CPP_LOG_LEVEL when it is set and not empty (INFO, WARNING, ERROR, FATAL or 0 to 3, in any
 *  case, as PyTorch reads it), else to `fallback`. LibTorch reads TORCH_CPP_LOG_LEVEL only when Python
 *  starts it; in a C or C++ program the variable does nothing until this call. TORCH_CPP_LOG_LEVEL
 *  with another value -> LTC_ERR_INVALID_ARGUMENT naming it and the valid values (the level is then
 *  `fallback`); fallback out of range -> LTC_ERR_INVALID_ARGUMENT, nothing changes. Reads the
 *  environment, never writes it. Threads: as ltc_log_level_set. */
LTC_API ltc_status ltc_log_level_init(ltc_log_level fallback);

/* ------------------------------------------------------------------------------------------------ */
/* Devices                                                                                          */
/* ------------------------------------------------------------------------------------------------ */

typedef enum ltc_device_type { LTC_DEVICE_CPU = 0, LTC_DEVICE_CUDA = 1 } ltc_device_type;

/* A device value: CPU (index 0), or CUDA with an index (0-based; -1 means the current CUDA device). */
typedef struct ltc_device {
    ltc_device_type type;
    int index;
} ltc_device;

/*! Parses "cpu", "cuda" (index -1, the current device) or "cuda:N" (N a decimal 0..INT_MAX) into *out.
 *  Anything else ("cuda:", "cuda:-1", "cuda:1x", "gpu", "CUDA:0") -> LTC_ERR_INVALID_ARGUMENT with a
 *  message naming the string. Does not check that the device exists. Thread-safe. */
LTC_API ltc_status ltc_device_parse(ltc_device *out, const char *text);

/*! Writes "cpu", "cuda" or "cuda:N" into buf (NUL-terminated, truncated to size). Returns the length
 *  of the full text, like snprintf; -1 for a device type not listed above. Thread-safe. */
LTC_API int ltc_device_format(char *buf, size_t size, ltc_device device);

/*! 1 if LibTorch can use at least one CUDA device in this process, else 0. Never fails; cached by
 *  LibTorch for the life of the process. Thread-safe. (ltc_diagnose() says why not.) */
LTC_API int ltc_cuda_is_available(void);

/*! Number of CUDA devices LibTorch sees (0 when none, or without CUDA). Thread-safe.
 *  Bad input: out NULL -> LTC_ERR_INVALID_ARGUMENT. */
LTC_API ltc_status ltc_cuda_device_count(int *out);

/*! Waits for all work queued on CUDA device `index` (-1: the current device).
 *  Errors: no CUDA -> LTC_ERR_CUDA_UNAVAILABLE; index out of range -> LTC_ERR_INVALID_ARGUMENT. */
LTC_API ltc_status ltc_cuda_synchronize(int index);

/* ------------------------------------------------------------------------------------------------ */
/* Tensors                                                                                          */
/* ------------------------------------------------------------------------------------------------ */

/* Our own numbering, pinned; not c10's. */
typedef enum ltc_dtype {
    LTC_FLOAT32 = 0,
    LTC_FLOAT64 = 1,
    LTC_INT32 = 2,
    LTC_INT64 = 3
} ltc_dtype;

#define LTC_MAX_DIMS 8

/*! "float32", "float64", "int32", "int64"; "unknown" for a value not listed (never NULL). Static
 *  storage. Thread-safe. */
LTC_API const char *ltc_dtype_name(ltc_dtype dtype);
/*! Bytes per element (4 or 8); 0 for a value not listed. Thread-safe. */
LTC_API size_t ltc_dtype_size(ltc_dtype dtype);
/*! Parses a name above (also "float", "double", "int", "long") into *out; anything else ->
 *  LTC_ERR_INVALID_ARGUMENT naming the string. Thread-safe. */
LTC_API ltc_status ltc_dtype_parse(ltc_dtype *out, const char *text);

typedef struct ltc_tensor ltc_tensor;

/* Creation. shape has ndim entries, 0 <= ndim <= LTC_MAX_DIMS, each entry >= 1 (0-sized tensors are
 * refused so that mistakes show). On success *out is a new tensor owned by the caller (ltc_tensor_free).
 * Errors: NULL out/shape with ndim > 0, a bad ndim or size, a dtype not listed -> INVALID_ARGUMENT;
 * a CUDA device without CUDA -> CUDA_UNAVAILABLE; index past the device count -> INVALID_ARGUMENT;
 * memory -> OUT_OF_MEMORY. */
LTC_API ltc_status ltc_tensor_zeros(ltc_tensor **out, const int64_t *shape, int ndim, ltc_dtype dtype,
                                    ltc_device device);
LTC_API ltc_status ltc_tensor_ones(ltc_tensor **out, const int64_t *shape, int ndim, ltc_dtype dtype,
                                   ltc_device device);
/*! Standard normal values from a generator seeded with `seed` alone (the global seed is untouched), drawn
 *  on the CPU and then moved, so the values are the same on every device. Floating dtypes only. */
LTC_API ltc_status ltc_tensor_randn(ltc_tensor **out, const int64_t *shape, int ndim, ltc_dtype dtype,
                                    ltc_device device, uint64_t seed);
/*! Copies numel * ltc_dtype_size(dtype) bytes from data (C order) into a new tensor on device. */
LTC_API ltc_status ltc_tensor_from_data(ltc_tensor **out, const void *data, const int64_t *shape, int ndim,
                                        ltc_dtype dtype, ltc_device device);

/*! Releases the handle; the memory goes when no other handle or module shares it. NULL is a no-op. */
LTC_API void ltc_tensor_free(ltc_tensor *tensor);

/* Queries. Infallible on a valid handle; on NULL (or a dim out of range) they return the value noted and
 * set ltc_last_error(). Thread-safe on distinct handles. */
LTC_API int ltc_tensor_ndim(const ltc_tensor *tensor);                /* -1 on NULL */
LTC_API int64_t ltc_tensor_size(const ltc_tensor *tensor, int dim);   /* -1 on NULL or bad dim; dim<0 counts from the end */
LTC_API int64_t ltc_tensor_numel(const ltc_tensor *tensor);           /* -1 on NULL */
LTC_API size_t ltc_tensor_nbytes(const ltc_tensor *tensor);           /* 0 on NULL */
LTC_API ltc_dtype ltc_tensor_dtype(const ltc_tensor *tensor);         /* (ltc_dtype)-1 on NULL */
LTC_API ltc_device ltc_tensor_device(const ltc_tensor *tensor);       /* {LTC_DEVICE_CPU, -1} on NULL */

/*! A copy of src on device (always a copy, even on the same device). With non_blocking != 0 the copy
 *  may still be running when this returns, for pinned host memory or device to host; wait with
 *  ltc_cuda_synchronize() before reading. *out is new, owned by the caller. Device errors as at creation. */
LTC_API ltc_status ltc_tensor_to(ltc_tensor **out, const ltc_tensor *src, ltc_device device, int non_blocking);

/*! Copies the tensor's values (C order) into dst, which must hold exactly ltc_tensor_nbytes() bytes:
 *  size must equal it, else LTC_ERR_INVALID_ARGUMENT naming both numbers. Blocks until the data is there. */
LTC_API ltc_status ltc_tensor_copy_to_host(void *dst, size_t size, const ltc_tensor *tensor);

/*! The value of a one-element tensor as a double. More than one element -> LTC_ERR_INVALID_ARGUMENT. */
LTC_API ltc_status ltc_tensor_item(double *out, const ltc_tensor *tensor);

/*! The gradient LibTorch accumulated for a tensor that requires one (a module parameter).
 *  *out is a new handle sharing the gradient's memory; none yet -> LTC_ERR_INVALID_ARGUMENT. */
LTC_API ltc_status ltc_tensor_grad(ltc_tensor **out, const ltc_tensor *tensor);

/*! Runs LibTorch's autograd from a one-element tensor (a loss): gradients accumulate into the
 *  parameters that produced it, and the graph is freed (a second backward through it fails, as in
 *  LibTorch). A tensor with more than one element or no graph -> LTC_ERR_INVALID_ARGUMENT.
 *  Threads: as the tensors it reaches. */
LTC_API ltc_status ltc_tensor_backward(ltc_tensor *loss);

/* Host memory comes in two kinds. Pageable memory (what malloc and every tensor created above get) can
 * be swapped out, so the GPU cannot read it directly: the driver copies it through a staging buffer,
 * and the copy is always blocking. Pinned (page-locked) memory is read by the GPU's DMA engine
 * directly: at full link speed, and without blocking the host when asked. Pinning itself costs time
 * (a system call and a copy), so pin once and reuse. */

/*! A new tensor whose values are not initialised (nothing is written: the cheapest way to get a
 *  destination for ltc_tensor_copy), as torch::empty. pinned != 0 puts it in pinned host memory:
 *  device must then be the CPU and a GPU must be usable. *out is new, owned by the caller
 *  (ltc_tensor_free). Thread-safe.
 *  Errors: as ltc_tensor_zeros (shape, dtype, device, memory); pinned with a CUDA device ->
 *  LTC_ERR_INVALID_ARGUMENT; pinned without a usable GPU -> LTC_ERR_CUDA_UNAVAILABLE. */
LTC_API ltc_status ltc_tensor_empty(ltc_tensor **out, const int64_t *shape, int ndim, ltc_dtype dtype,
                                    ltc_device device, int pinned);

/*! A copy of host tensor src in pinned host memory, as Tensor.pin_memory(). The time this takes is
 *  the cost of pinning. LibTorch caches pinned blocks: after ltc_tensor_free the block is kept for
 *  the next pinned tensor of a similar size. *out is new, owned by the caller. Thread-safe.
 *  Errors: src NULL or on a GPU -> LTC_ERR_INVALID_ARGUMENT; no usable GPU -> LTC_ERR_CUDA_UNAVAILABLE;
 *  memory -> LTC_ERR_OUT_OF_MEMORY. */
LTC_API ltc_status ltc_tensor_pin_memory(ltc_tensor **out, const ltc_tensor *src);

/*! *out = 1 if the tensor lives in pinned host memory, else 0 (always 0 for a GPU tensor, and where
 *  no GPU is usable). Thread-safe. Errors: out or tensor NULL -> LTC_ERR_INVALID_ARGUMENT. */
LTC_API ltc_status ltc_tensor_is_pinned(int *out, const ltc_tensor *tensor);

/*! Copies src's values into dst's memory, between any two devices: host to GPU, GPU to host, GPU to
 *  GPU (directly where ltc_cuda_peer_access allows, else through the host), host to host. dst and src
 *  must have the same shape and dtype (no broadcasting, no conversion).
 *  non_blocking == 0: dst holds the values when this returns. non_blocking != 0: the copy is queued on
 *  the current CUDA stream and this may return before it is done (for pinned host memory, and between
 *  GPUs; pageable host memory always blocks); until ltc_cuda_synchronize() on the GPU(s) involved (or an
 *  ltc_event recorded after the copy completes), do not read dst nor change src.
 *  Threads: dst must not be used by another thread during the call.
 *  Errors: NULL -> LTC_ERR_INVALID_ARGUMENT; a shape or dtype mismatch -> LTC_ERR_INVALID_ARGUMENT
 *  naming both tensors; a GPU error -> LTC_ERR_DEVICE. */
LTC_API ltc_status ltc_tensor_copy(ltc_tensor *dst, const ltc_tensor *src, int non_blocking);

/* ------------------------------------------------------------------------------------------------ */
/* CUDA: peer access, the PCIe link, events                                                         */
/* ------------------------------------------------------------------------------------------------ */

/*! *out = 1 if GPU `device` can access GPU `peer`'s memory directly (peer to peer over NVLink or
 *  PCIe): LibTorch then enables it for this process and copies between them skip host memory; 0 if
 *  such copies are staged through the host. 1 when device == peer. Thread-safe.
 *  Errors: out NULL, or an index below 0 -> LTC_ERR_INVALID_ARGUMENT; no usable GPU ->
 *  LTC_ERR_CUDA_UNAVAILABLE; an index past the device count -> LTC_ERR_INVALID_ARGUMENT naming the
 *  count; a driver error -> LTC_ERR_DEVICE. */
LTC_API ltc_status ltc_cuda_peer_access(int *out, int device, int peer);

/* A GPU and the PCIe link between it and the host, as the driver and Linux (sysfs) report them. */
typedef struct ltc_cuda_link_info {
    char name[256];          /* the GPU's name, e.g. "NVIDIA H100 80GB HBM3" */
    char pci_bus_id[32];     /* "0000:18:00.0" (domain:bus:device.function) */
    size_t total_memory;     /* bytes of GPU memory */
    int driver_version;      /* the newest CUDA the driver supports, e.g. 13000 for 13.0 */
    int pcie_gen;            /* PCIe generation the link runs at now (it may idle lower); 0 if unknown */
    int pcie_width;          /* lanes it runs at now; 0 if unknown */
    int pcie_max_gen;        /* the best both ends of the link support; 0 if unknown */
    int pcie_max_width;      /* likewise, lanes; 0 if unknown */
    double pcie_max_gbps;    /* theoretical rate per direction at pcie_max_gen x pcie_max_width, in GB/s
                                (1e9 bytes/s) after line encoding (Gen5 x16: 63.0); 0 if unknown */
} ltc_cuda_link_info;

/*! Fills *out for CUDA device `device` (0 and up). The PCIe fields are 0 where sysfs is not readable
 *  (some containers). Thread-safe.
 *  Errors: out NULL or device below 0 -> LTC_ERR_INVALID_ARGUMENT; no usable GPU ->
 *  LTC_ERR_CUDA_UNAVAILABLE; device past the count -> LTC_ERR_INVALID_ARGUMENT; a driver error ->
 *  LTC_ERR_DEVICE. */
LTC_API ltc_status ltc_cuda_link_info_get(ltc_cuda_link_info *out, int device);

/* CUDA events time GPU work on the GPU's own clock (resolution about 0.5 us) without stalling the host:
 * record one before the work and one after, then ask for the time between them. */
typedef struct ltc_event ltc_event;

/*! A new timing event for CUDA device `device` (-1: the current one). *out is new, owned by the
 *  caller (ltc_event_free). Thread-safe.
 *  Errors: out NULL or device below -1 -> LTC_ERR_INVALID_ARGUMENT; no usable GPU ->
 *  LTC_ERR_CUDA_UNAVAILABLE; device past the count -> LTC_ERR_INVALID_ARGUMENT. */
LTC_API ltc_status ltc_event_new(ltc_event **out, int device);
/*! NULL is a no-op. Freeing an event still pending on the GPU is safe. */
LTC_API void ltc_event_free(ltc_event *event);
/*! Records the event on its device's current stream (of the calling thread): it completes when the
 *  work queued there before it has. May be recorded again. Errors: NULL -> LTC_ERR_INVALID_ARGUMENT. */
LTC_API ltc_status ltc_event_record(ltc_event *event);
/*! Blocks until the event's recorded work has completed. Never recorded -> LTC_ERR_INVALID_ARGUMENT. */
LTC_API ltc_status ltc_event_synchronize(const ltc_event *event);
/*! *out = 1 if the recorded work has completed, 0 if it is still running; never blocks.
 *  Never recorded -> LTC_ERR_INVALID_ARGUMENT. */
LTC_API ltc_status ltc_event_query(int *out, const ltc_event *event);
/*! *out = milliseconds of GPU time from start to end; waits for end to complete first. Both must
 *  have been recorded, on the same device, else LTC_ERR_INVALID_ARGUMENT. */
LTC_API ltc_status ltc_event_elapsed_ms(double *out, const ltc_event *start, const ltc_event *end);

/* ------------------------------------------------------------------------------------------------ */
/* nn: Linear, MSE loss, DataParallel                                                               */
/* ------------------------------------------------------------------------------------------------ */

/* nn.Linear: y = x W^T + b, W of shape [out_features, in_features], initialised as PyTorch does from the
 * global generator (ltc_manual_seed first for repeatable weights). float32, on the CPU until moved. */
typedef struct ltc_linear ltc_linear;

/*! New module owned by the caller (ltc_linear_free). in_features, out_features >= 1; has_bias 0 or 1. */
LTC_API ltc_status ltc_linear_new(ltc_linear **out, int64_t in_features, int64_t out_features, int has_bias);
/*! NULL is a no-op. Parameter handles obtained earlier stay valid. */
LTC_API void ltc_linear_free(ltc_linear *linear);
/*! Moves the parameters (and any gradients) to device, in place. Device errors as at tensor creation. */
LTC_API ltc_status ltc_linear_to(ltc_linear *linear, ltc_device device);
/*! y = linear(x), with x of shape [batch, in_features] (or [in_features]) on the module's device, float32.
 *  *out is new, owned by the caller, and records the graph for ltc_tensor_backward(). A shape, dtype or
 *  device mismatch -> LTC_ERR_INVALID_ARGUMENT naming both sides. */
LTC_API ltc_status ltc_linear_forward(ltc_tensor **out, ltc_linear *linear, const ltc_tensor *x);
/*! New handles sharing the parameters' memory: *out_weight [out, in], *out_bias [out] (NULL when the
 *  module has no bias; either out pointer may be NULL if not wanted). Owned by the caller. */
LTC_API ltc_status ltc_linear_parameters(ltc_tensor **out_weight, ltc_tensor **out_bias, const ltc_linear *linear);
/*! Overwrites the parameters from host buffers (weight: out*in floats, C order; bias: out floats, or NULL
 *  to leave it). Useful for repeatable starts and tests. */
LTC_API ltc_status ltc_linear_set_parameters(ltc_linear *linear, const float *weight, const float *bias);

/*! Mean squared error, mean over all elements: a new one-element tensor owned by the caller. input and
 *  target must have the same shape, dtype and device (no broadcasting), else LTC_ERR_INVALID_ARGUMENT. */
LTC_API ltc_status ltc_mse_loss(ltc_tensor **out, const ltc_tensor *input, const ltc_tensor *target);

/*! nn.DataParallel in one process: y = linear(x) with the module replicated on every device listed
 *  (devices NULL and ndevices 0: every visible GPU), x split along dim 0 across them, the outputs
 *  gathered on the first device; backward through *out sums the replicas' gradients into the
 *  module's own parameters (torch::nn::parallel::data_parallel). The module and x must be on the first
 *  device. Without any visible GPU, devices NULL and the module and x on the CPU, it is plain
 *  ltc_linear_forward, as nn.DataParallel is. *out is new, owned by the caller. Asking for GPUs where
 *  LibTorch sees none -> LTC_ERR_CUDA_UNAVAILABLE saying why; a device index out of
 *  range, a duplicate, ndevices < 0 or > 0 with devices NULL, or a mismatch as in ltc_linear_forward ->
 *  LTC_ERR_INVALID_ARGUMENT. Threads: as ltc_linear_forward. */
LTC_API ltc_status ltc_data_parallel_forward(ltc_tensor **out, ltc_linear *linear, const ltc_tensor *x,
                                             const int *devices, int ndevices);

/* ------------------------------------------------------------------------------------------------ */
/* optim: SGD                                                                                       */
/* ------------------------------------------------------------------------------------------------ */

/* SGD over one module's parameters, as torch::optim::SGD (no dampening, no weight decay). */
typedef struct ltc_sgd ltc_sgd;

/*! lr > 0 and finite, 0 <= momentum < 1, else LTC_ERR_INVALID_ARGUMENT. The optimizer keeps the module's
 *  parameters alive; free it before or after the module, either order. *out owned by the caller. */
LTC_API ltc_status ltc_sgd_new(ltc_sgd **out, ltc_linear *linear, double lr, double momentum);
/*! NULL is a no-op. */
LTC_API void ltc_sgd_free(ltc_sgd *sgd);
/*! Sets every parameter's gradient to zero (drops it, as set_to_none=True). */
LTC_API ltc_status ltc_sgd_zero_grad(ltc_sgd *sgd);
/*! One update from the gradients now held, as torch::optim::SGD with dampening 0: m = momentum * m + g
 *  (m = g on a parameter's first step), p -= lr * m; parameters without a gradient are skipped. Runs as
 *  one fused kernel for all parameters (ATen's _fused_sgd_), except on the CPU with several intra-op
 *  threads when every parameter is under 32768 elements: there the per-tensor ops, as torch.optim.SGD
 *  does on the CPU (the fused kernel would start every thread for them). A gradient whose device, dtype or shape
 *  differs from its parameter's -> LTC_ERR_INVALID_ARGUMENT, and nothing is updated. */
LTC_API ltc_status ltc_sgd_step(ltc_sgd *sgd);

/* Checkpoints: a module, its optimizer's momentum buffers, the step and the run's settings in one file,
 * in LibTorch's own format (the zip torch.save writes: Python's torch.load(path) reads it, as a dict
 * with "step", "weight", "bias", "momentum_buffer.weight", "momentum_buffer.bias" (None before the
 * first step), "lr", "momentum", "dtype", "settings", "format" and "digest").
 * settings: NULL or space-separated key=value items ("seed=1 batch=256"), keys unique, no spaces
 * inside; a bad one -> LTC_ERR_INVALID_ARGUMENT naming it. Threads: as the module and optimizer. */

/*! Writes step (>= 0), linear's parameters, opt's momentum buffers (opt may be NULL: none, lr and
 *  momentum 0) and settings to path, atomically: to path.tmp.<pid>, fsync, rename over path, fsync of
 *  the folder; a crash at any point leaves the previous file whole. Parameters holding NaN or
 *  infinity -> LTC_ERR_INVALID_ARGUMENT and nothing written (a diverged run never overwrites a good
 *  checkpoint). opt made over another module -> LTC_ERR_INVALID_ARGUMENT. The file system refusing
 *  (path is a folder, its folder is missing, no permission, a read-only file system, a full disk, a
 *  failed write, fsync or rename) -> LTC_ERR_IO naming the file, with errno's text and what it means
 *  there; the temporary file is removed and the previous checkpoint left as it was. */
LTC_API ltc_status ltc_checkpoint_save(const char *path, const ltc_linear *linear, const ltc_sgd *opt, int64_t step,
                                       const char *settings);
/*! Reads path and, only if everything fits, copies its parameters into linear (on linear's device)
 *  and its momentum buffers into opt (may be NULL: not restored), and sets *out_step to its step.
 *  A file that cannot be read (missing, a folder, no permission, a read error) -> LTC_ERR_IO naming
 *  it, with errno's text. Refused with LTC_ERR_INVALID_ARGUMENT naming the file, and nothing changed:
 *  a truncated or corrupt one (LibTorch cannot read it, or the digest over its contents does not
 *  match); not an ltc checkpoint (another format, another object saved with torch.save, a TorchScript
 *  module); shapes other than linear's; another dtype; with opt, another lr or momentum; other
 *  settings (a key with another value, or present on one side only: the message names the key and
 *  both values). opt made over another module -> LTC_ERR_INVALID_ARGUMENT. */
LTC_API ltc_status ltc_checkpoint_load(int64_t *out_step, const char *path, ltc_linear *linear, ltc_sgd *opt,
                                       const char *settings);

/* A claim on a checkpoint path for a whole run, so that two runs never write one file. */
typedef struct ltc_checkpoint_lock ltc_checkpoint_lock;

/*! Claims path for this process's checkpoints and checks, before any training, that saving there can
 *  work. path a folder -> LTC_ERR_IO ("Is a directory"). It creates path.lock beside path: a missing
 *  folder, no permission to create files there or a read-only file system -> LTC_ERR_IO naming it,
 *  with errno's text. Then it locks path.lock (flock, exclusive): another process holding it ->
 *  LTC_ERR_INVALID_ARGUMENT naming that process ("pid 4242 on host node1 since
 *  2025-06-01T12:00:00Z") and nothing changed. Then it writes that line for this process and flushes
 *  it: a full disk or quota -> LTC_ERR_IO. Last, it removes the temporary files path.tmp.<pid> that
 *  ltc_checkpoint_save left in processes that died mid-save, when no process with that pid runs on
 *  this host (a running one's file stays). The lock lasts until ltc_checkpoint_lock_free, or until
 *  the process ends, however it ends (the kernel lets go; the path.lock a killed process leaves is
 *  taken over by the next run); a program it execs does not inherit it. It is advisory:
 *  ltc_checkpoint_save does not take it. On a network file system it holds as far as flock does
 *  there (NFS: yes; Lustre: mounted with -o flock). *out is new, owned by the caller. path NULL or ""
 *  -> LTC_ERR_INVALID_ARGUMENT. Thread-safe; a second lock on the same path, in this process too, is
 *  refused as another process's would be. */
LTC_API ltc_status ltc_checkpoint_lock_new(ltc_checkpoint_lock **out, const char *path);
/*! Removes path.lock and lets go of the lock. NULL is a no-op. */
LTC_API void ltc_checkpoint_lock_free(ltc_checkpoint_lock *lock);

/* ------------------------------------------------------------------------------------------------ */
/* Diagnosis: why CUDA is or is not usable (check_cuda)                                             */
/* ------------------------------------------------------------------------------------------------ */

/* Why LibTorch can or cannot use a GPU here. Values pinned: never renumbered; new ones are appended. The
 * probes run in layers (LibTorch build, what was loaded, driver libraries, the machine outside the
 * process, devices and visibility, each device, proof by work, loaded libraries); the first layer that
 * fails gives the primary cause. docs/diagnosis.md has one row per cause: how it is detected, the
 * message, the fix and the test that injects it.
 * Test-only: LTC_DIAGNOSE_SYSROOT=<dir> in the environment makes the probes of /dev, /proc, /sys and the
 * container and WSL marker files read <dir>/dev, <dir>/proc, ... instead; it exists for the fault-injection
 * tests and must not be set otherwise. */
typedef enum ltc_cause {
    LTC_CAUSE_INVALID = -1,              /* no diagnosis: ltc_diagnosis_cause(NULL) */
    LTC_CAUSE_NONE = 0,                  /* a GPU is usable */
    LTC_CAUSE_CPU_ONLY_BUILD = 1,        /* LibTorch was built without CUDA */
    LTC_CAUSE_CUDA_NOT_LINKED = 2,       /* libtorch_cuda.so is on disk but not loaded in this process */
    LTC_CAUSE_NO_DRIVER = 3,             /* libcuda.so.1 (the NVIDIA driver) cannot be loaded */
    LTC_CAUSE_STUB_DRIVER = 4,           /* the CUDA toolkit's stub libcuda was loaded instead of the driver */
    LTC_CAUSE_DRIVER_TOO_OLD = 5,        /* the driver is older than the CUDA LibTorch was built with */
    LTC_CAUSE_PTX_TOO_NEW = 6,           /* CUDA_ERROR_UNSUPPORTED_PTX_VERSION (222) */
    LTC_CAUSE_DRIVER_MISMATCH = 7,       /* kernel module and user-space driver differ (803) */
    LTC_CAUSE_COMPAT_NOT_SUPPORTED = 8,  /* forward-compatibility package on an unsupported GPU (804) */
    LTC_CAUSE_SYSTEM_NOT_READY = 9,      /* NVSwitch system not ready: fabric manager (802) */
    LTC_CAUSE_DEVICE_NODES = 10,         /* /dev/nvidia* missing, unusable or not openable (999, 304, EACCES, EPERM) */
    LTC_CAUSE_DRIVER_ERROR = 11,         /* another error from cuInit or the driver */
    LTC_CAUSE_NO_GPU = 12,               /* no NVIDIA GPU: none on the PCI bus, or the driver sees none */
    LTC_CAUSE_VISIBLE_DEVICES = 13,      /* CUDA_VISIBLE_DEVICES hides the GPUs that exist */
    LTC_CAUSE_ARCH_NOT_SUPPORTED = 14,   /* the GPU's architecture is not in LibTorch's build */
    LTC_CAUSE_CUDNN = 15,                /* cuDNN missing, mismatched or failing */
    LTC_CAUSE_NCCL = 16,                 /* NCCL missing or failing */
    LTC_CAUSE_PROOF_FAILED = 17,         /* a kernel ran but failed or gave a wrong result */
    LTC_CAUSE_LIBTORCH_NO_DEVICE = 18,   /* the driver sees GPUs but LibTorch does not, for a reason not above */
    LTC_CAUSE_DUPLICATE_LIBRARY = 19,    /* two copies of one library loaded (a warning, never the verdict) */
    LTC_CAUSE_LIBRARY_LOAD = 20,         /* libltc or LibTorch cannot be loaded (a missing library, an undefined
                                            symbol, a wrong architecture): only check_cuda's front reports it,
                                            since no ltc function can run then */
    LTC_CAUSE_LIBTORCH_MISMATCH = 21,    /* the LibTorch loaded is not the one libltc was built against */
    LTC_CAUSE_OTHER_GPU_VENDOR = 22,     /* no NVIDIA GPU, but an AMD or Intel one: LibTorch's ROCm or XPU build */
    LTC_CAUSE_CONTAINER_NO_GPU = 23,     /* a container started without GPU access (no /dev/nvidia*) */
    LTC_CAUSE_WSL_DRIVER = 24,           /* WSL2 without the Windows driver's libcuda, or with a Linux one */
    LTC_CAUSE_BATCH_NO_GPU = 25,         /* a batch job (Slurm) that was given no GPU */
    LTC_CAUSE_KERNEL_MODULE = 26,        /* the nvidia kernel module is not loaded (nouveau, Secure Boot) */
    LTC_CAUSE_UVM_MISSING = 27,          /* the nvidia_uvm kernel module is not loaded */
    LTC_CAUSE_GPU_BUSY = 28,             /* exclusive-process or prohibited compute mode, GPU taken (46) */
    LTC_CAUSE_MIG = 29,                  /* MIG mode with no instance CUDA can use */
    LTC_CAUSE_GPU_MEMORY_TAKEN = 30,     /* GPU memory held by other processes (2) */
    LTC_CAUSE_GPU_LOST = 31,             /* GPU lost (NVML) or uncorrectable ECC errors (214) */
    LTC_CAUSE_SUSPECT_VARIABLE = 32,     /* a set variable steers the library whose proof failed (NCCL_*,
                                            CUDNN_*, CUBLAS_*, CUDA_*): a warning, never the verdict */
    LTC_CAUSE_TORCH_SETTING = 33         /* LibTorch rejects a PYTORCH_* setting: an allocator setting
                                            (PYTORCH_CUDA_ALLOC_CONF, PYTORCH_ALLOC_CONF) it cannot parse makes
                                            every CUDA allocation fail; a flag it ignores is a warning */
} ltc_cause;

typedef enum ltc_severity { LTC_SEVERITY_INFO = 0, LTC_SEVERITY_WARNING = 1, LTC_SEVERITY_ERROR = 2 } ltc_severity;

/* Flags for ltc_diagnose(). */
#define LTC_DIAGNOSE_QUICK 1u     /* skip the proofs by work (kernels, cuDNN, NCCL) */
#define LTC_DIAGNOSE_NO_CHILD 2u  /* never start the child process that probes without CUDA_VISIBLE_DEVICES */

typedef struct ltc_diagnosis ltc_diagnosis;

/* One finding behind the verdict. The strings are borrowed from the diagnosis and live as long as it. */
typedef struct ltc_finding {
    ltc_cause code;
    ltc_severity severity;
    const char *message; /* what is wrong (or what was seen), one sentence */
    const char *fix;     /* what to do; "" when nothing */
    const char *evidence;/* the raw facts it rests on: codes, paths, values */
} ltc_finding;

/*! Probes why LibTorch can or cannot use a GPU in this process and returns the report in *out, a new
 *  handle owned by the caller (ltc_diagnosis_free). flags: 0 or LTC_DIAGNOSE_* or'ed; other bits ->
 *  LTC_ERR_INVALID_ARGUMENT. A GPU problem is a result, not an error: the call returns LTC_OK with the
 *  cause in the report. It loads libcuda.so.1 itself to read the driver's raw codes, and compares
 *  CUDA_VISIBLE_DEVICES settings in a child process, so the caller's process is not altered. When an
 *  allocator setting is set (PYTORCH_CUDA_ALLOC_CONF, PYTORCH_ALLOC_CONF), it is read through LibTorch's
 *  own parser, as LibTorch's first CUDA allocation (and a proof by work) reads it. Takes
 *  about 1 s with the proofs by work. Thread-safe: several threads may diagnose at once (their proofs by
 *  work take turns). */
LTC_API ltc_status ltc_diagnose(ltc_diagnosis **out, unsigned flags);
/*! NULL is a no-op. */
LTC_API void ltc_diagnosis_free(ltc_diagnosis *diagnosis);

/*! 1 if a GPU is usable (the cause is LTC_CAUSE_NONE), else 0 (also for NULL). */
LTC_API int ltc_diagnosis_usable(const ltc_diagnosis *diagnosis);
/*! The primary cause (LTC_CAUSE_NONE when usable). NULL gives LTC_CAUSE_INVALID (never LTC_CAUSE_NONE,
 *  which means usable) and sets ltc_last_error(). */
LTC_API ltc_cause ltc_diagnosis_cause(const ltc_diagnosis *diagnosis);
/*! The primary finding: its message and fix. Borrowed; never NULL ("" for a NULL diagnosis). */
LTC_API const char *ltc_diagnosis_message(const ltc_diagnosis *diagnosis);
LTC_API const char *ltc_diagnosis_fix(const ltc_diagnosis *diagnosis);
/*! Number of findings (0 for NULL). */
LTC_API size_t ltc_diagnosis_finding_count(const ltc_diagnosis *diagnosis);
/*! Finding `index` (0 .. count-1) into *out; strings borrowed from the diagnosis. Index out of range ->
 *  LTC_ERR_INVALID_ARGUMENT naming the index and the count. */
LTC_API ltc_status ltc_diagnosis_finding(ltc_finding *out, const ltc_diagnosis *diagnosis, size_t index);
/*! One fact by its JSON path, as text: e.g. "driver.version" -> "13000", "driver.library",
 *  "devices.0.name", "visibility.count_without_it", "libtorch.device_count". NULL when the report has no
 *  such fact (or it is JSON null). Borrowed from the diagnosis. */
LTC_API const char *ltc_diagnosis_get(const ltc_diagnosis *diagnosis, const char *key);
/*! The whole report as one JSON document, and as readable text (verdict, cause and fix first, then the
 *  evidence). Borrowed from the diagnosis; never NULL ("" for NULL). */
LTC_API const char *ltc_diagnosis_json(const ltc_diagnosis *diagnosis);
LTC_API const char *ltc_diagnosis_text(const ltc_diagnosis *diagnosis);

/*! "LTC_CAUSE_NO_DRIVER" for LTC_CAUSE_NO_DRIVER, etc.; "LTC_CAUSE_UNKNOWN" for other values. Static. */
LTC_API const char *ltc_cause_name(ltc_cause cause);
/*! A few words for people: "no NVIDIA driver", "CUDA_VISIBLE_DEVICES hides the GPUs", ... Static. */
LTC_API const char *ltc_cause_summary(ltc_cause cause);

/* ------------------------------------------------------------------------------------------------ */
/* Distributed: launchers, process groups, collectives (train_data_parallel)                        */
/* ------------------------------------------------------------------------------------------------ */

/* Who started this process. Values pinned. */
typedef enum ltc_launcher {
    LTC_LAUNCHER_NONE = 0,     /* no launcher variables: one process, rank 0 of 1 */
    LTC_LAUNCHER_TORCHRUN = 1, /* RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT: torchrun
                                  --no-python, or anything else that sets them */
    LTC_LAUNCHER_SLURM = 2,    /* srun: SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID */
    LTC_LAUNCHER_MPI = 3,      /* Open MPI's mpirun: OMPI_COMM_WORLD_RANK, _SIZE, _LOCAL_RANK */
    LTC_LAUNCHER_LOCAL = 4     /* ltc_launch_local: the torchrun variables plus LTC_LAUNCH_LOCAL=1 */
} ltc_launcher;

/*! "none", "torchrun", "slurm", "mpirun", "ltc_launch_local"; "unknown" for a value not listed (never
 *  NULL). Static storage. Thread-safe. */
LTC_API const char *ltc_launcher_name(ltc_launcher launcher);

#define LTC_DIST_ADDR_MAX 256

/* Where this process sits in a data-parallel job, as its launcher described it. */
typedef struct ltc_dist_env {
    ltc_launcher launcher;
    int rank;                             /* 0 .. world_size-1 */
    int world_size;                       /* >= 1 */
    int local_rank;                       /* this rank's index on its node: the GPU it should use */
    char master_addr[LTC_DIST_ADDR_MAX];  /* host of the rendezvous store (rank 0's, or the launcher's) */
    int master_port;                      /* 1..65535; 0 only with world_size 1: any free port */
    int external_store;                   /* 1: the launcher hosts the store (torchrun's agent, from
                                             TORCHELASTIC_USE_AGENT_STORE=True); rank 0 only connects */
    int restart;                          /* TORCHELASTIC_RESTART_COUNT, else 0: keeps restarts apart */
} ltc_dist_env;

/*! Reads the launcher's variables into *out. envp: a NULL-terminated array of "NAME=value" strings, or
 *  NULL for this process's environment. The first launcher found wins, in this order: RANK/WORLD_SIZE
 *  (torchrun), SLURM_PROCID/SLURM_NTASKS, OMPI_COMM_WORLD_RANK/_SIZE; none -> rank 0 of 1 on
 *  127.0.0.1, port 0. MASTER_ADDR and MASTER_PORT are read for every launcher; under Slurm and mpirun
 *  they default to 127.0.0.1 (single node only) and 29500; a job of one rank needs neither (port 0).
 *  LOCAL_RANK defaults to RANK.
 *  Bad input -> LTC_ERR_INVALID_ARGUMENT naming the variable, its value and what would be valid:
 *  WORLD_SIZE=0, RANK at or past WORLD_SIZE, a negative or non-numeric number, RANK without
 *  WORLD_SIZE, MASTER_PORT not in 1..65535, a MASTER_ADDR that is empty or too long, a missing
 *  MASTER_ADDR/MASTER_PORT where there is no default. *out untouched on failure. Thread-safe with
 *  envp given; with NULL, as safe as getenv. */
LTC_API ltc_status ltc_dist_env_from(ltc_dist_env *out, const char *const *envp);

/*! Starts nproc copies of this program as local ranks and waits for them all, as
 *  `torchrun --no-python --nproc-per-node nproc` does: each runs /proc/self/exe with argv (argv[0]
 *  first, NULL-terminated) and this process's environment plus RANK=LOCAL_RANK=i,
 *  WORLD_SIZE=LOCAL_WORLD_SIZE=nproc, MASTER_ADDR=127.0.0.1, MASTER_PORT, NCCL_NVLS_ENABLE=0,
 *  TORCHELASTIC_RESTART_COUNT (0 on the first start) and TORCHELASTIC_MAX_RESTARTS (launcher
 *  variables of Slurm, MPI and torchrun's agent are removed), LTC_LAUNCH_LOCAL=1, and
 *  OMP_NUM_THREADS=1 when nproc > 1 and it is not set (as torchrun does). Same as
 *  ltc_launch_local_restarts with no restarts.
 *  Each rank dies with the launcher (PR_SET_PDEATHSIG with SIGKILL, set between fork and exec, and a
 *  rank whose launcher is already gone exits at once): killing the launcher, even with SIGKILL, leaves
 *  no rank behind. The death signal follows the launching thread: call it from the main thread.
 *  device_type LTC_DEVICE_CUDA: one rank per GPU, so nproc above the number of visible GPUs ->
 *  LTC_ERR_INVALID_ARGUMENT naming both numbers (and why LibTorch sees none, when it sees none).
 *  LTC_DEVICE_CPU: nproc above the CPU cores this process may use (its affinity mask; at least 2) ->
 *  LTC_ERR_INVALID_ARGUMENT naming both numbers: each rank is a whole process with its own LibTorch.
 *  port: 1..65535, or 0 for a free one; a port already in use -> LTC_ERR_DISTRIBUTED naming it.
 *  timeout_s > 0: the ranks' own timeout. While waiting, SIGINT, SIGTERM and SIGHUP are forwarded to
 *  every rank (which then have 10 s to exit before SIGTERM, and 5 s more before SIGKILL). When a rank
 *  (other than rank 0, which hosts the store) exits with a failure or is killed by a signal, the
 *  launcher writes that into the rank's heartbeat in the store, so the others end at once naming the
 *  rank and the status or signal; a frozen rank is still named by the heartbeat timeout. Once a rank
 *  fails, the others have timeout_s + 5 s to exit on their own, then get SIGTERM, and SIGKILL 5 s
 *  later: it never hangs.
 *  On LTC_OK every rank has been reaped: *out_exit_code is 0 if all exited 0, else the exit status of
 *  the first rank that failed (128+N if signal N killed it), and *out_failed_rank that rank (-1 if
 *  none). One exception: when the first exited with 128+N (a program's way of saying that signal N
 *  stopped it, or stopped its group), and another rank was killed by signal N that the launcher did
 *  not send, that rank is named: it got the signal (a program that saves on SIGTERM and then dies by
 *  it, as train_data_parallel does, is named so, and its peers exit 143). Other bad input (nproc < 1, argv NULL or empty, timeout_s not > 0) ->
 *  LTC_ERR_INVALID_ARGUMENT. Call from the main thread only: it installs signal handlers for its
 *  duration and restores them. Do not call it from a process that is itself a rank. */
LTC_API ltc_status ltc_launch_local(int *out_exit_code, int *out_failed_rank, int nproc, const char *const *argv,
                                    ltc_device_type device_type, int port, double timeout_s);

/*! ltc_launch_local, restarting the whole group up to max_restarts times (0..1000, else
 *  LTC_ERR_INVALID_ARGUMENT) after a rank fails, as `torchrun --max-restarts` does: every rank is
 *  ended, then all start again with TORCHELASTIC_RESTART_COUNT one higher (and, with port 0, a new
 *  free port); a program that checkpoints resumes from its checkpoint there. A signal forwarded to the
 *  ranks (Ctrl-C, SIGTERM from a scheduler) is never followed by a restart, nor is a rank's exit
 *  status 2: by the convention of ltc's programs that is bad usage or a set-up that cannot work (an
 *  unknown option, a checkpoint path that cannot be written or that another run holds), which a
 *  restart would repeat; that is said on stderr ("ltc_launch_local: rank 0 exited with status 2 (bad
 *  usage or set-up, which a restart repeats): no restart"). Each restart is announced on stderr
 *  ("ltc_launch_local: rank 1 was killed by signal 9 (SIGKILL); restarting all 2 ranks (restart 1 of
 *  3)"; a rank that exited 143 is "exited 143 after SIGTERM (128+15)"). *out_exit_code and *out_failed_rank describe the last attempt; *out_restarts
 *  (may be NULL) the restarts made. */
LTC_API ltc_status ltc_launch_local_restarts(int *out_exit_code, int *out_failed_rank, int *out_restarts, int nproc,
                                             const char *const *argv, ltc_device_type device_type, int port,
                                             double timeout_s, int max_restarts);

/* A process group: this rank's membership of one data-parallel job. */
typedef struct ltc_dist ltc_dist;

/*! Joins the job env describes (ltc_dist_env_from) and returns this rank's group in *out (new, owned
 *  by the caller; ltc_dist_free). Rank 0 hosts a c10d TCPStore on master_port (unless the launcher
 *  hosts it); every rank reaches it at master_addr:master_port and waits until all world_size ranks
 *  have joined. Then the communicator on `device`: cuda:N -> c10d's ProcessGroupNCCL on that GPU;
 *  cpu -> a simple all-reduce through the store itself (for tests and the CPU fallback: correct,
 *  not fast). A watchdog thread then beats a heartbeat through the store and watches the others'.
 *  Liveness across nodes: rank 0 also listens on a free port of its own (every address), and every
 *  other rank keeps one TCP connection to it, carrying a byte each heartbeat both ways (a thread on
 *  each rank). A process that ends, however it ends, has that connection closed by its kernel: the
 *  others name it within a second or two on any node ("rank 1 is lost: its process on host n2 ended
 *  without leaving the group: ..."), whatever timeout_s is. A process alive but silent (frozen, or
 *  its node cut off by a network partition) is named after timeout_s, on both sides of a partition
 *  ("rank 0 is lost: nothing heard from it for 60.0 s ..."). Every call to the store is bounded by
 *  timeout_s as well (c10d's own receive after a wait is not). A rank that cannot reach rank 0's port
 *  says so once on stderr and goes on, a death on another node then named after the timeout.
 *  timeout_s (> 0, at most 1e7) bounds every wait: the store not reachable within it -> LTC_ERR_TIMEOUT
 *  naming the address; a rank missing at the rendezvous -> LTC_ERR_TIMEOUT naming it; the port
 *  already in use on rank 0 -> LTC_ERR_DISTRIBUTED naming it. At the rendezvous the ranks exchange
 *  their world size, device, host name and GPU identity (the GPU's UUID, or its PCI bus id where there
 *  is no UUID) and refuse, with LTC_ERR_DISTRIBUTED naming the ranks: a disagreement on the world
 *  size; a disagreement on the device type (a rank on the CPU among ranks on GPUs, each rank's device
 *  named); two ranks on one physical GPU (its UUID named). Different GPUs are accepted whatever their
 *  ordinals: under Slurm's --gpus-per-task, or one CUDA_VISIBLE_DEVICES per rank, each sees cuda:0.
 *  (Tests only: LTC_TEST_GPU_IDENTITY, a space-separated list whose item r is "cpu" or "cuda:N/ID",
 *  replaces what rank r reports, so that CPU ranks can exercise these checks.)
 *  A CUDA device in a libltc without NCCL -> LTC_ERR_UNSUPPORTED; device errors as at tensor
 *  creation; other bad input -> LTC_ERR_INVALID_ARGUMENT.
 *  While it waits (for the store, the other ranks, or in a collective or ltc_dist_free later), a rank
 *  prints a line to stderr every timeout/5 seconds (1 to 5 s) saying whom it waits for and how long
 *  is left: "ltc: rank 0 waits for rank 1 of 2 to join the rendezvous at 127.0.0.1:29500 (12 s left
 *  of the timeout of 30 s)".
 *  What it does to the process, and why each stays:
 *  - with a cuda device only, sets NCCL_NVLS_ENABLE=0 in the environment unless it is set: NCCL
 *    reads that switch only from the environment, and NVLink multicast (NVLS) fails to set up on
 *    machines whose fabric does not support it, at the first collective, after the rendezvous;
 *  - while a group is open, an exit hook: a process that exits without ltc_dist_free (e.g. after a
 *    failure) tells the other ranks its exit status and ends with _exit(status), because LibTorch's
 *    static destructors would otherwise run under the group's still-running watchdog and NCCL
 *    threads (a crash or a hang behind an aborted communicator). A process that frees its groups
 *    exits normally. LibTorch's log level is left as it is: c10d logs each broken or silent store
 *    connection as a warning, often with a C++ backtrace; ltc_log_level_init(LTC_LOG_ERROR) or
 *    ltc_log_level_set keeps those out, as the example programs do.
 *  Threads: one group per thread; its calls must come from one thread at a time. */
LTC_API ltc_status ltc_dist_init(ltc_dist **out, const ltc_dist_env *env, ltc_device device, double timeout_s);

/*! Leaves the group: tells the others this rank is done, and on the rank hosting the store waits
 *  (up to the timeout) until every rank has left, so that no rank loses the store mid-call. After a
 *  failure it aborts the communicator instead. NULL is a no-op. */
LTC_API void ltc_dist_free(ltc_dist *dist);

/*! This rank, 0..world_size-1; -1 on NULL. */
LTC_API int ltc_dist_rank(const ltc_dist *dist);
/*! Number of ranks; -1 on NULL. */
LTC_API int ltc_dist_world_size(const ltc_dist *dist);

/* Collectives. Every rank must make the same calls in the same order. Each returns as soon as the
 * work is queued on the group's device (NCCL) or done (CPU). Failures, on every call:
 *  - a rank lost (its process ended, or its heartbeat stopped for the timeout) -> LTC_ERR_DISTRIBUTED
 *    naming it ("rank 1 is lost: ..."); the watchdog aborts the communicator as soon as it knows, so
 *    a call blocked on the lost rank returns, and every later call returns the same error;
 *  - the store unreachable, or a peer not arriving within the timeout -> LTC_ERR_TIMEOUT or
 *    LTC_ERR_DISTRIBUTED naming the address or the rank;
 *  - NULL or a module on another device than the group's -> LTC_ERR_INVALID_ARGUMENT. */

/*! Overwrites every rank's parameters with rank `root`'s (0 <= root < world size), as one flat buffer. */
LTC_API ltc_status ltc_dist_broadcast_parameters(ltc_dist *dist, ltc_linear *linear, int root);

/*! After backward: sums every rank's gradients as one flat buffer and divides by the world size, so each
 *  rank holds the gradient of the whole global batch (for equal shards). The parameters' gradients
 *  then share that buffer (as DDP's gradient_as_bucket_view). No gradient yet ->
 *  LTC_ERR_INVALID_ARGUMENT. */
LTC_API ltc_status ltc_dist_average_gradients(ltc_dist *dist, ltc_linear *linear);

/*! Checks that every rank holds the same parameters: a two-number checksum per rank, all-gathered and
 *  compared bit for bit. Blocks until the answer is known. Replicas that differ ->
 *  LTC_ERR_DISTRIBUTED naming the ranks that differ from rank 0 and both checksums. */
LTC_API ltc_status ltc_dist_check_replicas(ltc_dist *dist, const ltc_linear *linear);

/*! *out = the mean of `value` over all ranks (e.g. each rank's loss). Blocks. */
LTC_API ltc_status ltc_dist_mean(double *out, ltc_dist *dist, double value);

/*! *out = 1 if `flag` is nonzero on any rank, else 0: the same answer on every rank, so that all
 *  ranks take a decision together (e.g. stop after this step because one rank got SIGTERM). Blocks. */
LTC_API ltc_status ltc_dist_any(int *out, ltc_dist *dist, int flag);

/* Cross-rank check: is this whole allocation ready for data-parallel training? (check_cuda under a
 * launcher). Every rank diagnoses its own GPU (ltc_diagnose, cuda:<local rank>) and reports to rank 0
 * through the rendezvous store, so the check works where NCCL does not; every rank then holds the same
 * report: one row per rank, findings across ranks (two ranks on one GPU, versions that differ), and, after
 * ltc_cluster_allreduce_proof, an all-reduce proof and a bandwidth sweep. */
typedef struct ltc_cluster_report ltc_cluster_report;

/* What is wrong with one rank, as the cross-rank check sees it. Values pinned. */
typedef enum ltc_rank_state {
    LTC_RANK_OK = 0,              /* its GPU is usable and nothing across ranks is wrong with it */
    LTC_RANK_GPU_UNUSABLE = 1,    /* its own diagnosis found a cause (the row's cause) */
    LTC_RANK_NOT_JOINED = 2,      /* it never reached the store within the timeout */
    LTC_RANK_NO_REPORT = 3,       /* it joined but its report never came: it died or hung */
    LTC_RANK_NO_DEVICE = 4,       /* its local rank has no GPU (cuda:<local rank> does not exist) */
    LTC_RANK_SHARED_GPU = 5,      /* another rank uses the same GPU (same UUID, or same host and cuda:N) */
    LTC_RANK_VERSION_MISMATCH = 6,/* its LibTorch, CUDA or NCCL differs from most ranks' */
    LTC_RANK_COLLECTIVE = 7       /* it did not finish a collective of the proof within the timeout */
} ltc_rank_state;

/*! "ok", "gpu unusable", "did not join", "no report", "no GPU for its local rank", "shares a GPU",
 *  "versions differ", "collective failed"; "unknown" for other values (never NULL). Static. Thread-safe. */
LTC_API const char *ltc_rank_state_name(ltc_rank_state state);

/* One rank's row. Strings are borrowed from the report and live as long as it; "" when unknown. */
typedef struct ltc_cluster_rank {
    int rank, local_rank;
    ltc_rank_state state;
    ltc_cause cause;            /* its diagnosis' primary cause (LTC_CAUSE_NONE when usable or no report) */
    const char *host;           /* its host name */
    const char *gpu_name;       /* cuda:<local rank>'s name, e.g. "NVIDIA H200" */
    const char *gpu_uuid;       /* "GPU-xxxxxxxx-..." */
    const char *torch_version;  /* LibTorch's version */
    int driver_version;         /* the newest CUDA the driver supports (13000 for 13.0); 0 if unknown */
    const char *driver_release; /* the driver's own version, e.g. "580.65.06" (NVML, else the kernel module) */
    int cuda_version;           /* CUDA runtime LibTorch was built with; 0 if none */
    int nccl_version;           /* NCCL loaded (or built with); 0 if none */
    const char *message;        /* what is wrong, one sentence ("" when ok) */
    const char *fix;            /* what to do ("" when ok or unknown) */
} ltc_cluster_rank;

/* One size of the bandwidth sweep, as nccl-tests reports it: time is the mean over the ranks of each
 * rank's mean time per all-reduce; algbw = bytes / time; busbw = algbw * 2(n-1)/n (0 for one rank). */
typedef struct ltc_cluster_bandwidth {
    size_t bytes;        /* the buffer all-reduced (float32 elements * 4) */
    double time_us;      /* microseconds per all-reduce */
    double algbw_gbps;   /* GB/s, 1e9 bytes per second */
    double busbw_gbps;
} ltc_cluster_bandwidth;

/*! Every rank of the job env describes (ltc_dist_env_from) calls this at the same point. Each rank
 *  runs ltc_diagnose(flags) (LTC_DIAGNOSE_* bits; others -> LTC_ERR_INVALID_ARGUMENT) and reads the row
 *  of cuda:<local rank>; rank 0 hosts a store on master_port (or a free port it announces through the
 *  launcher's store), every rank reports its row there, and rank 0 decides which ranks made it: a rank
 *  that never joins or whose report does not come within timeout_s (> 0, at most 1e7) gets its row
 *  (LTC_RANK_NOT_JOINED, LTC_RANK_NO_REPORT); the check never waits longer than about timeout_s plus
 *  the diagnosis. *out is a new report, owned by the caller (ltc_cluster_report_free), the same on
 *  every rank that got rank 0's decision. Errors: env NULL or not valid as for ltc_dist_init ->
 *  LTC_ERR_INVALID_ARGUMENT; this rank cannot reach the store, or rank 0's decision does not come ->
 *  LTC_ERR_TIMEOUT or LTC_ERR_DISTRIBUTED naming the address or rank 0. A GPU problem is a result, not
 *  an error. The report keeps the store open (rank 0: its server) until it is freed: free it before
 *  ltc_dist_init on the same port. Threads: one check per process at a time. */
LTC_API ltc_status ltc_cluster_check(ltc_cluster_report **out, const ltc_dist_env *env, unsigned flags,
                                     double timeout_s);

/*! The collective proof, on every rank of a report whose ranks all reported usable
 *  (ltc_cluster_report_ready): joins a group on `device` (cuda:N -> ProcessGroupNCCL; cpu -> the store,
 *  for tests) over the report's store, all-reduces 1 Mi float32 (or max_bytes, if smaller) and checks
 *  every value, then sweeps all-reduces from 8 B, doubling, to max_bytes (0: no sweep; 5 warm-up and 20
 *  timed calls per size), and records both in the report (its rows, JSON, text, ltc_cluster_report_sweep).
 *  A collective that fails, or that some rank does not finish within timeout_s, names those ranks
 *  (LTC_RANK_COLLECTIVE) and returns LTC_ERR_DISTRIBUTED or LTC_ERR_TIMEOUT; wrong values ->
 *  LTC_ERR_DISTRIBUTED naming the first wrong element. Errors: report NULL, device not valid, max_bytes
 *  above 1 GiB, timeout_s not > 0 -> LTC_ERR_INVALID_ARGUMENT; a report that is not ready ->
 *  LTC_ERR_INVALID_ARGUMENT naming why; a CUDA device without NCCL -> LTC_ERR_UNSUPPORTED. Run it once
 *  per report. Threads: as ltc_dist_init. */
LTC_API ltc_status ltc_cluster_allreduce_proof(ltc_cluster_report *report, ltc_device device, size_t max_bytes,
                                               double timeout_s);

/*! Tells the other ranks this one is done with the store; on rank 0, waits (up to the check's timeout)
 *  until every rank that reported has, then closes the store; on the others, waits (as long) until rank
 *  0 has closed it, so that a later ltc_dist_init on the same port finds a fresh store. NULL is a no-op. */
LTC_API void ltc_cluster_report_free(ltc_cluster_report *report);

/*! 1 when every rank reported a usable GPU of its own, no two share one, their LibTorch, CUDA and NCCL
 *  agree, and the proof (if it ran) passed; else 0 (also for NULL, which sets ltc_last_error()). */
LTC_API int ltc_cluster_report_ready(const ltc_cluster_report *report);
/*! The number of ranks (the world size), one row each; -1 on NULL. */
LTC_API int ltc_cluster_report_rank_count(const ltc_cluster_report *report);
/*! Row `rank` (0 .. count-1) into *out. NULL out or report, a rank out of range ->
 *  LTC_ERR_INVALID_ARGUMENT naming it and the count. */
LTC_API ltc_status ltc_cluster_report_rank(ltc_cluster_rank *out, const ltc_cluster_report *report, int rank);
/*! Sizes in the bandwidth sweep (0 before the proof, or without one; 0 for NULL). */
LTC_API size_t ltc_cluster_report_sweep_count(const ltc_cluster_report *report);
/*! Size `index` (0 .. count-1) of the sweep into *out; out of range -> LTC_ERR_INVALID_ARGUMENT. */
LTC_API ltc_status ltc_cluster_report_sweep(ltc_cluster_bandwidth *out, const ltc_cluster_report *report,
                                            size_t index);
/*! The whole report as one JSON document (verdict, rows, findings, proof, sweep), and as text: one
 *  overall verdict naming the failing ranks and hosts with the fix for each distinct cause, then a table
 *  of the ranks, then the sweep. Borrowed: valid until the report changes (the proof) or is freed;
 *  never NULL ("" for NULL). */
LTC_API const char *ltc_cluster_report_json(const ltc_cluster_report *report);
LTC_API const char *ltc_cluster_report_text(const ltc_cluster_report *report);

/* ------------------------------------------------------------------------------------------------ */
/* Graphs: one training step captured as a CUDA graph                                               */
/* ------------------------------------------------------------------------------------------------ */

/* One whole training step captured as a CUDA graph (at::cuda::CUDAGraph) and replayed: forward, MSE
 * loss, backward, with a group the gradient average (NCCL inside the graph), and the SGD step. */
typedef struct ltc_train_graph ltc_train_graph;

/*! Captures the step of `linear` and `opt` (the ltc_sgd made over linear) on batches shaped like
 *  x [batch, in] and y [batch, out], float32 on the module's GPU; dist may be NULL (one GPU) or the
 *  module's group, whose ranks must all call this at the same point. First three warm-up steps run on
 *  a side stream on x and y (CUDA and NCCL set themselves up), then the parameters are restored and the
 *  momentum buffers zeroed (as fresh, unless opt had stepped before: then restored too), so that the
 *  first replay is the step eager code would take. The graph reads its own copies of x and y (see
 *  ltc_train_graph_inputs). The backward captured is LibTorch's autograd. Keeps pointers to linear, opt and dist: free the graph first.
 *  *out new, owned by the caller. Errors: a module on the CPU, shapes or devices that differ, an opt
 *  made over another module -> LTC_ERR_INVALID_ARGUMENT; a libltc without CUDA -> LTC_ERR_UNSUPPORTED;
 *  capture failures -> LTC_ERR_DEVICE or LTC_ERR_TORCH with CUDA's message; group failures as for the
 *  collectives. */
LTC_API ltc_status ltc_train_graph_new(ltc_train_graph **out, ltc_linear *linear, ltc_sgd *opt, ltc_dist *dist,
                                       const ltc_tensor *x, const ltc_tensor *y);
/*! Copies x and y (same shapes, dtype and device as at capture, else LTC_ERR_INVALID_ARGUMENT) into
 *  the graph's inputs and replays one step, queued on the current stream. Given the graph's own inputs
 *  (ltc_train_graph_inputs), nothing is copied. With a group: its failures. */
LTC_API ltc_status ltc_train_graph_replay(ltc_train_graph *graph, const ltc_tensor *x, const ltc_tensor *y);
/*! New handles on the graph's input tensors, copies of the capture's x and y that every replay reads:
 *  fill them (ltc_tensor_copy) and replay with them, and the replay copies nothing. Either out may be
 *  NULL. Both handles are owned by the caller; each keeps its tensor alive after the graph is freed.
 *  graph NULL -> LTC_ERR_INVALID_ARGUMENT; a libltc without CUDA -> LTC_ERR_UNSUPPORTED (outs NULL). */
LTC_API ltc_status ltc_train_graph_inputs(ltc_tensor **out_x, ltc_tensor **out_y, const ltc_train_graph *graph);
/*! The loss of the latest replay: *out is a new handle on the graph's loss tensor, which the next replay
 *  overwrites (read it with ltc_tensor_item before replaying again). */
LTC_API ltc_status ltc_train_graph_loss(ltc_tensor **out, const ltc_train_graph *graph);
/*! NULL is a no-op. */
LTC_API void ltc_train_graph_free(ltc_train_graph *graph);

#ifdef __cplusplus
}
#endif

#include "ltc/model.h" /* exported models */

#endif /* LTC_H */
