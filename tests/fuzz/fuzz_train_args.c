/* train_data_parallel's options (parse_options in examples/train_data_parallel.c, compiled here with the
 * program's main renamed so that nothing trains or starts): the input is its argument list, one argument
 * per line. Whatever it holds, parse_options refuses it, or accepts it with every value inside what the
 * README's table and the calls it feeds document: --nproc/--steps/--batch/--log-every 1 or more, --port
 * 0..65535, --lr a finite number > 0 and --momentum in [0, 1) (ltc_optimizer_sgd_new), --hidden 0 (none) or
 * 1..65536, --timeout a finite number of
 * seconds > 0 (ltc_dist_init, ltc_launch_local), --mode dp without --nproc above 1 or --graph, --graph
 * not with --device cpu. */
#define FUZZ_EXAMPLE "../../examples/train_data_parallel.c"
#include "fuzz_example.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_cstring(data, size);
    char *argv[FUZZ_MAX_ARGS + 2];
    int argc = fuzz_example_args(text, argv, "train_data_parallel");
    for (int i = 1; i < argc; i++) /* -h (alone or first of a cluster, as -hx), --help, --he...: the usage, exit 0 */
        if (!strncmp(argv[i], "-h", 2) || (!strncmp(argv[i], "--h", 3) && !strncmp(argv[i], "--help", strcspn(argv[i], "=")))) {
            free(text);
            return 0;
        }
    options o;
    if (parse_options(&o, argc, argv)) {
        FUZZ_ASSERT(o.nproc >= 1 && o.steps >= 1 && o.batch >= 1 && o.log_every >= 1, "nproc %d steps %d batch %d log %d",
                    o.nproc, o.steps, o.batch, o.log_every);
        FUZZ_ASSERT(o.port >= 0 && o.port <= 65535, "port %d", o.port);
        FUZZ_ASSERT(isfinite(o.lr) && o.lr > 0, "--lr accepted as %g: ltc_optimizer_sgd_new refuses it, so this is bad usage (exit 2)",
                    o.lr);
        FUZZ_ASSERT(o.momentum >= 0 && o.momentum < 1, "--momentum accepted as %g", o.momentum);
        FUZZ_ASSERT(o.hidden >= 0 && o.hidden <= 65536, "--hidden accepted as %d", o.hidden);
        FUZZ_ASSERT(isfinite(o.timeout) && o.timeout > 0,
                    "--timeout accepted as %g: ltc_dist_init refuses it, so this is bad usage (exit 2)", o.timeout);
        FUZZ_ASSERT(!(o.dp && (o.nproc > 1 || o.graph)), "--mode dp with --nproc %d --graph %d", o.nproc, o.graph);
        FUZZ_ASSERT(!(o.graph && o.device_given && o.device.type == LTC_DEVICE_CPU), "--graph with --device cpu");
        if (o.device_given)
            FUZZ_ASSERT(o.device.type == LTC_DEVICE_CPU || o.device.type == LTC_DEVICE_CUDA, "device type %d",
                        (int)o.device.type);
    }
    free(text);
    return 0;
}
