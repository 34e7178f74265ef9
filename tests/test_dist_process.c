/* What a group and the launcher do to the process that hosts them: nothing behind its back.
 *   - a group (ltc_dist_init .. ltc_dist_free, and while it is open) leaves the environment and the signal
 *     handlers as they were;
 *   - a rank that exits without ltc_dist_free ends by exit() as asked: its status is the one it gave, its
 *     atexit handlers run (no hidden exit hook ending it first), nothing crashes in the static destructors,
 *     and the other rank names it at once; as rank 1, as rank 0 (the store's host), and in a group of one;
 *   - ltc_launch_local installs signal handlers only with forward_signals 1 (and restores the caller's),
 *     gives its ranks NCCL_NVLS_ENABLE=0 without setting it here, and restarts through its options.
 * This program is also the ranks it starts:
 *   test_dist_process exit-rank MARKER RANK WORLD PORT STATUS   joins, meets the others, exits STATUS
 *   test_dist_process sleep-rank PREFIX                          writes its NCCL_NVLS_ENABLE, sleeps 1 s
 * Network: 127.0.0.1 only. */
#define _DEFAULT_SOURCE /* setenv, usleep, kill */
#include "proc_helper.h"
#include "net_helper.h"

#include <pthread.h>
#include <signal.h>

extern char **environ;

static const ltc_device CPU = {LTC_DEVICE_CPU, 0};
static const char *g_self;

/* ---------------------------------------------------------------------------------------------- */
/* The ranks this program starts                                                                    */
/* ---------------------------------------------------------------------------------------------- */

/* Joins the group, meets the others at a barrier, then exits with `status` without ltc_dist_free. */
static int exit_rank(const char *marker, int rank, int world, int port, int status) {
    ph_atexit_marker(marker); /* before the group: an exit hook of the group's would run first and skip it */
    ltc_dist_env e = local_env(rank, world, port);
    ltc_dist *d = NULL;
    if (ltc_dist_init(&d, &e, CPU, 10.0) != LTC_OK || ltc_dist_barrier(d) != LTC_OK) {
        fprintf(stderr, "exit-rank %d: %s\n", rank, ltc_last_error());
        return 1;
    }
    int64_t shape[1] = {4};
    ltc_tensor *t = NULL;
    if (ltc_tensor_ones(&t, shape, 1, LTC_FLOAT32, CPU) == LTC_OK)
        ltc_dist_all_reduce(d, t, LTC_REDUCE_SUM);
    exit(status); /* the group still open: its threads run while exit() runs the static destructors */
}

/* Writes its NCCL_NVLS_ENABLE to PREFIX.<rank>, sleeps 1 s; with LTC_TEST_FAIL_FIRST set, rank 1 of the first
 * attempt exits 3 instead. */
static int sleep_rank(const char *prefix) {
    const char *rank = getenv("RANK"), *restart = getenv("TORCHELASTIC_RESTART_COUNT"), *nvls = getenv("NCCL_NVLS_ENABLE");
    char path[600];
    snprintf(path, sizeof path, "%s.%s", prefix, rank ? rank : "x");
    FILE *f = fopen(path, "w");
    if (!f || fprintf(f, "%s\n", nvls ? nvls : "(unset)") < 0 || fclose(f) != 0)
        return 1;
    if (getenv("LTC_TEST_FAIL_FIRST") && rank && strcmp(rank, "1") == 0 && restart && strcmp(restart, "0") == 0)
        return 3;
    usleep(1000000);
    return 0;
}

/* ---------------------------------------------------------------------------------------------- */
/* A group leaves the environment and the signal handlers alone                                     */
/* ---------------------------------------------------------------------------------------------- */

static const int SIGNALS[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD, SIGUSR1, SIGUSR2};
enum { NSIG_CHECKED = sizeof SIGNALS / sizeof *SIGNALS };

typedef struct snapshot {
    char *env[512];
    int nenv;
    void (*handler[NSIG_CHECKED])(int);
} snapshot;

static void take(snapshot *s) {
    s->nenv = 0;
    for (char **e = environ; *e && s->nenv < 512; e++)
        s->env[s->nenv++] = strdup(*e);
    for (int i = 0; i < NSIG_CHECKED; i++) {
        struct sigaction a;
        sigaction(SIGNALS[i], NULL, &a);
        s->handler[i] = a.sa_handler;
    }
}

/* "" when the process's environment and handlers are those of s, else what changed. */
static const char *changed_since(const snapshot *s) {
    static char what[256];
    snapshot now;
    take(&now);
    what[0] = '\0';
    if (now.nenv != s->nenv)
        snprintf(what, sizeof what, "the environment has %d entries, had %d", now.nenv, s->nenv);
    for (int i = 0; i < now.nenv && !what[0] && i < s->nenv; i++)
        if (strcmp(now.env[i], s->env[i]) != 0)
            snprintf(what, sizeof what, "environment entry %d is \"%.80s\", was \"%.80s\"", i, now.env[i], s->env[i]);
    for (int i = 0; i < NSIG_CHECKED && !what[0]; i++)
        if (now.handler[i] != s->handler[i])
            snprintf(what, sizeof what, "the handler of signal %d changed", SIGNALS[i]);
    for (int i = 0; i < now.nenv; i++)
        free(now.env[i]);
    return what;
}

typedef struct group_job {
    int rank, port;
    ltc_status st;
    char while_open[256], error[512];
    const snapshot *before;
} group_job;

static void *group_rank(void *arg) {
    group_job *j = arg;
    ltc_dist_env e = local_env(j->rank, 2, j->port);
    ltc_dist *d = NULL;
    j->st = ltc_dist_init(&d, &e, CPU, 10.0);
    if (j->st == LTC_OK)
        j->st = ltc_dist_barrier(d);
    if (j->st != LTC_OK)
        snprintf(j->error, sizeof j->error, "%s", ltc_last_error());
    if (j->rank == 0)
        snprintf(j->while_open, sizeof j->while_open, "%s", changed_since(j->before));
    if (d)
        ltc_dist_barrier(d); /* rank 1 looks only after rank 0 has */
    ltc_dist_free(d);
    return NULL;
}

static void test_group_leaves_the_process_alone(void) {
    static snapshot before;
    take(&before);
    group_job j[2] = {{0, local_port(0, NULL), LTC_OK, "", "", &before}, {1, 0, LTC_OK, "", "", &before}};
    j[1].port = j[0].port;
    pthread_t t[2];
    for (int r = 0; r < 2; r++)
        pthread_create(&t[r], NULL, group_rank, &j[r]);
    for (int r = 0; r < 2; r++)
        pthread_join(t[r], NULL);
    for (int r = 0; r < 2; r++) {
        if (j[r].st != LTC_OK)
            fprintf(stderr, "rank %d: %s\n", r, j[r].error);
        CHECK("a group of two (threads) meets", j[r].st == LTC_OK);
    }
    th_report(!j[0].while_open[0], __FILE__, __LINE__,
              "while a group is open, the environment and the signal handlers are as they were", j[0].while_open);
    const char *after = changed_since(&before);
    th_report(!after[0], __FILE__, __LINE__, "after ltc_dist_free too", after);
    /* a group of one on a free port */
    ltc_dist_env one;
    const char *none[] = {NULL};
    CHECK_OK(ltc_dist_env_from(&one, none));
    ltc_dist *d = NULL;
    CHECK_OK(ltc_dist_init(&d, &one, CPU, 5.0));
    const char *open = changed_since(&before);
    th_report(!open[0], __FILE__, __LINE__, "a group of one changes nothing either", open);
    ltc_dist_free(d);
    for (int i = 0; i < before.nenv; i++)
        free(before.env[i]);
}

/* ---------------------------------------------------------------------------------------------- */
/* A rank that exits without ltc_dist_free                                                          */
/* ---------------------------------------------------------------------------------------------- */

/* Starts this program as `exit-rank MARKER RANK WORLD PORT 7`, its output into out. */
static ph_job start_exit_rank(const char *marker, int rank, int world, int port, char *out, size_t cap) {
    char cmd[900];
    snprintf(cmd, sizeof cmd, "exec /proc/%d/exe exit-rank '%s' %d %d %d 7", (int)getpid(), marker, rank, world, port);
    return ph_start(cmd, out, cap);
}

/* The child's end: exit code 7 (not a signal: nothing crashed in its static destructors) and its atexit
 * handler's marker (no hidden exit hook ended it first). */
static void expect_exit_7(ph_job *job, const char *marker, const char *who) {
    const int code = ph_finish(job, 30, NULL);
    char name[160], detail[160];
    snprintf(name, sizeof name, "%s, exiting with its group open, ends with the status it gave (7)", who);
    snprintf(detail, sizeof detail, "exit code %d (-1: a signal, or no end within 30 s)", code);
    ph_report(code == 7, name, detail, job->out);
    snprintf(name, sizeof name, "%s: its atexit handler ran (no hidden exit hook ended it first)", who);
    CHECK(name, ph_marker_there(marker));
}

/* The child is rank `child` of 2 and exits 7 without ltc_dist_free; this process is the other rank. */
static void exit_without_free(int child, const char *dir) {
    static char out[1 << 16];
    char marker[600], name[96];
    snprintf(marker, sizeof marker, "%s/marker%d", dir, child);
    unlink(marker);
    const int port = local_port(0, NULL), me = 1 - child;
    ph_job job = start_exit_rank(marker, child, 2, port, out, sizeof out);
    CHECK("the child starts", job.pid > 0);
    ltc_dist_env e = local_env(me, 2, port);
    ltc_dist *d = NULL;
    ltc_status st = ltc_dist_init(&d, &e, CPU, 10.0);
    if (st == LTC_OK)
        st = ltc_dist_barrier(d);
    snprintf(name, sizeof name, "rank %d meets the child, rank %d", me, child);
    CHECK(name, st == LTC_OK);
    /* collectives until the child's exit shows */
    int64_t shape[1] = {4};
    ltc_tensor *t = NULL;
    CHECK_OK(ltc_tensor_ones(&t, shape, 1, LTC_FLOAT32, CPU));
    const double t0 = ph_now_s();
    while (st == LTC_OK && ph_now_s() - t0 < 20)
        st = ltc_dist_all_reduce(d, t, LTC_REDUCE_SUM);
    const double took = ph_now_s() - t0;
    char want[160], detail[900];
    snprintf(want, sizeof want, "rank %d is lost: ", child);
    snprintf(detail, sizeof detail, "after %.2f s: %s: %s", took, ltc_status_string(st), ltc_last_error());
    snprintf(name, sizeof name, "rank %d names the child (rank %d) lost, within a few seconds", me, child);
    th_report(st == LTC_ERR_DISTRIBUTED && strstr(ltc_last_error(), want) && took < 8, __FILE__, __LINE__, name, detail);
    if (child == 1)
        th_report(strstr(detail, "ended without leaving the group: it exited without ltc_dist_free") != NULL, __FILE__,
                  __LINE__, "... saying it ended without leaving the group", detail);
    ltc_tensor_free(t);
    ltc_dist_free(d);
    snprintf(name, sizeof name, "rank %d", child);
    expect_exit_7(&job, marker, name);
}

static void test_exit_without_free(void) {
    static char out[1 << 16];
    char dir[64];
    if (!ph_make_dir(dir, sizeof dir, "ltc_dist_process")) {
        CHECK("a scratch folder", 0);
        return;
    }
    for (int round = 0; round < 3; round++) { /* a crash at exit would show as a signal, sooner or later */
        exit_without_free(1, dir);
        exit_without_free(0, dir);
    }
    char marker[600];
    snprintf(marker, sizeof marker, "%s/marker-one", dir);
    ph_job job = start_exit_rank(marker, 0, 1, 0, out, sizeof out);
    expect_exit_7(&job, marker, "a group of one");
    ph_remove_dir(dir);
}

/* ---------------------------------------------------------------------------------------------- */
/* The launcher's signal handlers, its ranks' environment, restarts                                 */
/* ---------------------------------------------------------------------------------------------- */

static void callers_handler(int sig) { (void)sig; }

static volatile int g_watching;
static int g_saw_other; /* the watcher saw a SIGTERM or SIGINT handler other than the caller's */

static void *watch_handlers(void *arg) {
    (void)arg;
    while (__atomic_load_n(&g_watching, __ATOMIC_SEQ_CST)) {
        struct sigaction a, b;
        sigaction(SIGTERM, NULL, &a);
        sigaction(SIGINT, NULL, &b);
        if (a.sa_handler != callers_handler || b.sa_handler != callers_handler)
            __atomic_store_n(&g_saw_other, 1, __ATOMIC_SEQ_CST);
        usleep(10000);
    }
    return NULL;
}

/* Launches 2 CPU ranks of sleep-rank with forward_signals as given, watching the handlers meanwhile. */
static void launch_watched(int forward, const char *prefix, int *code, int *failed, int *restarts, int max_restarts) {
    const char *argv[] = {g_self, "sleep-rank", prefix, NULL};
    ltc_launch_options o = LTC_LAUNCH_OPTIONS_INIT;
    o.nproc = 2;
    o.argv = argv;
    o.device_type = LTC_DEVICE_CPU;
    o.timeout_s = 10;
    o.max_restarts = max_restarts;
    o.forward_signals = forward;
    g_saw_other = 0;
    g_watching = 1;
    pthread_t t;
    pthread_create(&t, NULL, watch_handlers, NULL);
    CHECK_OK(ltc_launch_local(code, failed, restarts, &o));
    __atomic_store_n(&g_watching, 0, __ATOMIC_SEQ_CST);
    pthread_join(t, NULL);
}

static void test_launcher(void) {
    char dir[64];
    if (!ph_make_dir(dir, sizeof dir, "ltc_dist_launch")) {
        CHECK("a scratch folder", 0);
        return;
    }
    struct sigaction mine, before_term, before_int;
    memset(&mine, 0, sizeof mine);
    mine.sa_handler = callers_handler;
    sigemptyset(&mine.sa_mask);
    sigaction(SIGTERM, &mine, &before_term);
    sigaction(SIGINT, &mine, &before_int);
    const char *nvls_before = getenv("NCCL_NVLS_ENABLE");
    char nvls_saved[64];
    snprintf(nvls_saved, sizeof nvls_saved, "%s", nvls_before ? nvls_before : "(unset)");

    char prefix[600];
    snprintf(prefix, sizeof prefix, "%s/nvls", dir);
    int code = -1, failed = -2, restarts = -3;
    launch_watched(0, prefix, &code, &failed, &restarts, 0);
    CHECK("forward_signals 0: the ranks ran (exit 0, no rank failed, no restart)", code == 0 && failed == -1 && restarts == 0);
    CHECK("forward_signals 0: the caller's SIGTERM and SIGINT handlers stay in place all along", !g_saw_other);
    for (int r = 0; r < 2; r++) {
        char path[700], line[64] = "";
        snprintf(path, sizeof path, "%s.%d", prefix, r);
        FILE *f = fopen(path, "r");
        if (f) {
            if (!fgets(line, sizeof line, f))
                line[0] = '\0';
            fclose(f);
        }
        CHECK("each rank has NCCL_NVLS_ENABLE=0 (the launcher's job)", strcmp(line, "0\n") == 0);
    }
    const char *nvls_after = getenv("NCCL_NVLS_ENABLE");
    CHECK("... which the launcher does not set in its own environment",
          strcmp(nvls_saved, nvls_after ? nvls_after : "(unset)") == 0);

    launch_watched(1, prefix, &code, &failed, &restarts, 0);
    CHECK("forward_signals 1: the ranks ran", code == 0 && failed == -1);
    CHECK("forward_signals 1: the launcher's handlers are in place while it waits", g_saw_other);
    struct sigaction now;
    sigaction(SIGTERM, NULL, &now);
    CHECK("... and the caller's SIGTERM handler is back after", now.sa_handler == callers_handler);
    sigaction(SIGINT, NULL, &now);
    CHECK("... and its SIGINT handler", now.sa_handler == callers_handler);

    /* restarts, asked for in the options: rank 1 fails the first attempt, the second passes */
    setenv("LTC_TEST_FAIL_FIRST", "1", 1);
    launch_watched(0, prefix, &code, &failed, &restarts, 1);
    unsetenv("LTC_TEST_FAIL_FIRST");
    char what[128];
    snprintf(what, sizeof what, "max_restarts 1: rank 1 fails once, the restart passes (exit %d, rank %d, %d restarts)", code,
             failed, restarts);
    CHECK(what, code == 0 && failed == -1 && restarts == 1);
    /* options NULL: every default, whose argv is NULL */
    CHECK_FAILS(ltc_launch_local(&code, &failed, NULL, NULL), LTC_ERR_INVALID_ARGUMENT, "ltc_launch_options.argv is NULL");

    sigaction(SIGTERM, &before_term, NULL);
    sigaction(SIGINT, &before_int, NULL);
    ph_remove_dir(dir);
}

int main(int argc, char **argv) {
    g_self = argv[0];
    ltc_log_level_init(LTC_LOG_ERROR); /* c10d's warnings about the ranks that leave */
    if (argc == 7 && strcmp(argv[1], "exit-rank") == 0)
        return exit_rank(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]));
    if (argc == 3 && strcmp(argv[1], "sleep-rank") == 0)
        return sleep_rank(argv[2]);
    test_group_leaves_the_process_alone();
    test_exit_without_free();
    test_launcher();
    return th_finish();
}
