/* Faults with real processes, on the CPU: this program launches itself as 2 ranks (ltc_launch_local),
 * each joining a CPU group and training a little, with one rank made to fail in a chosen way:
 *   exit3      rank 1 exits with status 3: rank 0 names it at once, the launcher returns 3
 *   kill       rank 1 is killed (SIGKILL): the launcher tells rank 0 through the store, which names the
 *              rank and the signal at once; the launcher returns 137
 *   stall      rank 1 stops calling collectives but stays alive: rank 0 times out saying so
 *   rank0exit  rank 0 (the store's host) exits with status 4: rank 1 names rank 0 as lost
 *   sleep      both ranks sleep; Ctrl-C (SIGINT) to the launcher reaches them: it returns 130
 *   stubborn   rank 1 exits 5 at once, rank 0 ignores SIGTERM and sleeps: the launcher still returns
 * Each rank writes what it saw to <dir>/rank<r>.txt; the driver checks those and the launcher's result.
 * Timeouts are 2 s (0.5 s for stubborn), so the whole program takes about 20 s. */
#define _DEFAULT_SOURCE /* usleep, mkdtemp, clock_gettime, kill, sigaction */
#include "proc_helper.h"

#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const ltc_device CPU = {LTC_DEVICE_CPU, 0};
static const double TIMEOUT = 2.0;

/* ---------------------------------------------------------------------------------------------- */
/* A rank                                                                                           */
/* ---------------------------------------------------------------------------------------------- */

static char g_dir[256];

static void write_file(const char *name, const char *text) {
    char path[400];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* What this rank saw: its status, the seconds from the fault to the error, and the message. */
static void report(int rank, ltc_status s, double since_fault) {
    char name[32], text[1024];
    snprintf(name, sizeof name, "rank%d.txt", rank);
    snprintf(text, sizeof text, "%s\n%.3f\n%s\n", ltc_status_string(s), since_fault, s == LTC_OK ? "" : ltc_last_error());
    write_file(name, text);
}

static int rank_main(const char *scenario) {
    ltc_dist_env env;
    if (ltc_dist_env_from(&env, NULL) != LTC_OK) {
        report(-1, LTC_ERR_INVALID_ARGUMENT, 0);
        return 2;
    }
    const int r = env.rank;
    if (!strcmp(scenario, "stubborn")) {
        if (r == 1)
            return 5;
        signal(SIGTERM, SIG_IGN);
        sleep(60);
        return 0;
    }
    ltc_dist *d = NULL;
    ltc_status s = ltc_dist_init(&d, &env, CPU, TIMEOUT);
    if (s != LTC_OK) {
        report(r, s, 0);
        return 1;
    }
    char name[32];
    snprintf(name, sizeof name, "ready%d", r);
    write_file(name, "");
    if (!strcmp(scenario, "sleep")) {
        sleep(30);
        return 0;
    }
    ltc_manual_seed(7);
    ltc_module *lin = NULL;
    ltc_tensor_list *params = NULL;
    ltc_tensor *x = NULL, *y = NULL, *p = NULL, *loss = NULL;
    int64_t xs[2] = {4, 3}, ys[2] = {4, 2};
    if (ltc_module_linear_new(&lin, 3, 2, 1) != LTC_OK || ltc_module_parameters(&params, lin) != LTC_OK ||
        ltc_tensor_randn(&x, xs, 2, LTC_FLOAT32, CPU, (uint64_t)r) != LTC_OK ||
        ltc_tensor_randn(&y, ys, 2, LTC_FLOAT32, CPU, 10u + (uint64_t)r) != LTC_OK)
        return 1;
    s = ltc_dist_broadcast_parameters(d, params, 0);
    double fault_at = 0;
    for (int step = 0; step < 20 && s == LTC_OK; step++) {
        if (step == 3) {
            fault_at = ph_now_s();
            if (r == 1 && !strcmp(scenario, "exit3"))
                exit(3);
            if (r == 1 && !strcmp(scenario, "kill"))
                raise(SIGKILL);
            if (r == 1 && !strcmp(scenario, "stall")) {
                sleep(4);
                exit(0);
            }
            if (r == 0 && !strcmp(scenario, "rank0exit"))
                exit(4);
        }
        ltc_tensor_free(p);
        ltc_tensor_free(loss);
        p = loss = NULL;
        if (ltc_module_forward(&p, lin, x) != LTC_OK || ltc_mse_loss(&loss, p, y) != LTC_OK ||
            ltc_tensor_backward(loss) != LTC_OK)
            return 1;
        s = ltc_dist_average_gradients(d, params);
        if (s == LTC_OK && step % 5 == 0)
            s = ltc_dist_check_replicas(d, params);
        usleep(20000);
    }
    report(r, s, fault_at > 0 ? ph_now_s() - fault_at : 0);
    ltc_tensor_free(x);
    ltc_tensor_free(y);
    ltc_tensor_free(p);
    ltc_tensor_free(loss);
    ltc_tensor_list_free(params);
    ltc_module_free(lin);
    ltc_dist_free(d);
    return s == LTC_OK ? 0 : 1;
}

/* ---------------------------------------------------------------------------------------------- */
/* The driver                                                                                       */
/* ---------------------------------------------------------------------------------------------- */

static const char *g_self;

typedef struct outcome {
    ltc_status launch;
    int code, failed_rank;
    double seconds;
    char status[2][64], message[2][1024];
    double since_fault[2];
} outcome;

static void clear_dir(void) {
    const char *names[] = {"rank0.txt", "rank1.txt", "ready0", "ready1"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char path[400];
        snprintf(path, sizeof path, "%s/%s", g_dir, names[i]);
        unlink(path);
    }
}

static void read_rank(outcome *o, int r) {
    char path[400];
    snprintf(path, sizeof path, "%s/rank%d.txt", g_dir, r);
    o->status[r][0] = o->message[r][0] = '\0';
    o->since_fault[r] = -1;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[64];
    if (fgets(o->status[r], sizeof o->status[r], f))
        o->status[r][strcspn(o->status[r], "\n")] = '\0';
    if (fgets(line, sizeof line, f))
        o->since_fault[r] = atof(line);
    size_t n = fread(o->message[r], 1, sizeof o->message[r] - 1, f);
    o->message[r][n] = '\0';
    fclose(f);
}

static outcome launch(const char *scenario, double timeout) {
    outcome o;
    memset(&o, 0, sizeof o);
    clear_dir();
    const char *argv[] = {g_self, scenario, g_dir, NULL};
    double t0 = ph_now_s();
    o.code = o.failed_rank = -99;
    ltc_launch_options lo = LTC_LAUNCH_OPTIONS_INIT;
    lo.nproc = 2, lo.argv = argv, lo.device_type = LTC_DEVICE_CPU, lo.timeout_s = timeout, lo.forward_signals = 1;
    o.launch = ltc_launch_local(&o.code, &o.failed_rank, NULL, &lo);
    o.seconds = ph_now_s() - t0;
    read_rank(&o, 0);
    read_rank(&o, 1);
    printf("%-9s launcher: %s, exit code %d, first failing rank %d, %.2f s\n", scenario, ltc_status_string(o.launch),
           o.code, o.failed_rank, o.seconds);
    for (int r = 0; r < 2; r++)
        if (o.status[r][0])
            printf("          rank %d: %s after %.2f s: %s", r, o.status[r], o.since_fault[r], o.message[r]);
    return o;
}

static void expect_rank(const outcome *o, int r, const char *status, const char *text, double within) {
    int ok = !strcmp(o->status[r], status) && strstr(o->message[r], text) != NULL && o->since_fault[r] <= within;
    char detail[1400];
    snprintf(detail, sizeof detail, "rank %d: %s after %.2f s (wanted %s containing \"%s\" within %.1f s): %s", r,
             o->status[r], o->since_fault[r], status, text, within, o->message[r]);
    th_report(ok, __FILE__, __LINE__, "rank's error", detail);
}

static void test_clean_run(void) {
    outcome o = launch("ok", TIMEOUT);
    CHECK_OK(o.launch);
    CHECK("all ranks exit 0", o.code == 0 && o.failed_rank == -1);
    CHECK("both ranks finished", !strcmp(o.status[0], "LTC_OK") && !strcmp(o.status[1], "LTC_OK"));
}

static void test_rank_exits(void) {
    outcome o = launch("exit3", TIMEOUT);
    CHECK_OK(o.launch);
    CHECK("the launcher returns the failing rank's exit code", o.code == 3 && o.failed_rank == 1);
    expect_rank(&o, 0, "LTC_ERR_DISTRIBUTED", "rank 1 is lost: its process exited with status 3", TIMEOUT);
}

static void test_rank_killed(void) {
    outcome o = launch("kill", TIMEOUT);
    CHECK_OK(o.launch);
    CHECK("killed by SIGKILL: 128+9", o.code == 137 && o.failed_rank == 1);
    expect_rank(&o, 0, "LTC_ERR_DISTRIBUTED", "rank 1 is lost: its process was killed by signal 9 (SIGKILL)", TIMEOUT);
    CHECK("no hang", o.seconds < TIMEOUT + 8);
}

static void test_rank_stalls(void) {
    outcome o = launch("stall", TIMEOUT);
    CHECK_OK(o.launch);
    CHECK("rank 0 fails first", o.code == 1 && o.failed_rank == 0);
    expect_rank(&o, 0, "LTC_ERR_TIMEOUT", "timed out after 2.0 s waiting for rank 1 (every rank's heartbeat is alive", TIMEOUT + 1.0);
}

static void test_store_host_exits(void) {
    outcome o = launch("rank0exit", TIMEOUT);
    CHECK_OK(o.launch);
    CHECK("the launcher returns rank 0's code", o.code == 4 && o.failed_rank == 0);
    expect_rank(&o, 1, "LTC_ERR_DISTRIBUTED", "rank 0 is lost", TIMEOUT);
}

static void *interrupt_when_ready(void *arg) {
    (void)arg;
    char p0[400], p1[400];
    snprintf(p0, sizeof p0, "%s/ready0", g_dir);
    snprintf(p1, sizeof p1, "%s/ready1", g_dir);
    for (int i = 0; i < 1000; i++) {
        if (access(p0, F_OK) == 0 && access(p1, F_OK) == 0)
            break;
        usleep(10000);
    }
    kill(getpid(), SIGINT); /* as a Ctrl-C reaching the launcher */
    return NULL;
}

static void test_ctrl_c(void) {
    struct sigaction before, after;
    sigaction(SIGINT, NULL, &before);
    pthread_t t;
    clear_dir();
    pthread_create(&t, NULL, interrupt_when_ready, NULL);
    outcome o = launch("sleep", TIMEOUT);
    pthread_join(t, NULL);
    CHECK_OK(o.launch);
    CHECK("SIGINT forwarded: the ranks end with 128+2", o.code == 130 && (o.failed_rank == 0 || o.failed_rank == 1));
    CHECK("promptly", o.seconds < 10);
    sigaction(SIGINT, NULL, &after);
    CHECK("the launcher restores the SIGINT handler", before.sa_handler == after.sa_handler);
}

static void test_stubborn_rank(void) {
    outcome o = launch("stubborn", 0.5);
    CHECK_OK(o.launch);
    CHECK("the first failure is reported", o.code == 5 && o.failed_rank == 1);
    CHECK("a rank ignoring SIGTERM is killed: no hang", o.seconds > 5 && o.seconds < 15);
}

int main(int argc, char **argv) {
    if (getenv("RANK") && argc >= 3) { /* launched by ourselves, as a rank */
        snprintf(g_dir, sizeof g_dir, "%s", argv[2]);
        return rank_main(argv[1]);
    }
    g_self = argv[0];
    static void (*const tests[])(void) = {test_clean_run, test_rank_exits, test_rank_killed, test_rank_stalls,
                                          test_store_host_exits, test_ctrl_c, test_stubborn_rank};
    return ph_run_in_dir(g_dir, sizeof g_dir, "ltc_dp_faults", tests, sizeof tests / sizeof *tests);
}
