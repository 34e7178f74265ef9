/* torch_ref_helper.h: PyTorch's own numbers at test time, from tests/torch_reference.py run by the Python
 * beside LibTorch (CMake defines TORCH_PYTHON and TORCH_REFERENCE where it found one).
 *
 *   tr_available(what)                    1 when the reference can run; else SKIP(what, why) and 0
 *   tr_run(args, out, cap)                runs the reference with args (stderr too), its exit code
 *   tr_values(out, name, vals, cap)       the numbers of the line "name v1 v2 ..." of out (that line only) into
 *                                         vals; how many
 *                                         (-1 when no such line)
 *   tr_close(name, out, got, n, tol)      one check: the line "name" of out holds n numbers, each within
 *                                         tol (absolute) plus tol relative of got[i]; prints the worst gap
 */
#ifndef LTC_TEST_TORCH_REF_HELPER_H
#define LTC_TEST_TORCH_REF_HELPER_H

#include "proc_helper.h"

#include <math.h>

static inline int tr_available(const char *what) {
#if defined(TORCH_PYTHON) && defined(TORCH_REFERENCE)
    return ph_torch_python_has(what, "torch");
#else
    SKIP(what, "no Python with torch found at configure time");
    return 0;
#endif
}

static inline int tr_run(const char *args, char *out, size_t cap) {
#if defined(TORCH_PYTHON) && defined(TORCH_REFERENCE)
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' -W ignore '%s' %s 2>&1", TORCH_PYTHON, TORCH_REFERENCE, args);
    return ph_run(cmd, out, cap);
#else
    (void)args;
    snprintf(out, cap, "no reference Python");
    return -1;
#endif
}

static inline int tr_values(const char *out, const char *name, double *vals, int cap) {
    size_t len = strlen(name);
    for (const char *line = out; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, name, len) != 0 || line[len] != ' ')
            continue;
        const char *p = line + len, *eol = strchr(p, '\n');
        int n = 0;
        while (n < cap) {
            char *end = NULL;
            double v = strtod(p, &end);
            if (end == p || (eol && end > eol)) /* strtod skips the newline: the next line is not this one's */
                break;
            vals[n++] = v;
            p = end;
        }
        return n;
    }
    return -1;
}

static inline void tr_close(const char *name, const char *out, const double *got, int n, double tol) {
    double want[512], worst = 0;
    int m = tr_values(out, name, want, 512);
    for (int i = 0; i < n && m == n; i++)
        worst = fmax(worst, fabs(got[i] - want[i]) / (1 + fabs(want[i])));
    char detail[200];
    snprintf(detail, sizeof detail, "%d numbers from torch, %d from ltc, largest gap %.3g (tolerance %.3g)", m, n, worst, tol);
    ph_report(m == n && worst <= tol, name, detail, out);
}

#endif
