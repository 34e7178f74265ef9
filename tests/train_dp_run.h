/* train_dp_run.h: the train_data_parallel example (TRAIN_DP_EXE, from CMake) run as a user would, with
 * the launcher variables of whatever runs the test cleared; what it printed is in out.
 *   dp_expect(vars, args, want_rc, want_text)   runs `env <vars> <example> <args>`: one check
 *   dp_start(args)                              the example in the background (its pid is the example's)
 *   dp_signal_after(args, text, sig, what, &took)  started, sent sig once text shows: its exit code
 *   DP_CLEAR                                    the `env -u ...` prefix that clears the launcher variables */
#ifndef LTC_TEST_TRAIN_DP_RUN_H
#define LTC_TEST_TRAIN_DP_RUN_H

#include "proc_helper.h"

static char out[1 << 17];

#define DP_CLEAR                                                                                        \
    "env -u RANK -u WORLD_SIZE -u LOCAL_RANK -u MASTER_ADDR -u MASTER_PORT -u SLURM_PROCID -u SLURM_NTASKS " \
    "-u OMPI_COMM_WORLD_RANK -u OMPI_COMM_WORLD_SIZE -u TORCHELASTIC_RESTART_COUNT"

/* Runs the example with vars set ("" for none) and args; stdout and stderr into out; one check of its
 * exit code and a piece of its output. Returns the exit code. */
static inline int dp_expect(const char *vars, const char *args, int want_rc, const char *want_text) {
    char cmd[4096], name[1200];
    snprintf(cmd, sizeof cmd, DP_CLEAR " %s '%s' %s 2>&1", vars, TRAIN_DP_EXE, args);
    int rc = ph_run(cmd, out, sizeof out);
    snprintf(name, sizeof name, "%s%s%s", vars, *vars ? " " : "", args);
    ph_check_run(name, rc, want_rc, out, want_text);
    return rc;
}

static inline ph_job dp_start(const char *args) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "exec " DP_CLEAR " '%s' %s", TRAIN_DP_EXE, args);
    return ph_start(cmd, out, sizeof out);
}

/* Starts the example with args, checks that text shows in its output within 60 s (the ranks are training),
 * then sends it sig and waits at most 30 s for it to end. Its exit code (-1: killed, or past the time);
 * *took: the seconds from the signal to its end. */
static inline int dp_signal_after(const char *args, const char *text, int sig, const char *what, double *took) {
    ph_job j = dp_start(args);
    char name[300];
    snprintf(name, sizeof name, "%s: the ranks are training (\"%s\" within 60 s)", what, text);
    ph_report(ph_wait_for(&j, text, 60), name, "the line shows", out);
    if (j.pid > 0)
        kill(j.pid, sig);
    int rc = ph_finish(&j, 30, took);
    printf("%s: exit %d after %.2f s\n", what, rc, *took);
    return rc;
}

#endif
