/* ltc.h compiles as C11 with -pedantic -Werror (flags set in CMakeLists.txt), and the runtime version
 * matches the header. A part of it (ltc/model.h) included first pulls in the rest. */
#include "ltc/model.h"
#include "ltc.h"

#include <stdio.h>
#include <string.h>

int main(void) {
    int passed = 0, failed = 0;
    if (ltc_version_number() == LTC_VERSION_NUMBER) passed++; else failed++;
    if (strcmp(ltc_version(), LTC_VERSION_STRING) == 0) passed++; else failed++;
    ltc_model_options opts = LTC_MODEL_OPTIONS_INIT;
    if (opts.version == LTC_MODEL_OPTIONS_VERSION && opts.device_index == -1) passed++; else failed++;
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
