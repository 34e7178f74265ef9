/* ltc-model-probe PATH MODEL DEVICE_INDEX RUNNERS: the child process of ltc_model_options.check_in_child.
 * Loads the package as ltc_model_load does (its checks first) and, when the package records every input's
 * dtype and a static shape, runs it once on zeros. Prints "ok" and exits 0; or prints the message and
 * exits 10 + the status. A crash here is what the parent wants to learn, in this process rather than its own. */
#include "ltc.h"

#include <stdio.h>
#include <stdlib.h>

/* One run on zeros, when every input is fully known; LTC_OK when there is nothing to run. */
static ltc_status run_on_zeros(ltc_model *m, ltc_device device) {
    int n = ltc_model_input_count(m), k = ltc_model_output_count(m), made = 0;
    ltc_tensor **in = calloc((size_t)n + 1, sizeof *in), **out = calloc((size_t)k + 1, sizeof *out);
    ltc_status s = in && out ? LTC_OK : LTC_ERR_OUT_OF_MEMORY;
    for (int i = 0; s == LTC_OK && i < n; i++) {
        ltc_model_io io;
        int known = ltc_model_input(&io, m, i) == LTC_OK && io.ndim >= 0 && ltc_dtype_size(io.dtype) > 0;
        for (int d = 0; known && d < io.ndim; d++)
            known = io.shape[d] >= 1;
        if (!known)
            break;
        s = ltc_tensor_zeros(&in[i], io.shape, io.ndim, io.dtype, device);
        made += s == LTC_OK;
    }
    if (s == LTC_OK && made == n)
        s = ltc_model_run(out, (size_t)k, m, (const ltc_tensor *const *)in, (size_t)n);
    if (s == LTC_OK && made == n && device.type == LTC_DEVICE_CUDA)
        s = ltc_cuda_synchronize(device.index);
    for (int i = 0; in && i < n; i++)
        ltc_tensor_free(in[i]);
    for (int i = 0; out && i < k; i++)
        ltc_tensor_free(out[i]);
    free(in);
    free(out);
    return s;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: ltc-model-probe PATH MODEL DEVICE_INDEX RUNNERS (started by ltc_model_load)\n");
        return 2;
    }
    ltc_model_options o = LTC_MODEL_OPTIONS_INIT;
    o.model_name = argv[2];
    o.device_index = atoi(argv[3]);
    o.runners = atoi(argv[4]);
    ltc_model *m = NULL;
    ltc_device device = {LTC_DEVICE_CPU, 0};
    ltc_status s = ltc_model_load(&m, argv[1], &o);
    if (s == LTC_OK && (s = ltc_model_device(&device, m)) == LTC_OK)
        s = run_on_zeros(m, device);
    if (s != LTC_OK) {
        printf("%s\n", ltc_last_error());
        ltc_model_free(m);
        return 10 + (int)s;
    }
    ltc_model_free(m);
    printf("ok\n");
    return 0;
}
