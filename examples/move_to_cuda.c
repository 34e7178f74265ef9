/* move_to_cuda: move a tensor to a GPU. The C form of PyTorch's
 *
 *     x = torch.randn(100, 100)
 *     y = x.to("cuda:0")            # or: x = x.pin_memory(); y = x.to("cuda:0", non_blocking=True)
 *
 * with what that line hides made explicit: which device, pageable or pinned host memory, and the
 * synchronize a non-blocking copy needs before the data is there. Its benchmark is bench/bench_transfer.
 *
 *   move_to_cuda [--device cpu|cuda|cuda:N] [--pinned] [--non-blocking]
 */
#include "common.h" /* CHECK, close_stdout, opt_refused, opt_invalid */

enum { EXIT_USAGE = 2, EXIT_NO_GPU = 3, EXIT_NO_SUCH_GPU = 4 }; /* 1 is CHECK's: an unexpected error */

static const char usage[] =
    "usage: move_to_cuda [--device D] [--pinned] [--non-blocking]\n"
    "Moves a 100x100 float32 tensor from the host to a device and checks that it arrived intact.\n"
    "  --device D       cpu, cuda (the current GPU) or cuda:N, N from 0 to the GPU count - 1 (default cuda:0)\n"
    "  --pinned         put the host tensor in pinned (page-locked) memory first\n"
    "  --non-blocking   queue the copy and return at once; synchronize before reading the result\n"
    "  -h, --help       this text\n"
    "exit codes: 0 moved and intact; 1 an unexpected error, or the output could not be written;\n"
    "  2 bad usage; 3 no usable GPU (check_cuda says why); 4 no such GPU: N is the GPU count or more\n";

typedef struct options { ltc_device device; int pinned, non_blocking; } options;

/* Reads the command line into o; 0 (with a message) for bad usage. --help prints the usage and exits. */
static int parse_options(options *o, int argc, char **argv) {
    static const struct option longs[] = {{"device", required_argument, NULL, 'd'}, {"pinned", no_argument, NULL, 'p'},
                                          {"non-blocking", no_argument, NULL, 'n'}, {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    const char *device = "cuda:0";
    *o = (options){{LTC_DEVICE_CUDA, 0}, 0, 0};
    for (int c; (c = getopt_long(argc, argv, ":h", longs, NULL)) != -1;) {
        switch (c) {
        case 'h': fputs(usage, stdout); exit(close_stdout(0));
        case 'p': o->pinned = 1; break;
        case 'n': o->non_blocking = 1; break;
        case 'd': device = optarg; break; /* the last one wins */
        default: return opt_refused(c, argv);
        }
    }
    if (!opt_leftover(argc, argv))
        return 0;
    if (ltc_device_parse(&o->device, device) == LTC_OK)
        return 1;
    return opt_invalid("--device", *device ? device : "\"\"", "use cpu, cuda or cuda:N, N from 0 to the GPU count - 1");
}

/* A failed pin or move: no usable GPU (3), no such GPU (4), or anything else (1). */
static int failed(const char *what, ltc_status s, ltc_device device) {
    fprintf(stderr, "error: cannot %s\n  %s [%s]\n", what, ltc_last_error(), ltc_status_string(s));
    if (s == LTC_ERR_CUDA_UNAVAILABLE)
        return EXIT_NO_GPU;
    return s == LTC_ERR_INVALID_ARGUMENT && device.type == LTC_DEVICE_CUDA ? EXIT_NO_SUCH_GPU : 1;
}

int main(int argc, char **argv) {
    options o;
    if (!parse_options(&o, argc, argv))
        return EXIT_USAGE;

    /* 1. x on the host. Pinned memory is read by the GPU directly: only from it can a copy not block. */
    int64_t shape[2] = {100, 100};
    ltc_tensor *x = NULL, *y = NULL;
    CHECK(ltc_tensor_randn(&x, shape, 2, LTC_FLOAT32, (ltc_device){LTC_DEVICE_CPU, 0}, 1), "make x on the host");
    if (o.pinned) {
        ltc_tensor *pinned = NULL;
        ltc_status s = ltc_tensor_pin_memory(&pinned, x);
        if (s != LTC_OK)
            return failed("pin x's memory", s, o.device);
        ltc_tensor_free(x);
        x = pinned;
    }

    /* 2. y = x.to(device, non_blocking). A non-blocking copy may still be running when this returns. */
    ltc_status s = ltc_tensor_to(&y, x, o.device, o.non_blocking);
    if (s != LTC_OK)
        return failed("move x to the device", s, o.device);
    int queued = o.non_blocking && o.device.type == LTC_DEVICE_CUDA; /* on the host a copy always blocks */
    if (queued)
        CHECK(ltc_cuda_synchronize(o.device), "wait for the copy to finish");

    /* 3. Did it arrive intact? Copy both to plain C arrays and compare. */
    static float sent[100 * 100], arrived[100 * 100];
    CHECK(ltc_tensor_copy_to_host(sent, sizeof sent, x), "read x");
    CHECK(ltc_tensor_copy_to_host(arrived, sizeof arrived, y), "copy y back to the host");
    int intact = memcmp(sent, arrived, sizeof sent) == 0;
    char where[32];
    ltc_device_format(where, sizeof where, ltc_tensor_device(y));
    printf("%s: a 100x100 float32 tensor moved to %s from %s host memory, %s: %s\n", intact ? "PASS" : "FAIL",
           where, o.pinned ? "pinned" : "pageable", queued ? "non-blocking, then synchronized" : "blocking",
           intact ? "its 40000 bytes arrived intact" : "the bytes that arrived differ");
    ltc_tensor_free(x);
    ltc_tensor_free(y);
    return close_stdout(intact ? 0 : 1);
}
