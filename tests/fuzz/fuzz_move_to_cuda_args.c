/* move_to_cuda's options (parse_options in examples/move_to_cuda.c, compiled here with the program's main
 * renamed so that nothing moves): the input is its argument list, one argument per line. parse_options
 * reads them with getopt_long, so the reference below is getopt_long's grammar for these options: each of
 * --device D (also --device=D), --pinned, --non-blocking and --help may be shortened to any prefix (their
 * first letters differ), -h is --help, "--" ends the options; an argument that is no option (or one after
 * "--") is bad usage, but only once the options before and after it have been read (getopt_long moves it
 * to the end). The lists accepted give --pinned, --non-blocking and the last D, which ltc_device_parse
 * must accept; the first bad option, or --help, ends the reading. */
#define FUZZ_EXAMPLE "../../examples/move_to_cuda.c"
#include "fuzz_example.h"

/* The long option that arg ("--name" or "--name=value") names: its index in names, or -1 (none, or "--"
 * with nothing or "=" after it). *value gets what follows '=', else NULL. */
static int long_option(const char *arg, const char **value) {
    static const char *names[] = {"device", "pinned", "non-blocking", "help"};
    const char *name = arg + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    *value = eq ? eq + 1 : NULL;
    for (int i = 0; len > 0 && i < 4; i++)
        if (len <= strlen(names[i]) && !strncmp(name, names[i], len))
            return i;
    return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_cstring(data, size);
    char *argv[FUZZ_MAX_ARGS + 2];
    int argc = fuzz_example_args(text, argv, "move_to_cuda");

    /* the reference */
    int valid = 1, pinned = 0, non_blocking = 0, operands = 0, help = 0;
    const char *device = "cuda:0";
    for (int i = 1; i < argc && valid && !help; i++) {
        const char *arg = argv[i], *value = NULL;
        if (!strcmp(arg, "--")) { /* the rest are operands */
            operands += argc - 1 - i;
            break;
        } else if (arg[0] != '-' || arg[1] == '\0') {
            operands++;
        } else if (arg[1] != '-') { /* short options: -h alone is known, and it prints the usage at once */
            help = arg[1] == 'h';
            valid = help;
        } else {
            int opt = long_option(arg, &value);
            if (opt == 0 && !value && i + 1 < argc)
                device = argv[++i];
            else if (opt == 0)
                valid = value != NULL, device = value ? value : device;
            else
                valid = opt > 0 && !value; /* the others take no value */
            pinned |= valid && opt == 1;
            non_blocking |= valid && opt == 2;
            help = valid && opt == 3;
        }
    }
    if (help) { /* prints the usage and exits 0 */
        free(text);
        return 0;
    }
    valid = valid && operands == 0;
    ltc_device want = {LTC_DEVICE_CPU, 0};
    if (valid)
        valid = ltc_device_parse(&want, device) == LTC_OK;

    options o;
    optind = 0; /* getopt_long: a whole new scan for each input */
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
