/* Off one machine: train_data_parallel's two CPU ranks on two "nodes", each a network namespace of its
 * own with its own host name (a UTS namespace), joined by a veth pair: node a 10.200.0.1/24 (rank 0,
 * which hosts the store), node b 10.200.0.2/24 (rank 1). Traffic runs only between these two
 * namespaces, which this test makes and which vanish with it: each is held by a child process that
 * dies with the test (PR_SET_PDEATHSIG), and so does every process started in them.
 *
 *   training        both ranks train and pass
 *   killed b        SIGKILL of rank 1 on node b: rank 0 names it (and node b) within 5 s, with --timeout 60
 *   killed a        SIGKILL of rank 0 on node a: rank 1 names it within 5 s, with --timeout 60
 *   frozen b        SIGSTOP of rank 1: rank 0 names it only after the timeout (alive but silent)
 *   partition       node b's link down: each rank names the other after the timeout, not before, and
 *                   ends; no C++ backtrace ("frame #") and no c10d log line in either output
 *
 * Needs root (namespaces), the `ip` command and veth in the kernel; without them every case is skipped
 * (exit 77), naming what is missing. Needs no other network: nothing leaves the two namespaces. */
#define _GNU_SOURCE
#include "proc_helper.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>

#ifndef TRAIN_DP_EXE
#error "TRAIN_DP_EXE must name the train_data_parallel program"
#endif

#define CASES 5
#define OUT_CAP (64 * 1024)

typedef struct node {
    const char *host, *addr, *dev;
    pid_t holder; /* the process whose namespaces are the node's */
} node;

static node g_nodes[2] = {{"ltc-node-a", "10.200.0.1", "ltcveth0", -1}, {"ltc-node-b", "10.200.0.2", "ltcveth1", -1}};
static pid_t g_test_pid;

/* In a child about to exec: die with the test, and enter node n's network and UTS namespaces. */
static int enter_node(void *arg) {
    const node *n = arg;
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != g_test_pid)
        return 1;
    const char *kinds[] = {"net", "uts"};
    const int types[] = {CLONE_NEWNET, CLONE_NEWUTS};
    for (int i = 0; i < 2; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)n->holder, kinds[i]);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        int ok = fd >= 0 && setns(fd, types[i]) == 0;
        if (fd >= 0)
            close(fd);
        if (!ok) {
            fprintf(stderr, "cannot enter %s: %s\n", path, strerror(errno));
            return 1;
        }
    }
    return 0;
}

/* Runs cmdline in node n to its end (30 s at most); its exit code, its output in out. */
static int run_in(const node *n, const char *cmdline, char *out, size_t cap) {
    ph_job j = ph_start_with(cmdline, out, cap, enter_node, (void *)n);
    return j.pid < 0 ? -1 : ph_finish(&j, 30, NULL);
}

/* A holder: new network and UTS namespaces, the node's host name, then it waits to be killed. Sends the
 * errno of what failed (0: ready) on fd. */
static void hold_node(const node *n, int fd) {
    int err = 0;
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != g_test_pid)
        err = errno ? errno : ESRCH;
    else if (unshare(CLONE_NEWNET | CLONE_NEWUTS) != 0 || sethostname(n->host, strlen(n->host)) != 0)
        err = errno;
    if (write(fd, &err, sizeof err) != (ssize_t)sizeof err || err)
        _exit(1);
    for (;;)
        pause();
}

static void nodes_down(void) {
    for (int i = 0; i < 2; i++)
        if (g_nodes[i].holder > 0) {
            kill(g_nodes[i].holder, SIGKILL);
            waitpid(g_nodes[i].holder, NULL, 0);
            g_nodes[i].holder = -1;
        }
}

/* Makes the two nodes and links them; NULL, or what is missing (into why). */
static const char *nodes_up(char *why, size_t n) {
    if (geteuid() != 0) {
        snprintf(why, n, "not root (euid %d): network namespaces need root", (int)geteuid());
        return why;
    }
    static char out[4096];
    if (ph_run("ip -V 2>&1", out, sizeof out) != 0) {
        snprintf(why, n, "no `ip` command (iproute2) on PATH");
        return why;
    }
    for (int i = 0; i < 2; i++) {
        int fds[2], err = ESRCH;
        if (pipe(fds) != 0) {
            snprintf(why, n, "pipe: %s", strerror(errno));
            return why;
        }
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            hold_node(&g_nodes[i], fds[1]);
        }
        close(fds[1]);
        g_nodes[i].holder = pid;
        ssize_t got = pid > 0 ? read(fds[0], &err, sizeof err) : -1;
        close(fds[0]);
        if (pid < 0 || got != (ssize_t)sizeof err || err) {
            snprintf(why, n, "cannot make a network and UTS namespace (unshare, sethostname): %s",
                     strerror(pid < 0 ? errno : err));
            return why;
        }
    }
    char cmd[512];
    snprintf(cmd, sizeof cmd, "exec ip link add %s type veth peer name %s netns %d 2>&1", g_nodes[0].dev, g_nodes[1].dev,
             (int)g_nodes[1].holder);
    if (run_in(&g_nodes[0], cmd, out, sizeof out) != 0) {
        snprintf(why, n, "cannot make a veth pair between two namespaces: %.300s", out);
        return why;
    }
    for (int i = 0; i < 2; i++) {
        snprintf(cmd, sizeof cmd, "ip addr add %s/24 dev %s && ip link set %s up && ip link set lo up 2>&1",
                 g_nodes[i].addr, g_nodes[i].dev, g_nodes[i].dev);
        if (run_in(&g_nodes[i], cmd, out, sizeof out) != 0) {
            snprintf(why, n, "cannot set up %s in its namespace: %.300s", g_nodes[i].dev, out);
            return why;
        }
    }
    return NULL;
}

/* Rank r of 2 on its node (rank 0 on a, 1 on b), training `steps` steps with --timeout timeout_s; LibTorch's
 * log level as the program chooses it (TORCH_CPP_LOG_LEVEL unset). */
static ph_job start_rank(int r, int steps, double timeout_s, char *out) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "exec env -u TORCH_CPP_LOG_LEVEL RANK=%d WORLD_SIZE=2 LOCAL_RANK=0 MASTER_ADDR=%s MASTER_PORT=29500 "
             "'%s' --device cpu --steps %d --log-every 10 --timeout %g",
             r, g_nodes[0].addr, TRAIN_DP_EXE, steps, timeout_s);
    return ph_start_with(cmd, out, OUT_CAP, enter_node, &g_nodes[r]);
}

/* Waits for both ranks to end (killing what is left after limit seconds); each one's exit code (-1: a
 * signal, or killed here) and when it ended, in seconds after t0. */
static void finish_both(ph_job *j, double limit, double t0, int rc[2], double at[2]) {
    int done[2] = {0, 0};
    for (int r = 0; r < 2; r++) {
        rc[r] = -1;
        at[r] = -1;
    }
    while ((!done[0] || !done[1]) && ph_now_s() - t0 < limit)
        for (int r = 0; r < 2; r++) {
            int status = 0;
            if (!done[r] && waitpid(j[r].pid, &status, WNOHANG) == j[r].pid) {
                done[r] = 1;
                at[r] = ph_now_s() - t0;
                rc[r] = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            }
            if (ph_read_some(&j[r], 20) < 0)
                poll(NULL, 0, 20);
        }
    for (int r = 0; r < 2; r++) {
        if (!done[r]) {
            kill(j[r].pid, SIGKILL);
            waitpid(j[r].pid, NULL, 0);
        }
        while (ph_read_some(&j[r], 200) > 0) {
        }
        close(j[r].fd);
    }
}

/* Starts both ranks for a long run and waits until they train; 0 (having said why) if they did not. */
static int start_training(ph_job *j, char out[2][OUT_CAP], double timeout_s) {
    for (int r = 0; r < 2; r++)
        j[r] = start_rank(r, 1 << 30, timeout_s, out[r]);
    int ok = j[0].pid > 0 && j[1].pid > 0 && ph_wait_for(&j[0], "step    10  loss", 90);
    ph_report(ok, "both ranks train across the two nodes", "rank 0 printed step 10", out[0]);
    if (!ok) {
        int rc[2];
        double at[2];
        finish_both(j, 0, ph_now_s(), rc, at);
    }
    return ok;
}

/* LibTorch's own logging kept out: no C++ backtrace, no c10d line. */
static void check_quiet(const char *what, const char *out) {
    char name[160];
    snprintf(name, sizeof name, "%s: no C++ backtrace (\"frame #\") and no c10d log line", what);
    ph_report(!strstr(out, "frame #") && !strstr(out, "[c10d]"), name, "LibTorch's log at ERROR", out);
}

static void check_named(const char *what, int rc, double at, double lo, double hi, const char *out, const char *text) {
    char detail[512];
    snprintf(detail, sizeof detail, "exit %d after %.2f s (wanted 1, between %.1f and %.1f s), with \"%s\"", rc, at, lo,
             hi, text);
    ph_report(rc == 1 && at >= lo && at <= hi && strstr(out, text) != NULL, what, detail, out);
    printf("%s: exit %d after %.2f s\n", what, rc, at);
}

static char g_out[2][OUT_CAP];

static void test_training(void) {
    ph_job j[2];
    for (int r = 0; r < 2; r++)
        j[r] = start_rank(r, 300, 30, g_out[r]);
    int rc[2];
    double at[2];
    finish_both(j, 120, ph_now_s(), rc, at);
    ph_check_run("training passes across the two nodes: rank 0", rc[0], 0, g_out[0], "result: PASS");
    ph_check_run("training passes across the two nodes: rank 1", rc[1], 0, g_out[1], "");
    check_quiet("a clean run, rank 0", g_out[0]);
    check_quiet("a clean run, rank 1", g_out[1]);
}

/* SIGKILL of rank `victim`; the other names it within 5 s though the timeout is 60 s. */
static void test_killed(int victim) {
    ph_job j[2];
    if (!start_training(j, g_out, 60))
        return;
    const int other = 1 - victim;
    double t0 = ph_now_s();
    kill(j[victim].pid, SIGKILL);
    int rc[2];
    double at[2];
    finish_both(j, 30, t0, rc, at);
    char what[160], text[200];
    snprintf(what, sizeof what, "SIGKILL of rank %d on %s: rank %d names it within 5 s (--timeout 60)", victim,
             g_nodes[victim].host, other);
    if (victim == 1)
        snprintf(text, sizeof text, "rank 1 is lost: its process on host %s ended without leaving the group",
                 g_nodes[1].host);
    else
        snprintf(text, sizeof text, "rank 0 is lost");
    check_named(what, rc[other], at[other], 0, 5, g_out[other], text);
    check_quiet(what, g_out[other]);
}

/* SIGSTOP of rank 1: frozen, its connections open: named after the timeout only. */
static void test_frozen(void) {
    const double timeout_s = 4;
    ph_job j[2];
    if (!start_training(j, g_out, timeout_s))
        return;
    kill(j[1].pid, SIGSTOP);
    double at = 0;
    int rc = ph_finish(&j[0], timeout_s + 12, &at);
    kill(j[1].pid, SIGKILL); /* stopped: it would never end */
    ph_finish(&j[1], 5, NULL);
    check_named("SIGSTOP of rank 1 on ltc-node-b: rank 0 names it after the timeout, not before", rc, at,
                timeout_s * 0.8, timeout_s + 8, g_out[0], "rank 1 is lost");
    ph_report(strstr(g_out[0], "ended without leaving the group") == NULL, "a frozen rank is not called dead",
              "no \"ended without leaving the group\"", g_out[0]);
}

/* Node b's link down: each side names the other after the timeout and ends. */
static void test_partition(void) {
    const double timeout_s = 4;
    ph_job j[2];
    if (!start_training(j, g_out, timeout_s))
        return;
    static char out[4096];
    char cmd[128];
    snprintf(cmd, sizeof cmd, "ip link set %s down 2>&1", g_nodes[1].dev);
    double t0 = ph_now_s();
    int down = run_in(&g_nodes[1], cmd, out, sizeof out);
    ph_check_run("node b's link goes down", down, 0, out, "");
    int rc[2];
    double at[2];
    finish_both(j, 2 * timeout_s + 20, t0, rc, at);
    check_named("partition: rank 0 names rank 1 after the timeout", rc[0], at[0], timeout_s * 0.8, timeout_s + 8, g_out[0],
                "rank 1 is lost");
    check_named("partition: rank 1 names rank 0 after the timeout", rc[1], at[1], timeout_s * 0.8, timeout_s + 8, g_out[1],
                "rank 0 is lost");
    for (int r = 0; r < 2; r++) {
        ph_report(strstr(g_out[r], "a network partition") != NULL, "partition: the message says it may be one",
                  "\"a network partition\"", g_out[r]);
        check_quiet(r ? "partition, rank 1" : "partition, rank 0", g_out[r]);
    }
    snprintf(cmd, sizeof cmd, "ip link set %s up 2>&1", g_nodes[1].dev);
    run_in(&g_nodes[1], cmd, out, sizeof out);
}

static void test_killed_b(void) { test_killed(1); }
static void test_killed_a(void) { test_killed(0); }

int main(void) {
    g_test_pid = getpid();
    char why[512];
    if (nodes_up(why, sizeof why)) {
        nodes_down();
        printf("two nodes in network namespaces: %s: skipped\n0 passed, 0 failed, %d skipped\n", why, CASES);
        return 77;
    }
    void (*const tests[CASES])(void) = {test_training, test_killed_b, test_killed_a, test_frozen, test_partition};
    for (int i = 0; i < CASES; i++)
        tests[i]();
    nodes_down();
    return th_finish();
}
