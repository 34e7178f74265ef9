// The advice table (shim/diagnose/diagnose_advice.cpp) on its own: driver floors per CUDA release, the LibTorch
// build that runs on a driver, the exact pip command, and the variables named as suspects.
#include "diagnose_advice.hpp"

#include <cstdio>
#include <cstring>
#include <string>

static int passed, failed;

static void check(const char *what, bool ok) {
    if (ok) {
        passed++;
    } else {
        failed++;
        printf("FAIL: %s\n", what);
    }
}

static bool has(const std::string &s, const char *part) { return s.find(part) != std::string::npos; }

int main() {
    using namespace ltc_advice;
    check("cuda_text", cuda_text(12060) == "12.6" && cuda_text(13000) == "13.0" && cuda_text(0) == "none");
    check("cuda_tag", cuda_tag(12080) == "cu128");
    // NVIDIA's table 3, as the issue quotes it
    check("12.0 floor", strcmp(min_driver(12000), "525.60.13") == 0);
    check("12.4 floor", strcmp(min_driver(12040), "550.54.14") == 0);
    check("12.6 floor", strcmp(min_driver(12060), "560.28.03") == 0);
    check("12.8 floor", strcmp(min_driver(12080), "570.26") == 0);
    check("13.0 floor", strcmp(min_driver(13000), "580.65.06") == 0);
    check("13.1 floor", strcmp(min_driver(13010), "590.44.01") == 0);
    check("12.7 (not a release) takes 12.6's", strcmp(min_driver(12070), "560.28.03") == 0);
    check("10.2 unknown", min_driver(10020) == nullptr);
    check("12.x family floor", strcmp(family_min_driver(12), "525.60.13") == 0);

    Build b;
    check("13.0 driver: cu130", build_for_driver(13000, &b) && b.torch == "2.11.0" && b.cuda == 13000 && !b.by_compat);
    check("12.9 driver: cu128 outright", build_for_driver(12090, &b) && b.cuda == 12080 && !b.by_compat);
    check("12.2 driver: cu126 by minor-version compatibility", build_for_driver(12020, &b) && b.torch == "2.11.0" &&
                                                                 b.cuda == 12060 && b.by_compat && b.also.size() == 1 &&
                                                                 b.also[0] == 12080);
    check("pip command", pip_command(b) == "pip install torch==2.11.0 --index-url https://download.pytorch.org/whl/cu126");
    check("LibTorch folder", libtorch_folder(b) == "https://download.pytorch.org/libtorch/cu126/");
    check("11.4 driver: torch 2.7.0 cu118", build_for_driver(11040, &b) && b.torch == "2.7.0" && b.cuda == 11080 && b.by_compat);
    check("14.0 driver: the newest build", build_for_driver(14000, &b) && b.cuda == 13000 && !b.by_compat);
    check("10.2 driver: none", !build_for_driver(10020, &b));
    check("no driver: none", !build_for_driver(0, &b));

    std::string s = driver_supports(12020, "535.54.03");
    check("supports", s == "the driver (535.54.03) supports CUDA up to 12.2");
    s = driver_needed(13000);
    check("needed 13.0", s == "this LibTorch (CUDA 13.0) needs driver >= 580.65.06");
    s = driver_needed(12080);
    check("needed 12.8, with the family floor", has(s, ">= 570.26") && has(s, ">= 525.60.13 under CUDA's minor-version compatibility"));
    s = build_advice(12020);
    check("advice names the pip command and the zip folder",
          has(s, "pip install torch==2.11.0 --index-url https://download.pytorch.org/whl/cu126") && has(s, "cu128 too") &&
              has(s, "https://download.pytorch.org/libtorch/cu126/"));
    check("advice for a driver too old for every build", has(build_advice(10020), "upgrade the driver"));
    check("the source is named", has(table_source, "table 3"));

    char e0[] = "NCCL_SOCKET_IFNAME=bogus0", e1[] = "NCCL_DEBUG=INFO", e2[] = "CUDA_LAUNCH_BLOCKING=1", e3[] = "CUDA_VISIBLE_DEVICES=0",
         e4[] = "CUDA_HOME=/usr/local/cuda", e5[] = "NCCL_VERSION=2.21.5", e6[] = "CUDNN_LOGINFO_DBG=1", e7[] = "CUBLAS_WORKSPACE_CONFIG=:0:0",
         e8[] = "PATH=/usr/bin", e9[] = "CUDA_MODULE_LOADING=EAGER";
    char *env[] = {e0, e1, e2, e3, e4, e5, e6, e7, e8, e9, nullptr};
    auto v = suspect_variables(env, Library::Nccl);
    check("NCCL suspects", v.size() == 4 && v[0] == e0 && v[1] == e1 && v[2] == e2 && v[3] == e9);
    v = suspect_variables(env, Library::Cudnn);
    check("cuDNN suspects", v.size() == 3 && v[1] == std::string(e6));
    v = suspect_variables(env, Library::Cublas);
    check("cuBLAS suspects", v.size() == 3 && v[1] == std::string(e7));
    v = suspect_variables(env, Library::Cuda);
    check("CUDA suspects leave out CUDA_VISIBLE_DEVICES and CUDA_HOME", v.size() == 2);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
