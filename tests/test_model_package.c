/* ltc_model_load's refusals, on packages made by hand (tests/model_fixtures.py fakes): for each, the
 * status and a message naming the cause and the fix, *out NULL, and nothing extracted; then a package
 * whose .so crashes while loading, refused through check_in_child with the process going on and no
 * extraction folder left; then ltc-model-probe missing. Needs a Python and a C++ compiler (else skipped). */
#define _GNU_SOURCE /* dladdr */
#include "model_helper.h"

#include <dlfcn.h>
#include <limits.h>

static ltc_model_options options(const char *name, int device_index, int check_in_child) {
    ltc_model_options o = LTC_MODEL_OPTIONS_INIT;
    o.model_name = name;
    o.device_index = device_index;
    o.check_in_child = check_in_child;
    return o;
}

/* Loading file (under MODEL_DIR) with o must fail with want and a message holding each text given. */
static void refused_with(const char *file, const ltc_model_options *o, ltc_status want, const char *text,
                         const char *text2) {
    ltc_model *m = (ltc_model *)(void *)&m; /* garbage: must come back NULL */
    char name[256];
    snprintf(name, sizeof name, "%s is refused with %s", file, ltc_status_string(want));
    ltc_status s = ltc_model_load(&m, mh_path(file), o);
    char detail[1024];
    snprintf(detail, sizeof detail, "returned %s, wanted %s with \"%s\"%s%s%s", ltc_status_string(s),
             ltc_status_string(want), text, text2 ? " and \"" : "", text2 ? text2 : "", text2 ? "\"" : "");
    th_report(s == want && strstr(ltc_last_error(), text) && (!text2 || strstr(ltc_last_error(), text2)), __FILE__,
              __LINE__, name, detail);
    CHECK("nothing is loaded: *out is NULL", m == NULL);
}

static void refused(const char *file, ltc_status want, const char *text) { refused_with(file, NULL, want, text, NULL); }

static void not_packages(void) {
    refused("not_a_zip.pt2", LTC_ERR_INVALID_ARGUMENT, "not_a_zip.pt2 is not a .pt2 package: not a zip archive");
    refused("empty.pt2", LTC_ERR_INVALID_ARGUMENT, "is not a .pt2 package: the zip archive is empty");
    refused("one_entry.pt2", LTC_ERR_INVALID_ARGUMENT,
            "is not a .pt2 package: it has no data/aotinductor/<model>/ folder (its 1 entry begins with \"m/archive_format\"");
    refused("no_such_file.pt2", LTC_ERR_INVALID_ARGUMENT, "no_such_file.pt2 cannot be opened: No such file or directory");
    refused(".", LTC_ERR_INVALID_ARGUMENT, "is not a .pt2 package: not a regular file");
    refused("no_cpp.pt2", LTC_ERR_INVALID_ARGUMENT, "fake/data/aotinductor/model/ has no generated .cpp beside its .so");
    refused("bad_metadata.pt2", LTC_ERR_INVALID_ARGUMENT,
            "is damaged: its fake/data/aotinductor/model/cfake.wrapper_metadata.json is not AOTInductor's metadata");
    refused("sources_only.pt2", LTC_ERR_UNSUPPORTED, "holds sources only (exported with aot_inductor.package_cpp_only)");
    refused("two_models.pt2", LTC_ERR_INVALID_ARGUMENT,
            "two_models.pt2 holds no model \"model\": it holds \"alpha\", \"beta\" (ltc_model_options.model_name picks one)");
    ltc_model_options o = options("alph", -1, 0); /* LibTorch's loader would match it as a prefix of alpha */
    refused_with("two_models.pt2", &o, LTC_ERR_INVALID_ARGUMENT, "holds no model \"alph\"", NULL);
}

static void other_builds(void) {
    refused_with("static_libstdcxx.pt2", NULL, LTC_ERR_INVALID_ARGUMENT,
                 "its model .so (compiled by /opt/gcc/bin/g++, its compile command says) carries its own copy of "
                 "libstdc++, linked statically (libstdc++.so.6 is not among its NEEDED libraries",
                 "Fix: export it again with a compiler that links libstdc++.so.6, e.g. CXX=/usr/bin/g++");
    char want[256];
    snprintf(want, sizeof want, "calls aoti_torch_from_a_future_torch, which this LibTorch (%s) lacks",
             LTC_TEST_TORCH_VERSION);
    refused_with("future_torch.pt2", NULL, LTC_ERR_INVALID_ARGUMENT, want,
                 "compiled against the headers in /opt/py/site-packages/torch/include");
    snprintf(want, sizeof want, "was made by torch 2.9.0+cu126 (its ltc.torch_version), but this LibTorch is %s",
             LTC_TEST_TORCH_VERSION);
    refused("old_torch.pt2", LTC_ERR_INVALID_ARGUMENT, want);
#if defined(__x86_64__)
    refused("other_machine.pt2", LTC_ERR_UNSUPPORTED, "its .so is 64-bit for AArch64, and this is 64-bit x86-64");
    refused("other_isa.pt2", LTC_ERR_UNSUPPORTED, "was compiled for a CPU with NEON (its AOTI_CPU_ISA \"NEON\"), and "
                                                  "this CPU lacks asimd: its code would stop the process with SIGILL");
#else
    refused("other_machine.pt2", LTC_ERR_UNSUPPORTED, "its .so is 64-bit for x86-64");
    refused("other_isa.pt2", LTC_ERR_UNSUPPORTED, "this CPU lacks avx2");
#endif
    refused("xpu.pt2", LTC_ERR_UNSUPPORTED, "was compiled for device \"xpu\": ltc runs packages for cpu and cuda");
    ltc_model_options o = options(NULL, 1, 0);
    refused_with("crash.pt2", &o, LTC_ERR_INVALID_ARGUMENT, "device_index 1 is not valid for", "a CPU package: use -1 or 0");
}

/* Without a GPU: refused as CUDA packages; with one, the GPU cannot run compute capability 1.0, and no
 * driver supports CUDA 99.0. */
static void cuda_packages(void) {
    if (!ltc_cuda_is_available()) {
        refused_with("cuda_cc10.pt2", NULL, LTC_ERR_CUDA_UNAVAILABLE,
                     "was compiled for CUDA (compute capability 1.0), but no GPU is usable here: ",
                     "; run check_cuda for the evidence and the fix");
        refused("cuda_driver99.pt2", LTC_ERR_CUDA_UNAVAILABLE, "no GPU is usable here");
        return;
    }
    refused_with("cuda_cc10.pt2", NULL, LTC_ERR_UNSUPPORTED,
                 "was compiled for GPUs of compute capability 1.0 (its AOTI_COMPUTE_CAPABILITY \"10\"), and cuda:0 (",
                 "its kernels cannot run there");
    refused("cuda_driver99.pt2", LTC_ERR_UNSUPPORTED,
            "was compiled with CUDA 99.0 (its ltc.cuda_version), but the NVIDIA driver here supports CUDA up to");
    ltc_model_options o = options(NULL, INT_MAX, 0);
    refused_with("cuda_cc10.pt2", &o, LTC_ERR_INVALID_ARGUMENT, "cuda:2147483647 is out of range", NULL);
}

/* A .so whose container crashes when created: with check_in_child the child dies, this process goes on. */
static void crash_in_child(void) {
    int before = mh_extracted("fake");
    ltc_model_options o = options(NULL, -1, 1);
    refused_with("crash.pt2", &o, LTC_ERR_INVALID_ARGUMENT,
                 "crash.pt2 crashed the child process that tried it first (signal 11, SIGSEGV, a bad memory access), "
                 "so it would crash this one; nothing was loaded here.",
                 "docs/model.md lists the known causes");
    CHECK("the child's extraction folder is removed", mh_extracted("fake") == before);
    ltc_tensor *t = NULL;
    int64_t shape[1] = {4};
    CHECK_OK(ltc_tensor_ones(&t, shape, 1, LTC_FLOAT32, (ltc_device){LTC_DEVICE_CPU, 0}));
    ltc_tensor_free(t);
}

/* A libltc without ltc-model-probe beside it (a copy in a folder of its own): check_in_child says so. */
static void probe_missing(void) {
    Dl_info info;
    char dir[] = "/tmp/ltc_model_probe_XXXXXX", lib[600], cmd[1400];
    if (!dladdr((void *)&ltc_model_load, &info) || !mkdtemp(dir)) {
        CHECK("libltc's path and a scratch folder", 0);
        return;
    }
    snprintf(lib, sizeof lib, "%s/libltc.so", dir);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", info.dli_fname, lib);
    void *h = system(cmd) == 0 ? dlopen(lib, RTLD_NOW | RTLD_LOCAL) : NULL;
    ltc_status (*load)(ltc_model **, const char *, const ltc_model_options *) = h ? dlsym(h, "ltc_model_load") : NULL;
    const char *(*last)(void) = h ? dlsym(h, "ltc_last_error") : NULL;
    ltc_model *m = NULL;
    ltc_model_options o = options(NULL, -1, 1);
    ltc_status s = load && last ? load(&m, mh_path("crash.pt2"), &o) : LTC_OK;
    char want[700];
    snprintf(want, sizeof want, "ltc-model-probe is not beside libltc (looked in %s and %s/", dir, dir);
    CHECK("a copy of libltc loads", load && last);
    CHECK("without ltc-model-probe: LTC_ERR_UNSUPPORTED naming where it looked",
          s == LTC_ERR_UNSUPPORTED && last && strstr(last(), want) && strstr(last(), "set check_in_child to 0"));
    if (s != LTC_ERR_UNSUPPORTED && last)
        fprintf(stderr, "  its message: %s\n", last());
    if (h)
        dlclose(h);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK("the scratch folder is removed", system(cmd) == 0);
}

/* The example as a user meets these packages: each refusal is exit 3 (4: a CUDA package without a GPU). */
static void example(void) {
    mh_cli("static_libstdcxx.pt2", 3, "error: cannot load the model\n  static_libstdcxx.pt2 cannot be loaded here: its "
                                      "model .so (compiled by /opt/gcc/bin/g++");
    mh_cli("not_a_zip.pt2 --check", 3, "not_a_zip.pt2 is not a .pt2 package: not a zip archive");
    mh_cli("crash.pt2 --check", 3, "crashed the child process that tried it first (signal 11, SIGSEGV");
    if (ltc_cuda_is_available())
        mh_cli("cuda_cc10.pt2", 3, "its kernels cannot run there");
    else
        mh_cli("cuda_cc10.pt2", 4, "but no GPU is usable here");
    mh_cli("--help", 0, "exit codes: 0 ran; 1 an unexpected error, or the output could not be written; 2 bad usage;\n"
                        "  3 the package cannot be loaded here");
    mh_cli("--help >/dev/full", 1, "error: cannot write the output: No space left on device");
    mh_cli("", 2, "run_exported_model: no PACKAGE given (try --help)");
    mh_cli("a.pt2 b.pt2", 2, "more than one PACKAGE given");
    mh_cli("a.pt2 --batch 0", 2, "--batch 0 is not valid: use a whole number from 1 to 1048576 (try --help)");
    mh_cli("a.pt2 --device-index -2", 2, "--device-index -2 is not valid: use a whole number from -1 to 1023");
    mh_cli("a.pt2 --seed", 2, "no value after \"--seed\"");
    mh_cli("a.pt2 --frobnicate", 2, "unknown option \"--frobnicate\"");
}

int main(void) {
    mh_require_fixture("fakes", 0);
    int extracted = mh_extracted("fake"); /* a crashed run of something else may have left some */
    not_packages();
    other_builds();
    cuda_packages();
    CHECK("nothing was extracted by the refusals", mh_extracted("fake") == extracted);
    crash_in_child();
    probe_missing();
    example();
    return th_finish();
}
