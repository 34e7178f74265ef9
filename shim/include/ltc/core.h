/*
 * ltc/core.h: the core of the ltc API: status codes and errors, versions, runtime settings, devices,
 * tensors, CUDA queries and events, nn, optim, checkpoints and CUDA graphs.
 * Part of the ltc API: include ltc.h (the umbrella), or this header alone. Conventions: see ltc.h.
 */
#ifndef LTC_CORE_H
#define LTC_CORE_H

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
#define LTC_VERSION_MINOR 2
#define LTC_VERSION_PATCH 0
#define LTC_VERSION_NUMBER (LTC_VERSION_MAJOR * 10000 + LTC_VERSION_MINOR * 100 + LTC_VERSION_PATCH)
#define LTC_VERSION_STRING "0.2.0"

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

/* Device values in C: LTC_CPU, LTC_CUDA(0) (cuda:0), LTC_CUDA(-1) (the current CUDA device). Compound
 * literals: C99 and later. */
#define LTC_CPU ((ltc_device){LTC_DEVICE_CPU, 0})
#define LTC_CUDA(index) ((ltc_device){LTC_DEVICE_CUDA, (index)})

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

/*! Waits for all work queued on CUDA device `device` (cuda:N, or cuda, index -1: the current device).
 *  Errors: a CPU device, or an index out of range -> LTC_ERR_INVALID_ARGUMENT; no CUDA ->
 *  LTC_ERR_CUDA_UNAVAILABLE. */
LTC_API ltc_status ltc_cuda_synchronize(ltc_device device);

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
/* Tensor lists: named tensors (a module's parameters, an optimizer's state, a state_dict)          */
/* ------------------------------------------------------------------------------------------------ */

/* An ordered list of (name, tensor) entries with unique names. Each entry shares its tensor's memory: the
 * list keeps the tensor alive and sees every change made through another handle. */
typedef struct ltc_tensor_list ltc_tensor_list;

#define LTC_NAME_MAX 255 /* bytes of an entry's name, without the NUL */

/*! A new empty list, owned by the caller (ltc_tensor_list_free). Thread-safe.
 *  Errors: out NULL -> LTC_ERR_INVALID_ARGUMENT. */
LTC_API ltc_status ltc_tensor_list_new(ltc_tensor_list **out);
/*! Releases the list; its tensors live on while other handles share them. NULL is a no-op. */
LTC_API void ltc_tensor_list_free(ltc_tensor_list *list);
/*! Appends (name, tensor): the list shares tensor's memory; the caller keeps (and frees) its handle.
 *  Errors: list, name or tensor NULL; name empty, longer than LTC_NAME_MAX bytes, or already in the
 *  list -> LTC_ERR_INVALID_ARGUMENT naming it; nothing appended. Threads: as the list. */
LTC_API ltc_status ltc_tensor_list_append(ltc_tensor_list *list, const char *name, const ltc_tensor *tensor);
/*! The number of entries (>= 0); -1 on NULL, which sets ltc_last_error(). */
LTC_API int64_t ltc_tensor_list_count(const ltc_tensor_list *list);
/*! Entry `index` (0 .. count-1): *out a new handle sharing its tensor (owned by the caller), *out_name
 *  its name (borrowed from the list: valid while the list lives). Either out may be NULL, not both.
 *  Errors: list NULL, both outs NULL, an index out of range -> LTC_ERR_INVALID_ARGUMENT naming the
 *  index and the count (outs NULL). */
LTC_API ltc_status ltc_tensor_list_get(ltc_tensor **out, const char **out_name, const ltc_tensor_list *list,
                                       int64_t index);
/*! The entry named `name`: *out a new handle sharing its tensor, owned by the caller. Errors: a NULL
 *  argument; no such name -> LTC_ERR_INVALID_ARGUMENT naming it and the list's first names. */
LTC_API ltc_status ltc_tensor_list_find(ltc_tensor **out, const ltc_tensor_list *list, const char *name);

/* ------------------------------------------------------------------------------------------------ */
/* Tensor operations and autograd                                                                   */
/* ------------------------------------------------------------------------------------------------ */

/* Each operation wraps one LibTorch call and returns a new tensor in *out, owned by the caller
 * (ltc_tensor_free); autograd records it when an input requires a gradient and the grad mode is on.
 * The inputs must be on one device and of one dtype (no type promotion), else LTC_ERR_INVALID_ARGUMENT
 * naming both; shapes broadcast as in PyTorch, and shapes that do not -> LTC_ERR_INVALID_ARGUMENT naming
 * them. NULL arguments -> LTC_ERR_INVALID_ARGUMENT. Threads: as the tensors they read. */

/*! out = a + b, a - b, a * b (elementwise, broadcasting). */
LTC_API ltc_status ltc_tensor_add(ltc_tensor **out, const ltc_tensor *a, const ltc_tensor *b);
LTC_API ltc_status ltc_tensor_sub(ltc_tensor **out, const ltc_tensor *a, const ltc_tensor *b);
LTC_API ltc_status ltc_tensor_mul(ltc_tensor **out, const ltc_tensor *a, const ltc_tensor *b);
/*! out = a + s, a * s, for a finite scalar s (NaN or infinity -> LTC_ERR_INVALID_ARGUMENT; integer
 *  tensors take an integral s only). */
LTC_API ltc_status ltc_tensor_add_scalar(ltc_tensor **out, const ltc_tensor *a, double s);
LTC_API ltc_status ltc_tensor_mul_scalar(ltc_tensor **out, const ltc_tensor *a, double s);
/*! out = a @ b, as torch.matmul (1-D and 2-D, and batched with broadcasting); floating dtypes. Inner
 *  sizes that differ -> LTC_ERR_INVALID_ARGUMENT naming both shapes. */
LTC_API ltc_status ltc_tensor_matmul(ltc_tensor **out, const ltc_tensor *a, const ltc_tensor *b);
/*! out = max(a, 0), as torch.relu. */
LTC_API ltc_status ltc_tensor_relu(ltc_tensor **out, const ltc_tensor *a);
/*! The sum, and the mean, of every element: a one-element tensor of no dimensions (ltc_tensor_item
 *  reads it). The mean takes floating dtypes only. */
LTC_API ltc_status ltc_tensor_sum(ltc_tensor **out, const ltc_tensor *a);
LTC_API ltc_status ltc_tensor_mean(ltc_tensor **out, const ltc_tensor *a);
/*! The index of the largest value along `dim` (negative counts from the end), as torch.argmax: int64,
 *  with that dimension removed; never recorded by autograd. dim out of range -> LTC_ERR_INVALID_ARGUMENT
 *  naming it and the valid range. */
LTC_API ltc_status ltc_tensor_argmax(ltc_tensor **out, const ltc_tensor *a, int dim);
/*! The same elements in a new shape (ndim entries, 0 <= ndim <= LTC_MAX_DIMS, each >= 1 or one of
 *  them -1: inferred; ndim 0 for a one-element tensor of no dimensions), as torch.reshape: shares
 *  the memory where it can (a view), else copies. A number of elements that differs ->
 *  LTC_ERR_INVALID_ARGUMENT naming both shapes. */
LTC_API ltc_status ltc_tensor_reshape(ltc_tensor **out, const ltc_tensor *a, const int64_t *shape, int ndim);
/*! A new handle on the same memory, cut from the autograd graph (torch.detach): never requires a
 *  gradient. */
LTC_API ltc_status ltc_tensor_detach(ltc_tensor **out, const ltc_tensor *a);

/*! Asks autograd to record operations on `tensor` and accumulate its gradient (requires_grad = 1), or
 *  stops it (0). Only a leaf (a tensor no recorded operation made) may change, and 1 needs a floating
 *  dtype: else LTC_ERR_INVALID_ARGUMENT saying why (ltc_tensor_detach gives a leaf); requires_grad
 *  other than 0 or 1 -> LTC_ERR_INVALID_ARGUMENT. Every handle on the tensor sees the change. */
LTC_API ltc_status ltc_tensor_set_requires_grad(ltc_tensor *tensor, int requires_grad);
/*! *out = 1 if autograd records operations on the tensor, else 0. */
LTC_API ltc_status ltc_tensor_requires_grad(int *out, const ltc_tensor *tensor);
/*! Turns autograd's recording on (1) or off (0) for the calling thread, as torch::GradMode; *out_previous
 *  (may be NULL) gets the mode before the call. A no-grad scope:
 *    int prev; ltc_grad_mode_set(&prev, 0); ... ltc_grad_mode_set(NULL, prev);
 *  enabled other than 0 or 1 -> LTC_ERR_INVALID_ARGUMENT. Per thread. */
LTC_API ltc_status ltc_grad_mode_set(int *out_previous, int enabled);
/*! 1 when autograd records operations on this thread, else 0. Never fails. Per thread. */
LTC_API int ltc_grad_mode_enabled(void);

/*! The tensor's elements in place, without a copy: *out points at the first element of a contiguous
 *  tensor in host memory (C order, ltc_tensor_nbytes() bytes), valid while any handle on that memory
 *  lives. Writing through it changes the tensor, unseen by autograd. A tensor on a GPU, or not
 *  contiguous (a view such as a transposed one) -> LTC_ERR_INVALID_ARGUMENT saying what to use instead
 *  (ltc_tensor_copy_to_host copies any tensor out). */
LTC_API ltc_status ltc_tensor_data(void **out, const ltc_tensor *tensor);

/* ------------------------------------------------------------------------------------------------ */
/* CUDA: peer access, the PCIe link, events                                                         */
/* ------------------------------------------------------------------------------------------------ */

/*! *out = 1 if GPU `device` (cuda:N) can access GPU `peer`'s (cuda:M) memory directly (peer to peer over NVLink or
 *  PCIe): LibTorch then enables it for this process and copies between them skip host memory; 0 if
 *  such copies are staged through the host. 1 when device == peer. Thread-safe.
 *  Errors: out NULL, a CPU device, or an index below 0 -> LTC_ERR_INVALID_ARGUMENT; no usable GPU ->
 *  LTC_ERR_CUDA_UNAVAILABLE; an index past the device count -> LTC_ERR_INVALID_ARGUMENT naming the
 *  count; a driver error -> LTC_ERR_DEVICE. */
LTC_API ltc_status ltc_cuda_peer_access(int *out, ltc_device device, ltc_device peer);

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

/*! Fills *out for CUDA device `device` (cuda:N, N 0 and up). The PCIe fields are 0 where sysfs is not readable
 *  (some containers). Thread-safe.
 *  Errors: out NULL, a CPU device or an index below 0 -> LTC_ERR_INVALID_ARGUMENT; no usable GPU ->
 *  LTC_ERR_CUDA_UNAVAILABLE; device past the count -> LTC_ERR_INVALID_ARGUMENT; a driver error ->
 *  LTC_ERR_DEVICE. */
LTC_API ltc_status ltc_cuda_link_info_get(ltc_cuda_link_info *out, ltc_device device);

/* CUDA events time GPU work on the GPU's own clock (resolution about 0.5 us) without stalling the host:
 * record one before the work and one after, then ask for the time between them. */
typedef struct ltc_event ltc_event;

/*! A new timing event for CUDA device `device` (cuda:N, or cuda, index -1: the current one). *out is new, owned by the
 *  caller (ltc_event_free). Thread-safe.
 *  Errors: out NULL, a CPU device or an index below -1 -> LTC_ERR_INVALID_ARGUMENT; no usable GPU ->
 *  LTC_ERR_CUDA_UNAVAILABLE; device past the count -> LTC_ERR_INVALID_ARGUMENT. */
LTC_API ltc_status ltc_event_new(ltc_event **out, ltc_device device);
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
/* Losses: MSE (cross-entropy below)                                                               */
/* ------------------------------------------------------------------------------------------------ */

/*! Mean squared error, mean over all elements: a new one-element tensor owned by the caller. input and
 *  target must have the same shape, dtype and device (no broadcasting), else LTC_ERR_INVALID_ARGUMENT. */
LTC_API ltc_status ltc_mse_loss(ltc_tensor **out, const ltc_tensor *input, const ltc_tensor *target);

/* ------------------------------------------------------------------------------------------------ */
/* Modules: torch::nn Linear, ReLU, Sequential                                                      */
/* ------------------------------------------------------------------------------------------------ */

/* A torch::nn module: a Linear, a ReLU, or a Sequential of modules. Parameters are float32, on the CPU
 * until moved, initialised as PyTorch does from the global generator (ltc_manual_seed first for
 * repeatable weights). Threads: one module must not be used from two threads at once. */
typedef struct ltc_module ltc_module;

/*! nn.Linear(in_features, out_features, bias): y = x W^T + b, W [out_features, in_features].
 *  in_features, out_features >= 1, has_bias 0 or 1, else LTC_ERR_INVALID_ARGUMENT naming the value.
 *  *out new, owned by the caller (ltc_module_free). */
LTC_API ltc_status ltc_module_linear_new(ltc_module **out, int64_t in_features, int64_t out_features, int has_bias);
/*! nn.ReLU(): y = max(x, 0); no parameters. *out new, owned by the caller. */
LTC_API ltc_status ltc_module_relu_new(ltc_module **out);
/*! nn.Sequential(), empty: ltc_module_sequential_append fills it; forward runs the modules in order.
 *  *out new, owned by the caller. */
LTC_API ltc_status ltc_module_sequential_new(ltc_module **out);
/*! Appends `child` to the Sequential `seq`, named by its position ("0", "1", ...), as PyTorch names
 *  them. seq shares the child: the caller still frees its own handle, and a change to one is seen by
 *  the other. Errors: seq not a Sequential, child NULL, child seq itself or a Sequential holding seq
 *  -> LTC_ERR_INVALID_ARGUMENT saying which. */
LTC_API ltc_status ltc_module_sequential_append(ltc_module *seq, ltc_module *child);
/*! Releases the handle; a module shared by a Sequential, and parameter handles obtained earlier, stay
 *  valid. NULL is a no-op. */
LTC_API void ltc_module_free(ltc_module *module);
/*! "Linear", "ReLU" or "Sequential"; "" for NULL (which sets ltc_last_error()). Static storage. */
LTC_API const char *ltc_module_kind(const ltc_module *module);
/*! y = module(x): *out new, owned by the caller, recorded for ltc_tensor_backward. A Linear takes x of
 *  shape [..., in_features] (float32, on the module's device); a shape, dtype or device that does not
 *  fit -> LTC_ERR_INVALID_ARGUMENT naming the module (in a Sequential, its position), both sides and
 *  what would fit. An empty Sequential returns x (a new handle on it), as nn.Sequential() does. */
LTC_API ltc_status ltc_module_forward(ltc_tensor **out, ltc_module *module, const ltc_tensor *x);
/*! Moves the parameters (and any gradients) to device, in place: tensor handles and lists of them
 *  obtained earlier follow. Device errors as at tensor creation. */
LTC_API ltc_status ltc_module_to(ltc_module *module, ltc_device device);
/*! Training mode (1) or evaluation mode (0), for the module and every module inside it, as
 *  Module.train()/.eval(). training other than 0 or 1 -> LTC_ERR_INVALID_ARGUMENT. */
LTC_API ltc_status ltc_module_train(ltc_module *module, int training);
/*! *out = 1 in training mode (the default), 0 in evaluation mode. */
LTC_API ltc_status ltc_module_is_training(int *out, const ltc_module *module);
/*! The parameters, named as PyTorch's named_parameters() and state_dict() name them: "weight", "bias"
 *  for a Linear; "0.weight", "0.bias", "2.weight", ... for a Sequential (a nested one: "1.0.weight").
 *  *out is a new list owned by the caller; its tensors share the parameters (they follow
 *  ltc_module_to, which moves in place). A module without parameters gives an empty list; a module
 *  held twice in a Sequential is listed under each of its names, as state_dict() lists it. */
LTC_API ltc_status ltc_module_parameters(ltc_tensor_list **out, const ltc_module *module);
/*! nn.DataParallel in one process: y = module(x) with the module replicated on every device listed
 *  (devices NULL and ndevices 0: every visible GPU), x split along dim 0 across them, the outputs
 *  gathered on the first device; backward through *out sums the replicas' gradients into the
 *  module's own parameters (torch::nn::parallel::data_parallel). The module and x must be on the first
 *  device. Without any visible GPU, devices NULL and the module and x on the CPU, it is plain
 *  ltc_module_forward, as nn.DataParallel is. *out is new, owned by the caller. Asking for GPUs where
 *  LibTorch sees none -> LTC_ERR_CUDA_UNAVAILABLE saying why; a device index out of range, a
 *  duplicate, ndevices < 0 or > 0 with devices NULL, or a mismatch as in ltc_module_forward ->
 *  LTC_ERR_INVALID_ARGUMENT. */
LTC_API ltc_status ltc_module_data_parallel_forward(ltc_tensor **out, ltc_module *module, const ltc_tensor *x,
                                                    const int *devices, int ndevices);


/* ------------------------------------------------------------------------------------------------ */
/* Losses                                                                                           */
/* ------------------------------------------------------------------------------------------------ */

/*! Cross-entropy with mean reduction, as torch.nn.functional.cross_entropy: logits [N, C] (floating),
 *  target [N] int64 class indices in 0 .. C-1, on one device. *out is a new one-element tensor owned
 *  by the caller. Shapes or dtypes that do not fit -> LTC_ERR_INVALID_ARGUMENT naming them; on the CPU a
 *  class index out of range -> LTC_ERR_INVALID_ARGUMENT naming it and C (on a GPU LibTorch's device-side
 *  assert reports it, as in PyTorch). */
LTC_API ltc_status ltc_cross_entropy_loss(ltc_tensor **out, const ltc_tensor *logits, const ltc_tensor *target);

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
/* Optimizers over any list of parameters: SGD, Adam, AdamW                                         */
/* ------------------------------------------------------------------------------------------------ */

/* An optimizer over the tensors of a list (a module's parameters, or any leaf tensors that require a
 * gradient): it keeps them alive and updates them in place from their gradients. Each step is one
 * fused LibTorch call per device and dtype (torch.optim's fused=True). A step only queues work on the
 * parameters' device: no host sync and no read of a value back (Adam's and AdamW's step counters are
 * tensors on the parameter's device, as PyTorch's fused and capturable Adam keep them), so a CUDA graph
 * can capture it, after a first eager step has made the state. Threads: one optimizer from one
 * thread at a time. */
typedef struct ltc_optimizer ltc_optimizer;

#define LTC_SGD_OPTIONS_VERSION 1
/* torch.optim.SGD's settings. Start from LTC_SGD_OPTIONS_INIT and set what differs. */
typedef struct ltc_sgd_options {
    unsigned int version;   /* LTC_SGD_OPTIONS_VERSION */
    double lr;              /* learning rate, > 0 and finite (default 0.01) */
    double momentum;        /* 0 <= momentum < 1 (default 0) */
    double dampening;       /* 0 <= dampening <= 1 (default 0) */
    double weight_decay;    /* L2 penalty, >= 0 and finite (default 0) */
    int nesterov;           /* 0 or 1 (default 0); 1 needs momentum > 0 and dampening 0 */
} ltc_sgd_options;
#define LTC_SGD_OPTIONS_INIT {LTC_SGD_OPTIONS_VERSION, 0.01, 0.0, 0.0, 0.0, 0}

#define LTC_ADAM_OPTIONS_VERSION 1
/* torch.optim.Adam's and AdamW's settings. Start from LTC_ADAM_OPTIONS_INIT and set what differs. */
typedef struct ltc_adam_options {
    unsigned int version;   /* LTC_ADAM_OPTIONS_VERSION */
    double lr;              /* learning rate, > 0 and finite (default 1e-3) */
    double beta1, beta2;    /* 0 <= beta < 1 (default 0.9 and 0.999) */
    double eps;             /* > 0 (default 1e-8) */
    double weight_decay;    /* >= 0 (default 0; PyTorch's AdamW defaults to 0.01: set it) */
    int amsgrad;            /* 0 or 1 (default 0) */
} ltc_adam_options;
#define LTC_ADAM_OPTIONS_INIT {LTC_ADAM_OPTIONS_VERSION, 1e-3, 0.9, 0.999, 1e-8, 0.0, 0}

/*! SGD over every tensor of `params` (opts NULL: every default). *out new, owned by the caller
 *  (ltc_optimizer_free); it keeps the tensors alive. Errors: a bad option -> LTC_ERR_INVALID_ARGUMENT
 *  naming it, its value and the valid range; an unknown opts->version -> LTC_ERR_INVALID_ARGUMENT; an
 *  empty list, a tensor that is not a floating leaf requiring a gradient, or one tensor listed twice
 *  -> LTC_ERR_INVALID_ARGUMENT naming its entry (entries). The SGD step is ATen's _fused_sgd_, except on
 *  the CPU with several intra-op threads when every parameter of a device and dtype is under 32768
 *  elements: there the per-tensor ops, as torch.optim.SGD does on the CPU (the fused kernel would start
 *  every thread for each small tensor). */
LTC_API ltc_status ltc_optimizer_sgd_new(ltc_optimizer **out, const ltc_tensor_list *params, const ltc_sgd_options *opts);
/*! Adam (L2 weight decay added to the gradient), as torch.optim.Adam(fused=True): ATen's _fused_adam_.
 *  As ltc_optimizer_sgd_new. */
LTC_API ltc_status ltc_optimizer_adam_new(ltc_optimizer **out, const ltc_tensor_list *params, const ltc_adam_options *opts);
/*! AdamW (weight decay applied to the parameters, decoupled), as torch.optim.AdamW(fused=True):
 *  ATen's _fused_adamw_. As above. */
LTC_API ltc_status ltc_optimizer_adamw_new(ltc_optimizer **out, const ltc_tensor_list *params, const ltc_adam_options *opts);
/*! NULL is a no-op. The tensors live on while other handles share them. */
LTC_API void ltc_optimizer_free(ltc_optimizer *optimizer);
/*! Drops every parameter's gradient (set_to_none=True, PyTorch's default). */
LTC_API ltc_status ltc_optimizer_zero_grad(ltc_optimizer *optimizer);
/*! One update from the gradients now held, as the torch.optim class with fused=True does; a parameter
 *  without a gradient is skipped. A parameter's first step makes its state on the parameter's device;
 *  state left on another device (the module moved with ltc_module_to) moves to the parameter's first.
 *  A gradient whose device, dtype or shape differs from its parameter's -> LTC_ERR_INVALID_ARGUMENT
 *  naming it, and nothing is updated. */
LTC_API ltc_status ltc_optimizer_step(ltc_optimizer *optimizer);
/*! The optimizer's state as named tensors, PyTorch's optimizer.state_dict()["state"] flattened:
 *  "state.<i>.momentum_buffer" (SGD with momentum), "state.<i>.step", "state.<i>.exp_avg",
 *  "state.<i>.exp_avg_sq" (and "state.<i>.max_exp_avg_sq" with amsgrad) for Adam and AdamW, i the
 *  parameter's index in the list; a parameter that has not stepped yet has none. *out is a new list
 *  owned by the caller, sharing the state's memory. */
LTC_API ltc_status ltc_optimizer_state(ltc_tensor_list **out, const ltc_optimizer *optimizer);
/*! The optimizer's parameters, in its order (a new list owned by the caller, sharing them). */
LTC_API ltc_status ltc_optimizer_parameters(ltc_tensor_list **out, const ltc_optimizer *optimizer);

/* ------------------------------------------------------------------------------------------------ */
/* Checkpoints of any state: named tensors, an optimizer's state, a step, settings                  */
/* ------------------------------------------------------------------------------------------------ */

/* Checkpoints of any state: named tensors (a module's parameters: a state_dict), an optimizer's state, a
 * step and named settings, in LibTorch's own zip format, the one torch.save writes:
 * torch.load(path, weights_only=True) in Python reads it as a dict
 *   {"format": "ltc.checkpoint.2", "step": int, "model": {name: tensor}, "optimizer": PyTorch's
 *    optimizer.state_dict() layout {"state": {i: {name: tensor}}, "param_groups": [...]},
 *    "settings": {key: str}, "digest": str}
 * whose "model" loads into a torch.nn.Module with load_state_dict. ltc_checkpoint_load also reads a
 * plain state_dict that Python saved with torch.save (a dict of tensors), and an ltc checkpoint written
 * by Python without "digest" (ltc_checkpoint_save says how the digest is computed, to write one).
 * Threads: one checkpoint from one thread at a time. */
typedef struct ltc_checkpoint ltc_checkpoint;

/*! A new empty checkpoint (no tensors, no optimizer state, step 0, no settings), owned by the caller
 *  (ltc_checkpoint_free). */
LTC_API ltc_status ltc_checkpoint_new(ltc_checkpoint **out);
/*! NULL is a no-op. */
LTC_API void ltc_checkpoint_free(ltc_checkpoint *checkpoint);
/*! The tensors to save ("model"): the checkpoint shares them, and ltc_checkpoint_save writes their
 *  values at the time of the save. Replaces any set before. */
LTC_API ltc_status ltc_checkpoint_set_tensors(ltc_checkpoint *checkpoint, const ltc_tensor_list *tensors);
/*! The optimizer whose state and settings to save ("optimizer"), read at the time of the save: the
 *  checkpoint shares it, so freeing the optimizer's handle first is safe. Replaces any set before (and
 *  the optimizer state of a loaded checkpoint). */
LTC_API ltc_status ltc_checkpoint_set_optimizer(ltc_checkpoint *checkpoint, const ltc_optimizer *optimizer);
/*! The step (>= 0, else LTC_ERR_INVALID_ARGUMENT). */
LTC_API ltc_status ltc_checkpoint_set_step(ltc_checkpoint *checkpoint, int64_t step);
/*! Sets the setting `key` to `value` (both non-empty text without control characters, the key at most
 *  LTC_NAME_MAX bytes, else LTC_ERR_INVALID_ARGUMENT naming it); setting a key again replaces it. */
LTC_API ltc_status ltc_checkpoint_set_setting(ltc_checkpoint *checkpoint, const char *key, const char *value);
/*! Writes the checkpoint to path atomically: to path.tmp.<pid>, fsync, rename over path, fsync of the
 *  folder; a crash at any point leaves the previous file whole. A tensor holding NaN or infinity ->
 *  LTC_ERR_INVALID_ARGUMENT naming it, nothing written (a diverged run never overwrites a good
 *  checkpoint). The file system's refusals -> LTC_ERR_IO naming the path and errno's text.
 *  The digest, "crc32:" and 8 lowercase hex digits, is zlib's CRC-32 (Python's zlib.crc32) over, in
 *  order: each "model" entry in the dict's order, as its name, a NUL byte and its elements' bytes (C
 *  order, little-endian: the tensor's nbytes); each optimizer state tensor, parameter indices
 *  ascending and each one's entries in the dict's order, as "state.<i>.<name>", NUL and its bytes;
 *  "step=<step in decimal>" and NUL; each setting, keys in byte order, as "<key>=<value>" and NUL. */
LTC_API ltc_status ltc_checkpoint_save(const ltc_checkpoint *checkpoint, const char *path);
/*! Reads path: *out is a new checkpoint owned by the caller, holding the file's tensors (on the CPU),
 *  optimizer state, step and settings. Refused, *out NULL: a file that cannot be opened -> LTC_ERR_IO;
 *  a truncated or corrupt one (LibTorch cannot read it, its digest does not match, or it has an entry
 *  beside the six above), a TorchScript module, another format -> LTC_ERR_INVALID_ARGUMENT naming the
 *  file and what it is. A file without "digest" is read without that check. path NULL or "" -> LTC_ERR_INVALID_ARGUMENT. */
LTC_API ltc_status ltc_checkpoint_load(ltc_checkpoint **out, const char *path);
/*! Its tensors ("model", or a plain state_dict's entries): *out a new list owned by the caller. */
LTC_API ltc_status ltc_checkpoint_tensors(ltc_tensor_list **out, const ltc_checkpoint *checkpoint);
/*! Its step (0 when none was saved). */
LTC_API ltc_status ltc_checkpoint_step(int64_t *out, const ltc_checkpoint *checkpoint);
/*! The value of setting `key`, borrowed from the checkpoint; a key it does not hold ->
 *  LTC_ERR_INVALID_ARGUMENT naming it and the keys it holds. */
LTC_API ltc_status ltc_checkpoint_setting(const char **out, const ltc_checkpoint *checkpoint, const char *key);
/*! Copies the checkpoint's tensors into `params` (every name of params present in the checkpoint, with
 *  the same shape and dtype; copied onto each parameter's device) and, with optimizer not NULL, its
 *  optimizer state and checks its kind and settings, all or nothing: on any mismatch
 *  LTC_ERR_INVALID_ARGUMENT naming the entry (a name missing or extra, both shapes, both dtypes, an
 *  optimizer of another kind or with another setting: both values) and nothing changes. The optimizer's
 *  state becomes the checkpoint's, moved to each parameter's device; a parameter the checkpoint holds
 *  no state for starts afresh, as before its first step. */
LTC_API ltc_status ltc_checkpoint_restore(const ltc_checkpoint *checkpoint, const ltc_tensor_list *params,
                                          ltc_optimizer *optimizer);

/* ------------------------------------------------------------------------------------------------ */
/* CUDA graphs: any step captured once and replayed                                                 */
/* ------------------------------------------------------------------------------------------------ */

/* A CUDA graph (at::cuda::CUDAGraph): the GPU work a caller queues between capture_begin and
 * capture_end, recorded once and replayed with one launch. What a replay reads and writes are the
 * tensors the capture used (its static inputs and outputs): fill the inputs with ltc_tensor_copy before a
 * replay, read the outputs after it. Inside a capture only queued work is allowed: copy with
 * ltc_tensor_copy(dst, src, 1) (non_blocking; a blocking copy waits for the GPU, and the capture fails).
 * Warm the step up first (three eager steps, as PyTorch's docs do)
 * so that libraries set themselves up outside the capture; before capturing a training step, drop the
 * gradients (ltc_optimizer_zero_grad) so that the captured backward makes them in the graph's memory. A step
 * with a group's collectives (ltc_dist_average_gradients over NCCL) is captured with them; their failures
 * show at the group's next call. Threads: one graph from one thread at a time; the capture records the
 * calling thread's work only (CUDA's thread-local capture mode), other threads may use CUDA meanwhile. */
typedef struct ltc_cuda_graph ltc_cuda_graph;

/*! A new, empty graph for CUDA device `device` (cuda:N, or cuda for the current one), owned by the
 *  caller (ltc_cuda_graph_free). Errors: a CPU device or a device not valid -> LTC_ERR_INVALID_ARGUMENT;
 *  no usable GPU -> LTC_ERR_CUDA_UNAVAILABLE; a libltc without CUDA -> LTC_ERR_UNSUPPORTED. */
LTC_API ltc_status ltc_cuda_graph_new(ltc_cuda_graph **out, ltc_device device);
/*! NULL is a no-op. Tensors made during the capture stay valid. A graph still capturing has its capture
 *  ended and dropped first (free it on the capturing thread). */
LTC_API void ltc_cuda_graph_free(ltc_cuda_graph *graph);
/*! Starts recording the calling thread's GPU work on the graph's device: the thread's current device
 *  becomes the graph's and its current stream a side stream until ltc_cuda_graph_capture_end (capture
 *  cannot run on the default stream), ordered after the work queued on the stream it replaces; the work
 *  is recorded, not run. A graph captured already, or capturing -> LTC_ERR_INVALID_ARGUMENT. */
LTC_API ltc_status ltc_cuda_graph_capture_begin(ltc_cuda_graph *graph);
/*! Ends the capture begun on this thread and restores the thread's device and stream. Work that cannot
 *  be captured (a host sync such as ltc_tensor_item, a copy from pageable host memory) makes the
 *  capture fail: LTC_ERR_DEVICE with CUDA's message, the thread's stream restored, and the graph stays
 *  empty (it may be captured again). Not capturing, or capturing on another thread ->
 *  LTC_ERR_INVALID_ARGUMENT. */
LTC_API ltc_status ltc_cuda_graph_capture_end(ltc_cuda_graph *graph);
/*! Replays the captured work on the current stream of the graph's device. Not captured ->
 *  LTC_ERR_INVALID_ARGUMENT. */
LTC_API ltc_status ltc_cuda_graph_replay(ltc_cuda_graph *graph);

#ifdef __cplusplus
}
#endif

#endif /* LTC_CORE_H */
