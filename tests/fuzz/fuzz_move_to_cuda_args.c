/* move_to_cuda's options (parse_options in examples/move_to_cuda.c, compiled here with the program's main
 * renamed so that nothing moves): the input is its argument list, one argument per line. parse_options
 * accepts exactly the lists made of --pinned, --non-blocking and "--device D" with D a device ltc_device_parse
 * accepts (the last --device wins), and gives those values; anything else is bad usage (exit 2). */
#define FUZZ_EXAMPLE "../../examples/move_to_cuda.c"
#include "fuzz_example.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_cstring(data, size);
    char *argv[FUZZ_MAX_ARGS + 2];
    int argc = fuzz_example_args(text, argv, "move_to_cuda");

    /* the reference */
    int valid = 1, pinned = 0, non_blocking = 0;
    const char *device = "cuda:0";
    for (int i = 1; i < argc && valid; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) { /* prints the usage and exits 0 */
            free(text);
            return 0;
        } else if (!strcmp(argv[i], "--pinned"))
            pinned = 1;
        else if (!strcmp(argv[i], "--non-blocking"))
            non_blocking = 1;
        else if (!strcmp(argv[i], "--device") && i + 1 < argc)
            device = argv[++i];
        else
            valid = 0;
    }
    ltc_device want = {LTC_DEVICE_CPU, 0};
    if (valid)
        valid = ltc_device_parse(&want, device) == LTC_OK;

    options o;
    int accepted = parse_options(&o, argc, argv);
    FUZZ_ASSERT(accepted == valid, "%d arguments, the first \"%s\": accepted %d, wanted %d", argc - 1, argv[1], accepted,
                valid);
    if (accepted) {
        FUZZ_ASSERT(o.device.type == want.type && o.device.index == want.index, "device %d:%d, wanted %d:%d (\"%s\")",
                    (int)o.device.type, o.device.index, (int)want.type, want.index, device);
        FUZZ_ASSERT(o.pinned == pinned && o.non_blocking == non_blocking, "pinned %d non_blocking %d, wanted %d %d",
                    o.pinned, o.non_blocking, pinned, non_blocking);
    }
    free(text);
    return 0;
}
