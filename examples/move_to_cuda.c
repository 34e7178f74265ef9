/* move_to_cuda: move a tensor to a GPU, check it arrived intact, and time the move.
 *
 * The C version of PyTorch's
 *     x = torch.randn(100, 100); y = x.to("cuda:0")
 * with what that line hides made explicit: which device, pageable or pinned host memory, blocking or
 * not (and the synchronize a non-blocking copy needs before the data is there), and a check that the
 * bytes that come back are the bytes that went.
 *
 *   move_to_cuda [--device cpu|cuda|cuda:N] [--shape 100x100] [--dtype float32] [--pinned] [--non-blocking]
 */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#include "common.h"

#include <stdint.h>
#include <string.h>
#include <time.h>

/* Exit codes; 1 is CHECK's: an error this program does not expect. */
enum {
    EXIT_USAGE = 2,      /* a bad option or value */
    EXIT_NO_GPU = 3,     /* a GPU was asked for, but LibTorch cannot use one here */
    EXIT_BAD_DEVICE = 4, /* that GPU does not exist: cuda:N with N past the device count */
    EXIT_NO_MEMORY = 5,  /* the tensor does not fit in host or GPU memory */
    EXIT_MISMATCH = 6    /* the bytes that came back differ from those sent */
};

static const char usage[] =
    "usage: move_to_cuda [options]\n"
    "Moves a random tensor to a device, prints where it lives and how long the move took, copies it back\n"
    "and checks that it is bit-identical.\n"
    "  --device D       cpu, cuda (the current GPU) or cuda:N (default cuda:0)\n"
    "  --shape AxBx..   1 to 8 sizes, each 1 or more (default 100x100)\n"
    "  --dtype T        float32, float64, int32 or int64 (default float32)\n"
    "  --pinned         put the host tensor in pinned (page-locked) memory first\n"
    "  --non-blocking   queue the copies without waiting, then synchronize\n"
    "  -h, --help       this text\n"
    "exit codes: 0 moved and back, bit-identical; 1 an unexpected error; 2 bad usage; 3 no usable GPU;\n"
    "  4 no such GPU (cuda:N past the device count); 5 out of memory; 6 the copy back differs\n";

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* "100x100" -> {100, 100}. Returns the number of sizes, or 0 with a message in err. */
static int parse_shape(const char *text, int64_t *shape, char *err, size_t errsize) {
    int ndim = 0;
    const char *p = text;
    while (ndim < LTC_MAX_DIMS) {
        char *end;
        long long v = (*p >= '0' && *p <= '9') ? strtoll(p, &end, 10) : -1;
        if (v < 0 || (*end != 'x' && *end != '\0')) {
            snprintf(err, errsize, "shape \"%s\" is not valid: use sizes joined by x, e.g. 100x100", text);
            return 0;
        }
        if (v == 0) {
            snprintf(err, errsize, "shape \"%s\" is not valid: each size must be 1 or more", text);
            return 0;
        }
        shape[ndim++] = v;
        if (*end == '\0')
            return ndim;
        p = end + 1;
    }
    snprintf(err, errsize, "shape \"%s\" is not valid: more than %d sizes", text, LTC_MAX_DIMS);
    return 0;
}

/* Exit code for a failed move or allocation (the reason is in ltc_last_error()). With no usable GPU it
 * also prints the diagnosis's one cause and its fix, as check_cuda would. */
static int exit_code_for(ltc_status s) {
    ltc_diagnosis *d = NULL;
    switch (s) {
    case LTC_ERR_CUDA_UNAVAILABLE:
        if (ltc_diagnose(&d, LTC_DIAGNOSE_QUICK) == LTC_OK)
            fprintf(stderr, "  why: %s\n  fix: %s\n", ltc_diagnosis_message(d), ltc_diagnosis_fix(d));
        ltc_diagnosis_free(d);
        return EXIT_NO_GPU;
    case LTC_ERR_INVALID_ARGUMENT: return EXIT_BAD_DEVICE;
    case LTC_ERR_OUT_OF_MEMORY: return EXIT_NO_MEMORY;
    default: return 1;
    }
}

int main(int argc, char **argv) {
    const char *device_text = "cuda:0", *shape_text = "100x100", *dtype_text = "float32";
    int pinned = 0, non_blocking = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], **value = NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(a, "--pinned") == 0) {
            pinned = 1;
        } else if (strcmp(a, "--non-blocking") == 0) {
            non_blocking = 1;
        } else if (strcmp(a, "--device") == 0) {
            value = &device_text;
        } else if (strcmp(a, "--shape") == 0) {
            value = &shape_text;
        } else if (strcmp(a, "--dtype") == 0) {
            value = &dtype_text;
        } else {
            fprintf(stderr, "move_to_cuda: unknown option \"%s\" (try --help)\n", a);
            return EXIT_USAGE;
        }
        if (value && ++i == argc) {
            fprintf(stderr, "move_to_cuda: option %s needs a value (try --help)\n", a);
            return EXIT_USAGE;
        }
        if (value)
            *value = argv[i];
    }

    /* 1. Read the options into ltc values; ltc names the bad value and what would be valid. */
    ltc_device device;
    ltc_dtype dtype;
    int64_t shape[LTC_MAX_DIMS];
    char err[256];
    int ndim = parse_shape(shape_text, shape, err, sizeof err);
    if (ndim == 0) {
        fprintf(stderr, "move_to_cuda: %s\n", err);
        return EXIT_USAGE;
    }
    if (ltc_device_parse(&device, device_text) != LTC_OK || ltc_dtype_parse(&dtype, dtype_text) != LTC_OK) {
        fprintf(stderr, "move_to_cuda: %s\n", ltc_last_error());
        return EXIT_USAGE;
    }
    size_t bytes = ltc_dtype_size(dtype);
    for (int d = 0; d < ndim; d++) {
        if ((uint64_t)shape[d] > SIZE_MAX / 2 / bytes) {
            fprintf(stderr, "move_to_cuda: shape \"%s\" of %s is too large: more than 2^63 bytes\n", shape_text,
                    dtype_text);
            return EXIT_USAGE;
        }
        bytes *= (size_t)shape[d];
    }

    /* 2. Random bytes on the host: every bit pattern must survive the trip (a memcmp checks it). */
    unsigned char *sent = malloc(bytes), *back = malloc(bytes);
    if (!sent || !back) {
        fprintf(stderr, "move_to_cuda: out of memory: %zu bytes for the host copies\n", bytes);
        return EXIT_NO_MEMORY;
    }
    uint64_t r = 0x9E3779B97F4A7C15u;
    for (size_t i = 0; i < bytes; i++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17; /* xorshift64 */
        sent[i] = (unsigned char)(r >> 56);
    }
    ltc_tensor *host = NULL;
    const ltc_device cpu = {LTC_DEVICE_CPU, 0};
    ltc_status s = ltc_tensor_from_data(&host, sent, shape, ndim, dtype, cpu);
    if (s == LTC_OK && pinned) {
        ltc_tensor *p = NULL;
        s = ltc_tensor_pin_memory(&p, host); /* a pinned copy: the GPU reads it directly */
        ltc_tensor_free(host);
        host = p;
    }
    if (s != LTC_OK) {
        fprintf(stderr, "move_to_cuda: cannot make the host tensor: %s\n", ltc_last_error());
        return exit_code_for(s);
    }

    /* 3. The move. The first one also pays for CUDA's start-up, so move twice and report both. A
     *    non-blocking move returns at once; only the synchronize says the data is there. */
    ltc_tensor *moved = NULL;
    double returned_us = 0, first_us = 0, moved_us = 0;
    for (int run = 0; run < 2; run++) {
        ltc_tensor_free(moved);
        moved = NULL;
        double t0 = now_us();
        s = ltc_tensor_to(&moved, host, device, non_blocking);
        if (s != LTC_OK) {
            fprintf(stderr, "move_to_cuda: cannot move the tensor to %s: %s\n", device_text, ltc_last_error());
            return exit_code_for(s);
        }
        returned_us = now_us() - t0;
        if (device.type == LTC_DEVICE_CUDA)
            CHECK(ltc_cuda_synchronize(device.index));
        moved_us = now_us() - t0;
        if (run == 0)
            first_us = moved_us;
    }

    /* 4. Copy back (non-blocking: LibTorch puts the copy in pinned memory) and compare every byte. */
    ltc_tensor *returned = NULL;
    CHECK(ltc_tensor_to(&returned, moved, cpu, non_blocking));
    if (device.type == LTC_DEVICE_CUDA)
        CHECK(ltc_cuda_synchronize(device.index));
    CHECK(ltc_tensor_copy_to_host(back, bytes, returned));
    size_t differ = 0, first_diff = 0;
    for (size_t i = 0; i < bytes; i++)
        if (sent[i] != back[i] && differ++ == 0)
            first_diff = i;

    /* 5. Verdict first, then the evidence. */
    char where[32];
    int is_pinned = 0;
    ltc_device_format(where, sizeof where, ltc_tensor_device(moved));
    CHECK(ltc_tensor_is_pinned(&is_pinned, host));
    if (differ == 0)
        printf("PASS: %s %s tensor moved to %s and back, bit-identical (%zu bytes)\n", shape_text, dtype_text, where,
               bytes);
    else
        printf("FAIL: %zu of %zu bytes differ after the round trip to %s (first at byte %zu)\n", differ, bytes, where,
               first_diff);
    printf("  host tensor:  cpu, %s memory\n", is_pinned ? "pinned" : "pageable");
    printf("  now lives on: %s\n", where);
    int gpu = device.type == LTC_DEVICE_CUDA;
    printf("  copy:         %s%s\n", gpu && non_blocking ? "non-blocking, then synchronize" : "blocking",
           gpu && non_blocking && !is_pinned ? " (from pageable memory the host waits anyway)" : "");
    printf("  move took:    %.1f us (first move: %.1f us, including one-time set-up)\n", moved_us, first_us);
    if (gpu && non_blocking)
        printf("  returned in:  %.1f us; the synchronize waited for the rest\n", returned_us);

    ltc_tensor_free(returned);
    ltc_tensor_free(moved);
    ltc_tensor_free(host);
    free(sent);
    free(back);
    return differ == 0 ? 0 : EXIT_MISMATCH;
}
