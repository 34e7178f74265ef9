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
/* Versions                                                                                         */
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
    LTC_ERR_INTERNAL = 9          /* a bug in ltc; please report it with ltc_last_error() */
} ltc_status;

/*! A short constant name for a status, e.g. "LTC_ERR_INVALID_ARGUMENT"; "LTC_ERR_UNKNOWN" for a
 *  value not listed above. Static storage, never NULL. Thread-safe. */
LTC_API const char *ltc_status_string(ltc_status status);

/*! The message of the last failed ltc call on this thread ("" if none failed yet): LibTorch's message
 *  without its C++ backtrace, or ours. Never NULL. Borrowed: valid until the next failing ltc call on
 *  this thread. Per thread. */
LTC_API const char *ltc_last_error(void);

/* ------------------------------------------------------------------------------------------------ */
/* Build information                                                                                */
/* ------------------------------------------------------------------------------------------------ */

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

/*! "float32", "float64", "int32", "int64"; NULL for a value not listed. Thread-safe. */
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

/*! Runs autograd from a one-element tensor (a loss): gradients accumulate into the parameters that
 *  produced it. A tensor with more than one element or no graph -> LTC_ERR_INVALID_ARGUMENT. */
LTC_API ltc_status ltc_tensor_backward(ltc_tensor *loss);

/* ------------------------------------------------------------------------------------------------ */
/* Training blocks                                                                                  */
/* ------------------------------------------------------------------------------------------------ */

/*! Seeds LibTorch's global generators (CPU and every CUDA device), as torch::manual_seed. */
LTC_API void ltc_manual_seed(uint64_t seed);

/*! Intra-op CPU threads LibTorch uses (n >= 1; else LTC_ERR_INVALID_ARGUMENT). Process-wide. */
LTC_API ltc_status ltc_set_num_threads(int n);
/*! The current intra-op thread count. */
LTC_API int ltc_get_num_threads(void);

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

/* SGD over one module's parameters, as torch::optim::SGD (no dampening, no weight decay). */
typedef struct ltc_sgd ltc_sgd;

/*! lr > 0 and finite, 0 <= momentum < 1, else LTC_ERR_INVALID_ARGUMENT. The optimizer keeps the module's
 *  parameters alive; free it before or after the module, either order. *out owned by the caller. */
LTC_API ltc_status ltc_sgd_new(ltc_sgd **out, ltc_linear *linear, double lr, double momentum);
/*! NULL is a no-op. */
LTC_API void ltc_sgd_free(ltc_sgd *sgd);
/*! Sets every parameter's gradient to zero (drops it, as set_to_none=True). */
LTC_API ltc_status ltc_sgd_zero_grad(ltc_sgd *sgd);
/*! One update from the gradients now held. */
LTC_API ltc_status ltc_sgd_step(ltc_sgd *sgd);

/* ------------------------------------------------------------------------------------------------ */
/* Diagnosis: why CUDA is or is not usable (check_cuda)                                            */
/* ------------------------------------------------------------------------------------------------ */

/* ------------------------------------------------------------------------------------------------ */
/* Transfers and timing (move_to_cuda)                                                              */
/* ------------------------------------------------------------------------------------------------ */

/* ------------------------------------------------------------------------------------------------ */
/* Data parallel over NCCL (train_data_parallel)                                                    */
/* ------------------------------------------------------------------------------------------------ */

#ifdef __cplusplus
}
#endif

#endif /* LTC_H */
