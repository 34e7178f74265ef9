/* The benchmark harness (bench/harness.h) that move_to_cuda's benchmark brought: the timing loop and
 * its statistics, the shared options, peers in other processes, and the CSV/JSON/Markdown writers. */
#define _POSIX_C_SOURCE 200809L
#include "harness.h"
#include "testhelper.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct counter {
    int runs, syncs, fail_at;
    double sleep_s;
} counter;

static int count_run(void *p) {
    counter *c = p;
    c->runs++;
    if (c->sleep_s > 0) {
        struct timespec ts = {0, (long)(c->sleep_s * 1e9)};
        nanosleep(&ts, NULL);
    }
    return c->fail_at && c->runs == c->fail_at ? 42 : 0;
}

static int count_sync(void *p) {
    ((counter *)p)->syncs++;
    return 0;
}

static void test_measure(void) {
    bench_config cfg = bench_config_default();
    CHECK("defaults", cfg.warmup == 3 && cfg.min_runs == 5 && cfg.min_time_s == 0.2);
    bench_stats st;
    counter c = {0};
    cfg.min_time_s = 0; /* only min_runs counts */
    CHECK("measure ok", bench_measure(&st, &cfg, count_run, count_sync, &c) == 0);
    CHECK("3 warm-up + 5 timed runs", c.runs == 8 && st.runs == 5);
    CHECK("a sync after every run", c.syncs == 8);
    CHECK("stats ordered", st.min_s <= st.median_s && st.median_s <= st.max_s && st.total_s >= st.max_s);

    c = (counter){.sleep_s = 0.002};
    cfg.min_time_s = 0.05;
    cfg.warmup = 1;
    double t0 = bench_now_s();
    CHECK("measure ok", bench_measure(&st, &cfg, count_run, NULL, &c) == 0);
    double took = bench_now_s() - t0;
    CHECK("runs until min_time: total >= 0.05 s", st.total_s >= 0.05 && took >= 0.05);
    CHECK("each run takes its 2 ms", st.min_s >= 0.002 && st.median_s < 0.05);
    CHECK("not far past min_time", took < 2.0);
    CHECK("one warm-up run", c.runs == st.runs + 1);

    c = (counter){.fail_at = 4};
    cfg = bench_config_default();
    CHECK("the run's error comes back", bench_measure(&st, &cfg, count_run, NULL, &c) == 42 && st.runs == 0);

    c = (counter){0};
    cfg.min_time_s = 10;
    cfg.max_runs = 7;
    cfg.warmup = 0; /* still one */
    CHECK("measure ok", bench_measure(&st, &cfg, count_run, NULL, &c) == 0);
    CHECK("max_runs caps, warm-up at least 1", st.runs == 7 && c.runs == 8);
}

static void test_stats(void) {
    double odd[5] = {5, 1, 4, 2, 3}, even[4] = {4, 1, 3, 2};
    bench_stats s;
    bench_stats_of(&s, odd, 5);
    CHECK("median of 5", s.median_s == 3 && s.min_s == 1 && s.max_s == 5 && s.runs == 5 && s.total_s == 15);
    CHECK("quartiles of 5, and the spread", s.p25_s == 2 && s.p75_s == 4 && bench_stats_iqr_pct(&s) == 2.0 / 3 * 100);
    bench_stats_of(&s, even, 4);
    CHECK("median of 4", s.median_s == 2.5 && s.mean_s == 2.5);
    CHECK("quartiles of 4, interpolated", s.p25_s == 1.75 && s.p75_s == 3.25);
    bench_stats rounds[3] = {{.median_s = 3, .min_s = 1, .max_s = 9, .runs = 10, .total_s = 30},
                             {.median_s = 1, .min_s = 0.5, .max_s = 2, .runs = 20, .total_s = 20},
                             {.median_s = 2, .min_s = 1, .max_s = 3, .runs = 10, .total_s = 20}};
    bench_stats_combine(&s, rounds, 3);
    CHECK("combined: median of medians, min of mins, max of maxes, runs summed",
          s.median_s == 2 && s.min_s == 0.5 && s.max_s == 9 && s.runs == 40 && s.total_s == 70);
}

/* One bench_args_next loop over BENCH_ARGS_OPTIONS and one option of its own (--device N), as a
 * benchmark's: 0, or the exit code bench_args_next, bench_usage_error or bench_args_check gave. */
static int parse(bench_args *a, int *device, int argc, char **argv) {
    static const struct option longs[] = {BENCH_ARGS_OPTIONS, {"device", required_argument, 0, 'd'}, {0, 0, 0, 0}};
    long long n = 0;
    bench_args_init(a, argv[0]);
    optind = 0; /* a fresh scan of a new argv */
    for (int c, rc = 0; (c = bench_args_next(a, argc, argv, longs, &rc)) != -1;) {
        if (rc)
            return rc;
        if (c != 'd')
            return bench_usage_error(c, argv);
        if (bench_whole(&n, "--device", optarg, 0, 7))
            return 2;
        *device = (int)n;
    }
    return bench_args_check(a, argc, argv);
}

static void test_args(void) {
    char *argv[] = {"/x/bench", "--csv", "a.csv", "--device", "1", "--min-time", "0.5", "--json", "b.json", "--warmup",
                    "2", "--md", "c.md", "--min-runs", "3", "--max-runs", "9", NULL};
    bench_args a;
    int device = -1;
    CHECK("parse", parse(&a, &device, 17, argv) == 0);
    CHECK("files", a.csv && strcmp(a.csv, "a.csv") == 0 && strcmp(a.json, "b.json") == 0 && strcmp(a.md, "c.md") == 0);
    CHECK("config", a.config.min_time_s == 0.5 && a.config.warmup == 2 && a.config.min_runs == 3 && a.config.max_runs == 9);
    CHECK("a timing option given is noted", a.timing_given == 1);
    char *files_only[] = {"/x/bench", "--csv", "a.csv", "--md", "c.md", NULL};
    CHECK("parse files only", parse(&a, &device, 5, files_only) == 0);
    CHECK("files alone are no timing option", a.timing_given == 0 && a.md && strcmp(a.md, "c.md") == 0);
    CHECK("the program's own option beside them", device == 1);
    CHECK("the program named by argv[0]'s last part", strcmp(bench_program(), "bench") == 0);
    char *none[] = {"bench", NULL};
    CHECK("no options: the defaults", parse(&a, &device, 1, none) == 0 && !a.csv && !a.json && !a.md &&
                                          a.config.min_time_s == bench_config_default().min_time_s);
    char *bad1[] = {"bench", "--min-time", "fast", NULL}, *bad2[] = {"bench", "--warmup", "-1", NULL},
         *bad3[] = {"bench", "--csv", NULL}, *bad4[] = {"bench", "--max-runs", "2", NULL},
         *bad5[] = {"bench", "--device", "8", NULL}, *bad6[] = {"bench", "--bogus", NULL}, *bad7[] = {"bench", "extra", NULL};
    fprintf(stderr, "(seven error messages expected next)\n");
    CHECK("bad time", parse(&a, &device, 3, bad1) == 2);
    CHECK("bad count", parse(&a, &device, 3, bad2) == 2);
    CHECK("missing value", parse(&a, &device, 2, bad3) == 2);
    CHECK("max-runs below min-runs", parse(&a, &device, 3, bad4) == 2);
    CHECK("the program's own option out of range", parse(&a, &device, 3, bad5) == 2);
    CHECK("an unknown option", parse(&a, &device, 2, bad6) == 2);
    CHECK("an argument left over", parse(&a, &device, 2, bad7) == 2);
    long long n = 0;
    CHECK("bench_whole: in range", bench_whole(&n, "--n", "16", 1, 16) == 0 && n == 16);
    CHECK("bench_whole: not a number, past the range", bench_whole(&n, "--n", "1x", 1, 16) == 2 && bench_whole(&n, "--n", "17", 1, 16) == 2 && n == 16);
    CHECK("help text names the options", strstr(bench_args_help, "--json FILE") && strstr(bench_args_help, "--min-time S"));
}

static void test_peers(void) {
    char banner[64], err[256];
    char *good[] = {"/bin/sh", "-c",
                    "echo 'a warning first'; echo 'ready fake 1.0'; while read cmd t; do "
                    "if [ \"$cmd\" = run ]; then echo '7 0.5 0.25 1.0'; else exit 0; fi; done",
                    NULL};
    bench_peer *p = bench_peer_start(good, 10, banner, sizeof banner, err, sizeof err);
    CHECK("peer starts", p != NULL);
    CHECK("banner after ready", strcmp(banner, "fake 1.0") == 0);
    bench_stats s;
    CHECK("peer runs", p && bench_peer_run(p, 0.1, &s, err, sizeof err) == 0);
    CHECK("peer stats", s.runs == 7 && s.median_s == 0.5 && s.min_s == 0.25 && s.max_s == 1.0);
    CHECK("again", p && bench_peer_run(p, 0.1, &s, err, sizeof err) == 0 && s.runs == 7);
    bench_peer_stop(p);
    bench_peer_stop(NULL);

    char *quiet[] = {"/bin/sh", "-c", "echo 'ImportError: no torch'; exit 3", NULL};
    p = bench_peer_start(quiet, 10, banner, sizeof banner, err, sizeof err);
    CHECK("no ready: NULL", p == NULL);
    CHECK("no ready: why, with its last line", strstr(err, "did not say \"ready\"") && strstr(err, "its last line: ImportError: no torch"));

    char *missing[] = {"/nonexistent/peer", NULL};
    p = bench_peer_start(missing, 10, banner, sizeof banner, err, sizeof err);
    CHECK("cannot start: NULL, says exec failed", p == NULL && strstr(err, "exec /nonexistent/peer"));

    char *slow[] = {"/bin/sh", "-c", "sleep 30", NULL};
    double t0 = bench_now_s();
    p = bench_peer_start(slow, 0.3, banner, sizeof banner, err, sizeof err);
    double took = bench_now_s() - t0;
    CHECK("a peer that hangs times out", p == NULL && took < 10 && strstr(err, "within 0.3 s") != NULL);

    char *garbage[] = {"/bin/sh", "-c", "echo ready; read x; echo 'what?'; read x", NULL};
    p = bench_peer_start(garbage, 10, banner, sizeof banner, err, sizeof err);
    CHECK("starts", p != NULL);
    CHECK("a bad answer is an error", p && bench_peer_run(p, 0.1, &s, err, sizeof err) != 0 &&
                                          strstr(err, "answered \"what?\""));
    bench_peer_stop(p);
}

static int file_has(const char *path, const char *text) {
    static char buf[65536];
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return strstr(buf, text) != NULL;
}

/* bench_run: the exit code, the output into a file, a program that runs too long, one that is not there. */
static void test_run(void) {
    char *code3[] = {"sh", "-c", "exit 3", NULL};
    CHECK("bench_run returns the exit code", bench_run(code3, NULL, 10) == 3);
    char path[] = "/tmp/ltc_bench_run_XXXXXX";
    int fd = mkstemp(path);
    CHECK("a scratch file", fd >= 0);
    if (fd >= 0)
        close(fd);
    char *echo[] = {"sh", "-c", "echo written", NULL}, text[32] = "";
    CHECK("bench_run with an output file: 0", bench_run(echo, path, 10) == 0);
    FILE *f = fopen(path, "r");
    CHECK("... the output is in the file", f && fgets(text, sizeof text, f) && strcmp(text, "written\n") == 0);
    if (f)
        fclose(f);
    unlink(path);
    char *slow[] = {"sleep", "30", NULL};
    double t0 = bench_now_s();
    int rc = bench_run(slow, NULL, 0.2);
    double took = bench_now_s() - t0;
    CHECK("a program past its time: -1, stopped by SIGTERM within a second", rc == -1 && took < 1.5);
    char *none[] = {"ltc-no-such-program", NULL};
    CHECK("a program that is not there: -1", bench_run(none, NULL, 10) == -1);
}

static void test_report(void) {
    char goals[] = "/tmp/ltc_harness_goals_XXXXXX";
    int fd = mkstemp(goals);
    FILE *gf = fd >= 0 ? fdopen(fd, "w") : NULL;
    CHECK("goals file", gf != NULL);
    if (!gf)
        return;
    fputs("# the test's goals\nselftest fast >= 2 x fast enough\nselftest small <= 2 x small enough\n"
          "selftest notrun >= 2 x not run\nother fast >= 9 - another benchmark's\n",
          gf);
    CHECK("goals written", fclose(gf) == 0);
    setenv("LTC_BENCH_GOALS", goals, 1);
    bench_config cfg = bench_config_default();
    bench_report *r = bench_report_new("selftest", "the harness testing itself", &cfg);
    CHECK("report", r != NULL);
    static const bench_col cols[] = {{"case", "case", "", -1, 12}, {"median_us", "median", "us", 2, 0}, {"runs", "runs", "", 0, 0}};
    bench_table *t = bench_report_table(r, "main", "main table", 3, cols);
    bench_table_add(t, (bench_cell[]){BENCH_TEXT("a, \"quoted\""), BENCH_NUM(1.5), BENCH_NUM(10)});
    bench_table_add(t, (bench_cell[]){BENCH_TEXT("b\\c"), BENCH_NONE, BENCH_NUM(3)});
    bench_table *t2 = bench_report_table(r, "extra", "second table", 1, cols);
    bench_table_add(t2, (bench_cell[]){BENCH_TEXT("x")});
    bench_report_note(r, "a note with %d", 7);
    bench_report_metric(r, "speed_GBps", 12.5, "GB/s", "speed");
    bench_report_goal(r, "fast", 3.0);
    bench_report_goal(r, "small", 3.0); /* "notrun" is never given a value: NOT MEASURED */
    char dir[] = "/tmp/ltc_harness_XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK("temp dir", 0);
        return;
    }
    char csv[128], csv2[128], json[128], md[128];
    snprintf(csv, sizeof csv, "%s/out.csv", dir);
    snprintf(csv2, sizeof csv2, "%s/out-extra.csv", dir);
    snprintf(json, sizeof json, "%s/out.json", dir);
    snprintf(md, sizeof md, "%s/out.md", dir);
    bench_args args = {.config = cfg, .csv = csv, .json = json, .md = md};
    CHECK("finish writes the files", bench_report_finish(r, &args) == 0);
    CHECK("csv header", file_has(csv, "case,median_us,runs\n"));
    CHECK("csv quoting, empty for not measured", file_has(csv, "\"a, \"\"quoted\"\"\",1.5,10\nb\\c,,3\n"));
    CHECK("second table to its own csv", file_has(csv2, "case\nx\n"));
    CHECK("json escaping", file_has(json, "\"case\": \"a, \\\"quoted\\\"\"") && file_has(json, "\"case\": \"b\\\\c\""));
    CHECK("json null for not measured", file_has(json, "\"median_us\": null"));
    CHECK("json context", file_has(json, "\"versions\": \"ltc ") && file_has(json, "\"git\": "));
    CHECK("json goals", file_has(json, "\"key\": \"fast\", \"goal\": \"fast enough\", \"value\": 3, \"target\": 2, "
                                       "\"unit\": \"x\", \"higher_is_better\": true, \"result\": \"PASS\"") &&
                            file_has(json, "\"result\": \"MISS\"") && file_has(json, "\"result\": \"NOT MEASURED\""));
    CHECK("json summary and notes", file_has(json, "\"key\": \"speed_GBps\", \"value\": 12.5") && file_has(json, "\"a note with 7\""));
    CHECK("markdown table", file_has(md, "| case | median (us) | runs |\n| --- | ---: | ---: |\n"));
    CHECK("markdown goal", file_has(md, "- goal fast enough: **PASS**"));
    remove(csv), remove(csv2), remove(json), remove(md), remove(dir);

    args.json = "/nonexistent-dir/x.json";
    args.csv = args.md = NULL;
    r = bench_report_new("selftest", "unwritable", &cfg);
    fprintf(stderr, "(one error message expected next)\n");
    CHECK("an unwritable file is reported", bench_report_finish(r, &args) == 1);

    args.json = "/dev/full"; /* a full disk shows at the flush or the close */
    r = bench_report_new("selftest", "full disk", &cfg);
    fprintf(stderr, "(one error message expected next)\n");
    CHECK("a full disk is reported", bench_report_finish(r, &args) == 1);

    args.json = NULL;
    r = bench_report_new("selftest", "a goal the file lacks", &cfg);
    fprintf(stderr, "(one error message expected next)\n");
    bench_report_goal(r, "no such goal", 1.0);
    CHECK("a goal not in the goals file is reported", bench_report_finish(r, &args) == 1);
    remove(goals);
}

int main(void) {
    test_measure();
    test_stats();
    test_args();
    test_peers();
    test_run();
    test_report();
    return th_finish();
}
