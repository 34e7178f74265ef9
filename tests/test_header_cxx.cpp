// ltc.h compiles as C++ with -pedantic -Werror, and its functions link from C++.
#include "ltc.h"

#include <cstdio>
#include <cstring>

int main() {
    int passed = 0, failed = 0;
    ltc_device d{};
    (ltc_device_parse(&d, "cuda:3") == LTC_OK && d.type == LTC_DEVICE_CUDA && d.index == 3) ? passed++ : failed++;
    std::strcmp(ltc_status_string(LTC_OK), "LTC_OK") == 0 ? passed++ : failed++;
    ltc_model_options opts = LTC_MODEL_OPTIONS_INIT;
    (opts.model_name == nullptr && opts.runners == 0) ? passed++ : failed++;
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
