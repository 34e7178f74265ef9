/*
 * ltc/model.h: exported models. Runs a model trained in Python from C: a .pt2 package written by
 * torch._inductor.aoti_compile_and_package (AOTInductor), loaded through LibTorch's own
 * AOTIModelPackageLoader. Part of the ltc API: include ltc.h (the umbrella), or this header alone.
 * docs/model.md says how to export a package, what is checked before loading, and why.
 */
#ifndef LTC_MODEL_H
#define LTC_MODEL_H

#include "ltc/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------------ */
/* Models: .pt2 packages exported from Python (AOTInductor)                                         */
/* ------------------------------------------------------------------------------------------------ */

/* A loaded model: the package's compiled code, its weights and the device it runs on. */
typedef struct ltc_model ltc_model;

#define LTC_MODEL_OPTIONS_VERSION 1
#define LTC_MODEL_RUNNERS_MAX 64

/* How to load a package. Start from LTC_MODEL_OPTIONS_INIT and set what differs. */
typedef struct ltc_model_options {
    unsigned int version;   /* LTC_MODEL_OPTIONS_VERSION */
    const char *model_name; /* the model in the package; NULL: "model", the one aoti_compile_and_package writes */
    int device_index;       /* CUDA packages: the GPU, 0 .. count-1, or -1 (default) for the current one at
                               load; CPU packages: -1 or 0 */
    int runners;            /* 0 (default): one call at a time, from any thread but never two at once (the
                               fast path: no lock, no CUDA event per call); 1 .. LTC_MODEL_RUNNERS_MAX:
                               LibTorch's thread-safe container with that many copies of the model's
                               buffers: any number of threads may call ltc_model_run at once, that many
                               run at the same time */
    int check_in_child;     /* 1: load the package in a child process first (ltc-model-probe, installed
                               beside libltc), so that a package that would crash while loading is refused
                               instead of ending this process; costs a process start and a second load
                               (about a second). 0 (default): only the checks that need no loading */
} ltc_model_options;

#define LTC_MODEL_OPTIONS_INIT {LTC_MODEL_OPTIONS_VERSION, NULL, -1, 0, 0}

/*! Loads the model of the .pt2 package at path and returns it in *out, new, owned by the caller
 *  (ltc_model_free). options NULL: LTC_MODEL_OPTIONS_INIT. Before anything is loaded, the package is
 *  read as a file and refused, with nothing loaded and a message naming the cause and the fix, when:
 *  - it cannot be opened, is not a zip, or has no data/aotinductor/<model>/ with a .so, a .cpp and
 *    its metadata -> LTC_ERR_INVALID_ARGUMENT ("is not a .pt2 package: ...");
 *  - the model name is not in it -> LTC_ERR_INVALID_ARGUMENT listing the models it holds;
 *  - its .so carries a private copy of libstdc++ (linked statically: no libstdc++.so.6 among its
 *    NEEDED, std::locale defined in it), which crashes in a process that already runs libstdc++.so.6
 *    -> LTC_ERR_INVALID_ARGUMENT naming the compiler and the fix (export again with CXX=/usr/bin/g++);
 *  - another torch made it: its recorded torch version differs from LibTorch's, or its .so calls an
 *    aoti_torch_ function this LibTorch lacks -> LTC_ERR_INVALID_ARGUMENT naming both;
 *  - its .so is for another machine (ELF class or architecture) -> LTC_ERR_UNSUPPORTED;
 *  - it holds sources only (aot_inductor.package_cpp_only), which LibTorch would compile with the
 *    shell at load, or a device other than cpu and cuda -> LTC_ERR_UNSUPPORTED;
 *  - a CPU package compiled for vector instructions this CPU lacks (its AOTI_CPU_ISA; it would stop
 *    with SIGILL) -> LTC_ERR_UNSUPPORTED naming them;
 *  - a CUDA package where LibTorch sees no usable GPU -> LTC_ERR_CUDA_UNAVAILABLE with the cause in a
 *    phrase (check_cuda says more); a driver older than the package's CUDA, or a GPU whose compute
 *    capability cannot run its kernels (AOTI_COMPUTE_CAPABILITY) -> LTC_ERR_UNSUPPORTED naming both.
 *  Then, with options->check_in_child, a child process loads it: a crash there -> LTC_ERR_INVALID_ARGUMENT
 *  naming the signal. LibTorch's own errors pass through (LTC_ERR_TORCH). Bad options (version,
 *  device_index, runners, check_in_child out of range) and a NULL out or path -> LTC_ERR_INVALID_ARGUMENT.
 *  LibTorch extracts the package to a folder /tmp/XXXXXX, removed by ltc_model_free (an error inside
 *  LibTorch's loader, after the checks passed, leaves it: its constructor does not). Loads take turns
 *  (LibTorch's loader is not thread-safe); thread-safe otherwise. */
LTC_API ltc_status ltc_model_load(ltc_model **out, const char *path, const ltc_model_options *options);

/*! Unloads the model and removes its extracted files. Tensors it returned stay valid. NULL is a no-op.
 *  Not while another thread runs it. */
LTC_API void ltc_model_free(ltc_model *model);

/*! Runs the model: outputs[0 .. n_outputs-1] receive new tensors owned by the caller (ltc_tensor_free),
 *  on the model's device. n_inputs and n_outputs must equal the model's counts; each input must be on
 *  the model's device and, where the package records them, have its dtype and shape (a dynamic size
 *  takes any value). A tensor that is not contiguous is copied first. On a GPU the work is queued on
 *  the current CUDA stream of the model's device, and the call returns before it is done, as any
 *  LibTorch op (ltc_tensor_copy_to_host waits). Errors, with outputs all NULL: NULL model, arrays or
 *  inputs, a count, device, dtype or shape that differs -> LTC_ERR_INVALID_ARGUMENT naming the input and
 *  what the model takes; the model's own errors -> LTC_ERR_TORCH, LTC_ERR_DEVICE or
 *  LTC_ERR_OUT_OF_MEMORY. Threads: with options.runners 0 (the default), one call at a time per model;
 *  with runners >= 1, any number at once. */
LTC_API ltc_status ltc_model_run(ltc_tensor **outputs, size_t n_outputs, ltc_model *model,
                                 const ltc_tensor *const *inputs, size_t n_inputs);

/*! The number of tensors the model takes, as its compiled code says; -1 on NULL. Thread-safe. */
LTC_API int ltc_model_input_count(const ltc_model *model);
/*! The number of tensors it returns; -1 on NULL. Thread-safe. */
LTC_API int ltc_model_output_count(const ltc_model *model);

/* What the package records about one input or output. The export script beside the examples
 * (examples/export_model.py) records dtypes and shapes in the package's metadata (docs/model.md names
 * the keys); a package made otherwise has names only. Strings are borrowed from the model. */
typedef struct ltc_model_io {
    const char *name;       /* the name in the exported program (e.g. "x"), else the compiled one ("arg4_1") */
    const char *dtype_name; /* "float32", "bfloat16", ...; "unknown" when not recorded */
    ltc_dtype dtype;        /* the same as an ltc_dtype; (ltc_dtype)-1 when unknown or not one of ltc's */
    int ndim;               /* -1 when not recorded */
    int64_t shape[LTC_MAX_DIMS]; /* shape[0 .. ndim-1]; -1 for a dynamic size (any value is taken) */
} ltc_model_io;

/*! Input `index` (0 .. count-1) into *out. NULL out or model, an index out of range ->
 *  LTC_ERR_INVALID_ARGUMENT naming it and the count. Thread-safe. */
LTC_API ltc_status ltc_model_input(ltc_model_io *out, const ltc_model *model, int index);
/*! Output `index`, as ltc_model_input. */
LTC_API ltc_status ltc_model_output(ltc_model_io *out, const ltc_model *model, int index);

/*! The device the model runs on: the CPU, or the GPU it was loaded on (cuda:N, never -1). The package
 *  was compiled for that device type. NULL out or model -> LTC_ERR_INVALID_ARGUMENT. Thread-safe. */
LTC_API ltc_status ltc_model_device(ltc_device *out, const ltc_model *model);

/*! A value of the package's metadata, as text: AOTInductor's AOTI_DEVICE_KEY ("cpu", "cuda"),
 *  AOTI_COMPUTE_CAPABILITY ("90"), AOTI_CPU_ISA, AOTI_PLATFORM, AOTI_MACHINE, and what the exporter
 *  recorded (examples/export_model.py: ltc.torch_version, ltc.cuda_version, ltc.inputs, ltc.outputs).
 *  NULL when the package has no such key, or for a NULL model or key (which also set ltc_last_error()).
 *  Borrowed from the model. Thread-safe. */
LTC_API const char *ltc_model_metadata(const ltc_model *model, const char *key);

#ifdef __cplusplus
}
#endif

#endif /* LTC_MODEL_H */
