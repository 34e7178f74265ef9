/* The cross-rank check with real CPU ranks on 127.0.0.1: check_cuda --nproc 2 (text and JSON), under
 * torchrun, ranks started by hand with a fake driver on one of them, two ranks on one GPU, a rank that
 * never joins; and the API itself (ltc_cluster_check, ltc_cluster_allreduce_proof on the CPU through the
 * store, with its bandwidth sweep; a rank that never comes to the proof). Every case runs on every machine:
 * the check_cuda cases want a machine without an NVIDIA GPU or driver, and this program makes one of any
 * machine (see become_machine_without_gpu); test_cluster_check_gpu is the GPU machine's half.
 *
 * This program is also its own rank: with LTC_TEST_CLUSTER_ROLE set it runs one rank of the API cases.
 * CHECK_CUDA_EXE, FAKE_CUDA_DIR, NO_DRIVER_DIR, the sysroots and (when found) TORCH_PYTHON come from CMake. */
#define _DEFAULT_SOURCE /* mkstemp, setenv, usleep */
#include "net_helper.h"
#include "proc_helper.h"

#include "fuzz/json_check.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static char out[1 << 20];

static int is_launcher_variable(const char *e) {
    static const char *const names[] = {"RANK=", "WORLD_SIZE=", "LOCAL_RANK=", "MASTER_ADDR=", "MASTER_PORT=",
                                        "SLURM_PROCID=", "SLURM_NTASKS=", "OMPI_COMM_WORLD_RANK=",
                                        "OMPI_COMM_WORLD_SIZE=", "LTC_LAUNCH_LOCAL=", "LTC_TEST_CLUSTER_ROLE=",
                                        "CUDA_VISIBLE_DEVICES="};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strncmp(e, names[i], strlen(names[i])) == 0)
            return 1;
    return strncmp(e, "TORCHELASTIC_", 13) == 0;
}

/* Whether one of `extra`'s "NAME=value" sets the variable of e. */
static int set_in(const char *e, const char *const *extra) {
    size_t n = strcspn(e, "=");
    for (const char *const *x = extra; x && *x; x++)
        if (strncmp(*x, e, n + 1) == 0)
            return 1;
    return 0;
}

/* Starts exe with args and this environment (launcher variables and those that `extra` sets removed) plus
 * `extra` (NULL-terminated "NAME=value"; the first of a name wins), stdout and stderr into the file
 * out_path (NULL: /dev/null). Returns the pid, or -1. */
static pid_t start(const char *exe, const char *const *args, const char *const *extra, const char *out_path) {
    const char *argv[32];
    int n = 0;
    argv[n++] = exe;
    for (const char *const *a = args; a && *a && n < 30; a++)
        argv[n++] = *a;
    argv[n] = NULL;
    const char *envp[512];
    int k = 0;
    for (char **e = environ; *e && k < 480; e++)
        if (!is_launcher_variable(*e) && !set_in(*e, extra))
            envp[k++] = *e;
    for (const char *const *e = extra; e && *e && k < 510; e++)
        envp[k++] = *e;
    envp[k] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    const char *path = out_path ? out_path : "/dev/null";
    posix_spawn_file_actions_addopen(&fa, 1, path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid = -1;
    int err = posix_spawn(&pid, exe, &fa, NULL, (char *const *)argv, (char *const *)envp);
    posix_spawn_file_actions_destroy(&fa);
    return err == 0 ? pid : -1;
}

/* Waits for pid at most limit_s seconds (then kills it); its exit code, or -1. */
static int finish(pid_t pid, double limit_s) {
    double t0 = ph_now_s();
    int st = 0;
    while (pid > 0) {
        pid_t got = waitpid(pid, &st, WNOHANG);
        if (got == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (got < 0)
            return -1;
        if (ph_now_s() - t0 > limit_s) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        usleep(20000);
    }
    return -1;
}

static void slurp(const char *path) {
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    fclose(f);
}

static char tmp_path[64];
static const char *tmp(void) {
    snprintf(tmp_path, sizeof tmp_path, "/tmp/ltc_cluster_XXXXXX");
    int fd = mkstemp(tmp_path);
    if (fd >= 0)
        close(fd);
    return tmp_path;
}

/* The JSON document in out (from its first '{' at the start of a line to the first "}" line after it,
 * as check_cuda prints it; a launcher may print more around it): valid? */
static int json_ok(const char *s) {
    const char *j = s[0] == '{' ? s : strstr(s, "\n{");
    if (!j)
        return 0;
    j += j[0] == '\n';
    const char *end = strstr(j, "\n}\n");
    size_t n = end ? (size_t)(end - j) + 2 : strlen(j);
    return json_check(j, n, NULL, NULL) == -1;
}

/* Runs exe with args (and extra in its environment) for at most limit_s seconds; its exit code, its
 * output in out. */
static int run_exe(const char *exe, const char *const *args, const char *const *extra, double limit_s) {
    const char *path = tmp();
    char keep[64];
    snprintf(keep, sizeof keep, "%s", path);
    int code = finish(start(exe, args, extra, keep), limit_s);
    slurp(keep);
    unlink(keep);
    return code;
}

/* Runs check_cuda with args (through its own --nproc, or alone) and returns its exit code; output in out. */
static int check_cuda(const char *const *args, const char *const *extra, double limit_s) {
    return run_exe(CHECK_CUDA_EXE, args, extra, limit_s);
}

#define EXPECT_TEXT(name, text)                                                                 \
    do {                                                                                        \
        int ok_ = strstr(out, (text)) != NULL;                                                  \
        th_report(ok_, __FILE__, __LINE__, (name), "output contains: " text);                   \
        if (!ok_)                                                                               \
            fprintf(stderr, "  output:\n%.6000s\n", out);                                       \
    } while (0)

#ifndef CLUSTER_GPU
static void expect_text(const char *name, const char *text) {
    int ok = strstr(out, text) != NULL;
    char detail[600];
    snprintf(detail, sizeof detail, "output contains: %s", text);
    th_report(ok, __FILE__, __LINE__, name, detail);
    if (!ok)
        fprintf(stderr, "  output:\n%.6000s\n", out);
}

/* The cause on this (GPU-less) machine, as one process sees it: every CPU rank here must report the same. */
static char real_cause[64], real_summary[160], real_fix[40];
static int real_code;

static void find_real_cause(void) {
    ltc_diagnosis *d = NULL;
    if (ltc_diagnose(&d, LTC_DIAGNOSE_QUICK) != LTC_OK) {
        fprintf(stderr, "ltc_diagnose failed: %s\n", ltc_last_error());
        exit(1);
    }
    ltc_cause c = ltc_diagnosis_cause(d);
    snprintf(real_cause, sizeof real_cause, "%s", ltc_cause_name(c));
    snprintf(real_summary, sizeof real_summary, "%s [%s]", ltc_cause_summary(c), ltc_cause_name(c));
    snprintf(real_fix, sizeof real_fix, "%s", ltc_diagnosis_fix(d)); /* its start */
    ltc_diagnosis_free(d);
    const char *args[] = {"--quick", NULL};
    real_code = check_cuda(args, NULL, 60);
    printf("the cause here (no NVIDIA GPU, no driver): %s, check_cuda exits %d\n", real_cause, real_code);
}

/* ---- check_cuda, as a user runs it ---------------------------------------------------------------- */

static void test_nproc_json(void) {
    const char *args[] = {"--nproc", "2", "--quick", "--json", "--timeout", "30", NULL};
    int code = check_cuda(args, NULL, 120);
    char want[256];
    CHECK("--nproc 2 --json: exit as check_cuda alone (the same cause on both ranks)", code == real_code);
    CHECK("--nproc 2 --json: the document parses", json_ok(out));
    EXPECT_TEXT("--nproc 2 --json: both ranks", "\"world_size\": 2");
    EXPECT_TEXT("--nproc 2 --json: launched locally", "\"launcher\": \"ltc_launch_local\"");
    EXPECT_TEXT("--nproc 2 --json: not ready", "\"ready\": false");
    EXPECT_TEXT("--nproc 2 --json: both failing", "\"failing_ranks\": [0, 1]");
    EXPECT_TEXT("--nproc 2 --json: rank 1's row", "\"rank\": 1,\n      \"local_rank\": 1,");
    snprintf(want, sizeof want, "\"cause\": \"%s\"", real_cause);
    expect_text("--nproc 2 --json: the real cause", want);
    snprintf(want, sizeof want, "\"what\": \"%s\"", real_summary);
    const char *f = strstr(out, want);
    CHECK("--nproc 2 --json: one finding for the one cause", f && !strstr(f + 1, want));
}

static void test_nproc_text(void) {
    const char *args[] = {"--nproc", "2", NULL};
    int code = check_cuda(args, NULL, 120);
    char want[256];
    CHECK("--nproc 2: exit as check_cuda alone", code == real_code);
    EXPECT_TEXT("--nproc 2: the verdict first", "NOT READY: 2 of 2 ranks cannot train: ranks 0 and 1 on ");
    snprintf(want, sizeof want, "- %s: ranks 0 and 1 on ", real_summary);
    expect_text("--nproc 2: the cause and its ranks", want);
    snprintf(want, sizeof want, "    fix: %s", real_fix);
    expect_text("--nproc 2: the fix", want);
    EXPECT_TEXT("--nproc 2: the table", "host");
    EXPECT_TEXT("--nproc 2: the table's columns", "rank local GPU UUID driver LibTorch verdict");
    snprintf(want, sizeof want, "gpu unusable %s", real_cause);
    expect_text("--nproc 2: a row", want);
    const char *first = strstr(out, "NOT READY");
    CHECK("--nproc 2: printed once (rank 0 only)", first && !strstr(first + 1, "NOT READY"));
    CHECK("--nproc 2: no proof without usable GPUs", strstr(out, "all-reduce proof") == NULL);
}

static void test_bad_options(void) {
    const char *a1[] = {"--nproc", "0", NULL};
    CHECK("--nproc 0: exit 2", check_cuda(a1, NULL, 30) == 2);
    EXPECT_TEXT("--nproc 0: says why", "--nproc 0 is not valid");
    const char *a2[] = {"--timeout", "-1", NULL};
    CHECK("--timeout -1: exit 2", check_cuda(a2, NULL, 30) == 2);
    EXPECT_TEXT("--timeout -1: says why", "--timeout -1 is not valid");
}

/* Ranks started by hand, as a launcher would: rank_env[r] are rank r's own extra variables. */
static int by_hand(int world, int started, const char *const *args, const char *const rank_env[][6], double limit_s,
                   double *took) {
    int port = local_port(0, NULL);
    char vars[8][5][64];
    pid_t pids[8];
    const char *paths[8];
    char names[8][64];
    double t0 = ph_now_s();
    for (int r = 0; r < started; r++) {
        snprintf(vars[r][0], 64, "RANK=%d", r);
        snprintf(vars[r][1], 64, "WORLD_SIZE=%d", world);
        snprintf(vars[r][2], 64, "MASTER_ADDR=127.0.0.1");
        snprintf(vars[r][3], 64, "MASTER_PORT=%d", port);
        snprintf(vars[r][4], 64, "LOCAL_RANK=%d", r);
        const char *extra[16];
        int k = 0;
        for (int v = 0; rank_env && v < 6 && rank_env[r][v]; v++) /* first: they win over the launcher's */
            extra[k++] = rank_env[r][v];
        for (int v = 0; v < 5; v++)
            extra[k++] = vars[r][v];
        extra[k] = NULL;
        snprintf(names[r], sizeof names[r], "%s", tmp());
        paths[r] = names[r];
        pids[r] = start(CHECK_CUDA_EXE, args, extra, paths[r]);
    }
    int code0 = -1;
    for (int r = 0; r < started; r++) {
        int c = finish(pids[r], limit_s);
        if (r == 0)
            code0 = c;
    }
    *took = ph_now_s() - t0;
    slurp(paths[0]);
    for (int r = 0; r < started; r++)
        unlink(paths[r]);
    return code0;
}

static void test_fake_driver_on_one_rank(void) {
    char ld[4200]; /* the fake driver first, before the unloadable one */
    snprintf(ld, sizeof ld, "LD_LIBRARY_PATH=%s%s%s", FAKE_CUDA_DIR, getenv("LD_LIBRARY_PATH") ? ":" : "",
             getenv("LD_LIBRARY_PATH") ? getenv("LD_LIBRARY_PATH") : "");
    const char *const env[2][6] = {{NULL}, {ld, "LTC_FAKE_DRIVER_VERSION=12040", "LTC_DIAGNOSE_SYSROOT=" FAKE_SYSROOT, NULL}};
    const char *args[] = {"--quick", "--json", "--timeout", "30", NULL};
    double took = 0;
    int code = by_hand(2, 2, args, env, 120, &took);
    CHECK("fake driver on rank 1: the worst code (6 for the driver, or rank 0's)", code == (real_code > 6 ? real_code : 6));
    CHECK("fake driver on rank 1: the document parses", json_ok(out));
    EXPECT_TEXT("fake driver on rank 1: named, and only it", "\"what\": \"NVIDIA driver too old [LTC_CAUSE_DRIVER_TOO_OLD]\"");
    const char *f = strstr(out, "[LTC_CAUSE_DRIVER_TOO_OLD]\"");
    CHECK("fake driver on rank 1: that finding lists rank 1 only", f && strstr(f, "\"ranks\": [1]") &&
                                                                       strstr(f, "\"ranks\": [1]") < strstr(f, "}"));
    const char *r0 = strstr(out, "\"rank\": 0,\n"), *r1 = strstr(out, "\"rank\": 1,\n");
    char want[128];
    snprintf(want, sizeof want, "\"cause\": \"%s\"", real_cause);
    CHECK("fake driver on rank 1: rank 0 keeps its own cause", r0 && r1 && strstr(r0, want) && strstr(r0, want) < r1);
    CHECK("fake driver on rank 1: rank 1's cause", r1 && strstr(r1, "\"cause\": \"LTC_CAUSE_DRIVER_TOO_OLD\""));
    CHECK("fake driver on rank 1: its driver version", r1 && strstr(r1, "\"driver_version\": 12040"));
    EXPECT_TEXT("fake driver on rank 1: the drivers differ (a warning)", "\"severity\": \"warning\", \"what\": \"driver versions differ across ranks\"");
}

static void test_shared_gpu(void) {
    char ld[4200];
    snprintf(ld, sizeof ld, "LD_LIBRARY_PATH=%s%s%s", FAKE_CUDA_DIR, getenv("LD_LIBRARY_PATH") ? ":" : "",
             getenv("LD_LIBRARY_PATH") ? getenv("LD_LIBRARY_PATH") : "");
    /* LOCAL_RANK=0 on both (rank_env comes first in the environment, so it wins over LOCAL_RANK=r) */
    const char *const env[2][6] = {{ld, "LOCAL_RANK=0", "LTC_DIAGNOSE_SYSROOT=" FAKE_SYSROOT, NULL},
                                   {ld, "LOCAL_RANK=0", "LTC_DIAGNOSE_SYSROOT=" FAKE_SYSROOT, NULL}};
    const char *args[] = {"--quick", "--timeout", "30", NULL};
    double took = 0;
    int code = by_hand(2, 2, args, env, 120, &took);
    CHECK("two ranks on one GPU: fails", code != 0 && code != -1);
    EXPECT_TEXT("two ranks on one GPU: named", "- ranks share a GPU: ranks 0 and 1 on ");
    EXPECT_TEXT("two ranks on one GPU: which GPU", "ranks 0 and 1 use one GPU, GPU-00000000-0000-0000-0000-000000000000");
}

static void test_rank_never_joins(void) {
    const char *args[] = {"--quick", "--timeout", "3", NULL};
    double took = 0;
    int code = by_hand(2, 1, args, NULL, 60, &took);
    CHECK("a rank never joins: exit 12", code == 12);
    CHECK("a rank never joins: within the timeout", took < 3 + 10);
    /* rank 0 fails too where there is no GPU */
    CHECK("a rank never joins: the verdict names it", strncmp(out, "NOT READY: 1 of 2 ranks cannot train: rank 1", 44) == 0 ||
                                                          strncmp(out, "NOT READY: 2 of 2 ranks cannot train: ranks 0 and 1 on", 54) == 0);
    EXPECT_TEXT("a rank never joins: its own block", "- did not join: rank 1\n");
    EXPECT_TEXT("a rank never joins: why", "rank 1 did not reach the store at 127.0.0.1:");
    EXPECT_TEXT("a rank never joins: its row", "did not join");
}

/* Rank 1 dies (SIGABRT) before it reports: ltc_launch_local notes it in the store, and rank 0 names it
 * at once instead of waiting out the timeout. */
static void test_rank_dies(void) {
    const char *args[] = {"--nproc", "2", "--quick", "--timeout", "40", NULL};
    const char *extra[] = {"LD_PRELOAD=" TEST_SEAMS " " DIE_PRELOAD, "LTC_TEST_DIE_RANK=1", NULL};
    double t0 = ph_now_s();
    int code = check_cuda(args, extra, 120);
    double took = ph_now_s() - t0;
    CHECK("a rank dies: fails", code != 0 && code != -1);
    CHECK("a rank dies: named well within the timeout", took < 20);
    EXPECT_TEXT("a rank dies: how it ended", "rank 1's process ended (signal 6) before it reported");
    EXPECT_TEXT("a rank dies: its own block", "- no report: rank 1");
}

static void test_torchrun(void) {
    if (!ph_torch_python_has("torchrun", "torch.distributed.run"))
        return;
#ifdef TORCH_PYTHON
    const char *args[] = {"-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "--no-python",
                          CHECK_CUDA_EXE, "--quick", "--json", "--timeout", "30", NULL};
    int code = run_exe(TORCH_PYTHON, args, NULL, 120);
    CHECK("torchrun: fails (its ranks have no GPU)", code != 0 && code != -1);
    EXPECT_TEXT("torchrun: the launcher", "\"launcher\": \"torchrun\"");
    EXPECT_TEXT("torchrun: both ranks", "\"world_size\": 2");
    char want[128];
    snprintf(want, sizeof want, "\"cause\": \"%s\"", real_cause);
    expect_text("torchrun: the real cause", want);
    CHECK("torchrun: the document parses", json_ok(out));
#endif
}

/* ---- the API, with this program as the ranks ------------------------------------------------------ */

/* JSON text without the indentation of its lines and without its "seconds" lines (a run's own time), into
 * a new string (the caller frees it). */
static char *flush_left(const char *json) {
    char *o = malloc(strlen(json) + 1), *w = o;
    if (!o)
        return NULL;
    for (const char *line = json; *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) + 1 : strlen(line);
        const char *text = line + strspn(line, " ");
        size_t k = n - (size_t)(text - line);
        if (strncmp(text, "\"seconds\": ", 11) != 0) {
            memcpy(w, text, k);
            w += k;
        }
        line += n;
    }
    *w = '\0';
    return o;
}

/* The report a rank sent, read back by the check's reader and written by the diagnosis's renderer, is the
 * rank's own report: its diagnosis (this process's, made again now) appears in the check's JSON unchanged
 * but for the indentation and the time it took. 0 when so. */
static int report_survives_the_trip(const ltc_cluster_report *r) {
    ltc_diagnosis *d = NULL;
    if (ltc_diagnose(&d, LTC_DIAGNOSE_QUICK) != LTC_OK)
        return 1;
    char *own = flush_left(ltc_diagnosis_json(d)), *all = flush_left(ltc_cluster_report_json(r));
    ltc_diagnosis_free(d);
    int bad = !own || !all;
    if (!bad) {
        /* its members, between the braces of its own document: "{\n" ... "}\n" */
        size_t n = strlen(own);
        bad = n < 4 || strncmp(own, "{\n", 2) != 0;
        if (!bad) {
            own[n - 2] = '\0';
            bad = strstr(all, own + 2) == NULL;
        }
        if (bad)
            fprintf(stderr, "this rank's report is not in the check's JSON as it wrote it:\n%s\n--- the check's JSON:\n%.20000s\n", own, all);
    }
    free(own);
    free(all);
    return bad;
}

/* One rank of an API case; its exit code says what it saw (0: as expected). */
static int rank_main(const char *role) {
    ltc_dist_env env;
    if (ltc_dist_env_from(&env, NULL) != LTC_OK) {
        fprintf(stderr, "env: %s\n", ltc_last_error());
        return 20;
    }
    ltc_cluster_report *r = NULL;
    if (ltc_cluster_check(&r, &env, LTC_DIAGNOSE_QUICK, 20) != LTC_OK) {
        fprintf(stderr, "check: %s\n", ltc_last_error());
        return 21;
    }
    int bad = 0;
    ltc_cluster_rank row;
    bad |= ltc_cluster_report_rank_count(r) != env.world_size;
    bad |= ltc_cluster_report_rank(&row, r, 1) != LTC_OK || row.rank != 1 || row.local_rank != 1;
    bad |= ltc_cluster_report_rank(&row, r, 2) != LTC_ERR_INVALID_ARGUMENT || !strstr(ltc_last_error(), "rank 2 is not valid");
    bad |= ltc_cluster_report_sweep_count(r) != 0;
    if (bad) {
        fprintf(stderr, "rows: wrong (%s)\n", ltc_last_error());
        return 22;
    }
    if (report_survives_the_trip(r))
        return 23;
    if (strcmp(role, "skip") == 0 && env.rank == 1) { /* never comes to the proof */
        ltc_cluster_report_free(r);
        return 0;
    }
    double t0 = ph_now_s();
    ltc_device cpu = {LTC_DEVICE_CPU, 0};
    ltc_status st = ltc_cluster_allreduce_proof(r, cpu, 4096, strcmp(role, "skip") == 0 ? 3 : 20);
    double took = ph_now_s() - t0;
    if (env.rank == 0)
        printf("%s\n%s\nproof: %s (%.1f s): %s\n", ltc_cluster_report_text(r), ltc_cluster_report_json(r),
               ltc_status_string(st), took, ltc_last_error());
    int code = 0;
    if (strcmp(role, "proof") == 0) {
        ltc_cluster_bandwidth b;
        code = st != LTC_OK ? 30
             : ltc_cluster_report_sweep_count(r) != 10 ? 31
             : ltc_cluster_report_sweep(&b, r, 9) != LTC_OK || b.bytes != 4096 || !(b.time_us > 0) ? 32
             : !(b.busbw_gbps > 0.999 * b.algbw_gbps && b.busbw_gbps < 1.001 * b.algbw_gbps) ? 33 /* 2(n-1)/n = 1 */
             : ltc_cluster_allreduce_proof(r, cpu, 64, 5) != LTC_ERR_INVALID_ARGUMENT ? 34 /* once per report */
             : 0;
    } else if (env.rank == 0) { /* skip: rank 1 named within the timeout */
        ltc_cluster_report_rank(&row, r, 1);
        code = st != LTC_ERR_TIMEOUT ? 40
             : !strstr(ltc_last_error(), "rank 1 did not come to the all-reduce proof") ? 41
             : !strstr(ltc_cluster_report_json(r), "\"what\": \"the all-reduce proof failed\"") ? 42
             : took > 3 + 5 ? 43
             : ltc_cluster_report_ready(r) ? 44
             : 0;
    }
    ltc_cluster_report_free(r);
    return code;
}

static void api_case(const char *role) {
    int port = local_port(0, NULL);
    char vars[2][6][64];
    pid_t pids[2];
    char paths[2][64];
    for (int r = 0; r < 2; r++) {
        snprintf(vars[r][0], 64, "RANK=%d", r);
        snprintf(vars[r][1], 64, "WORLD_SIZE=2");
        snprintf(vars[r][2], 64, "MASTER_ADDR=127.0.0.1");
        snprintf(vars[r][3], 64, "MASTER_PORT=%d", port);
        snprintf(vars[r][4], 64, "LTC_TEST_CLUSTER_ROLE=%s", role);
        snprintf(vars[r][5], 64, "OMP_NUM_THREADS=1");
        const char *extra[] = {vars[r][0], vars[r][1], vars[r][2], vars[r][3], vars[r][4], vars[r][5], NULL};
        snprintf(paths[r], sizeof paths[r], "%s", tmp());
        pids[r] = start("/proc/self/exe", NULL, extra, paths[r]);
    }
    int codes[2];
    for (int r = 0; r < 2; r++)
        codes[r] = finish(pids[r], 90);
    char name[128];
    for (int r = 0; r < 2; r++) {
        snprintf(name, sizeof name, "API case '%s': rank %d exits 0", role, r);
        slurp(paths[r]);
        th_report(codes[r] == 0, __FILE__, __LINE__, name, "see its output");
        if (codes[r] != 0)
            fprintf(stderr, "  rank %d exit %d, output:\n%.6000s\n", r, codes[r], out);
        if (r == 0 && strcmp(role, "proof") == 0) {
            EXPECT_TEXT("proof: recorded in the text", "all-reduce proof (store, 2 ranks, 4 KiB float32 checked): ok");
            EXPECT_TEXT("proof: the sweep's header", "all-reduce bandwidth over 2 ranks");
            EXPECT_TEXT("proof: the sweep in JSON", "{\"bytes\": 4096, \"time_us\": ");
        }
        unlink(paths[r]);
    }
}

#else
/* ---- on a GPU machine (test_cluster_check_gpu): the proof through NCCL, with the sweep ------------------ */

static void gpu_case(int nproc) {
    char n[16], name[128];
    snprintf(n, sizeof n, "%d", nproc);
    const char *args[] = {"--nproc", n, "--json", "--timeout", "60", NULL};
    int code = check_cuda(args, NULL, 300);
    snprintf(name, sizeof name, "--nproc %d on GPUs: exit 0, ready", nproc);
    th_report(code == 0 && strstr(out, "\"ready\": true"), __FILE__, __LINE__, name, "exit 0 and \"ready\": true");
    if (code != 0)
        fprintf(stderr, "  exit %d, output:\n%.8000s\n", code, out);
    CHECK("GPU: the document parses", json_ok(out));
    EXPECT_TEXT("GPU: the proof ran over NCCL", "{\"ok\": true, \"backend\": \"nccl\"");
    EXPECT_TEXT("GPU: the sweep starts at 8 B", "{\"bytes\": 8, \"time_us\": ");
    EXPECT_TEXT("GPU: the sweep ends at 256 MiB", "{\"bytes\": 268435456, \"time_us\": ");
    EXPECT_TEXT("GPU: a UUID in the rows", "\"uuid\": \"GPU-");
}

int main(void) {
    th_require_gpu();
    gpu_case(1);
    if (th_need_gpus("check_cuda --nproc 2 on GPUs (NCCL proof and sweep)", 2))
        gpu_case(2);
    return th_finish();
}
#endif

#ifndef CLUSTER_GPU
/* The check_cuda cases expect every CPU rank to fail alike, with the cause of a machine that has no NVIDIA
 * GPU. Any machine becomes one, as check_cuda's NO_DRIVER cases make it: files named like the driver's
 * libraries but holding none, first on LD_LIBRARY_PATH (no driver loads, also where one is installed), and
 * the prepared tree of a machine without an NVIDIA GPU on its PCI bus (LTC_DIAGNOSE_SYSROOT). This program
 * runs itself again with both, so that its own ltc_diagnose and every rank it starts see that machine. */
static void become_machine_without_gpu(char **argv) {
    const char *root = getenv("LTC_DIAGNOSE_SYSROOT");
    if (root && strcmp(root, NO_GPU_SYSROOT) == 0)
        return;
    const char *old = getenv("LD_LIBRARY_PATH");
    char ld[4200];
    snprintf(ld, sizeof ld, "%s%s%s", NO_DRIVER_DIR, old && *old ? ":" : "", old ? old : "");
    if (setenv("LD_LIBRARY_PATH", ld, 1) != 0 || setenv("LTC_DIAGNOSE_SYSROOT", NO_GPU_SYSROOT, 1) != 0) {
        perror("setenv");
        exit(1);
    }
    execv("/proc/self/exe", argv);
    perror("execv /proc/self/exe");
    exit(1);
}

int main(int argc, char **argv) {
    (void)argc;
    const char *role = getenv("LTC_TEST_CLUSTER_ROLE");
    if (role)
        return rank_main(role);
    become_machine_without_gpu(argv);
    printf("as a machine without an NVIDIA GPU or driver: LTC_DIAGNOSE_SYSROOT=%s, %s first on LD_LIBRARY_PATH\n",
           NO_GPU_SYSROOT, NO_DRIVER_DIR);
    api_case("proof");
    api_case("skip");
    test_bad_options();
    test_rank_never_joins();
    find_real_cause();
    test_nproc_json();
    test_nproc_text();
    test_fake_driver_on_one_rank();
    test_shared_gpu();
    test_rank_dies();
    test_torchrun();
    return th_finish();
}
#endif
