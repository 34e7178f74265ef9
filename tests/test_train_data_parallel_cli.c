/* Runs the train_data_parallel example as a user would and checks its exit code and output. Built twice:
 * as test_train_data_parallel_cli (any machine: usage errors, launcher variables, CPU training with 1 and 2
 * ranks, the unreachable store, a busy port, Ctrl-C through --nproc) and, with TRAIN_DP_GPU defined, as
 * test_train_data_parallel_cli_gpu (exits 77 without a GPU): ddp on cuda:0, dp, and --graph each converge,
 * and --graph lands on the same weights as eager; with 2 GPUs, --nproc 2 (one process per GPU) too, else
 * that case is counted skipped. TRAIN_DP_EXE is the program's path. */
#define _DEFAULT_SOURCE /* popen, kill, clock_gettime */
#include "net_helper.h"
#include "train_dp_run.h"

#include <math.h>

static void expect(const char *args, int want_rc, const char *want_text) { dp_expect("", args, want_rc, want_text); }

/* max |W - W*| from the result line of the last run, or -1. */
static double distance(void) {
    const char *r = strstr(out, "max |W - W*| = ");
    return r ? atof(r + strlen("max |W - W*| = ")) : -1;
}

/* --hidden 16 --nproc 2 (the MLP Linear(100, 16)-ReLU-Linear(16, 10), two ranks, on `device`): it learns
 * (the last logged loss far below the first, and PASS on held-out samples), and the ranks hold identical
 * parameters at every logged step, the last included (the replica check compares them bit for bit). */
static void check_mlp_two_ranks(const char *device) {
    char args[160];
    snprintf(args, sizeof args, "%s --nproc 2 --hidden 16 --steps 300 --log-every 50", device);
    expect(args, 0, "ddp, 2 ranks (launcher: ltc_launch_local)");
    CHECK("the MLP, named", strstr(out, "model MLP 100-16-10") != NULL);
    const char *first = strstr(out, "step     0  loss "), *last = strstr(out, "step   299  loss ");
    double l0 = first ? atof(first + 17) : -1, l1 = last ? atof(last + 17) : -1;
    printf("%s: MLP 100-16-10 over 2 ranks: loss %.4e at step 0, %.4e at step 299\n", device, l0, l1);
    CHECK("the MLP learns over 2 ranks: the loss falls well below its start", l0 > 0 && l1 >= 0 && l1 < l0 / 50);
    int logged = 0, identical = 0;
    for (const char *p = strstr(out, "step "); p; p = strstr(p + 1, "step ")) {
        char line[128];
        snprintf(line, sizeof line, "%.*s", (int)strcspn(p, "\n"), p);
        if (strncmp(line + 10, "  loss ", 7) != 0)
            continue;
        logged++;
        identical += strstr(line, "replicas identical") != NULL;
    }
    CHECK("both ranks hold identical parameters at every logged step (7), the last included", logged == 7 &&
                                                                                               identical == 7);
    CHECK("the MLP passes on held-out samples", strstr(out, "result: PASS: held-out loss ") != NULL);
}

#ifndef TRAIN_DP_GPU

static void test_usage(void) {
    expect("--help", 0, "Exit codes: 0 trained, weights within 0.01 of W and b; 1 an error (message on stderr), or output that");
    CHECK("exit code 2 covers a set-up that cannot work, not restarted", strstr(out, "2 bad usage, a bad launcher variable, or a set-up that cannot work") &&
                                                                            strstr(out, "a restart repeats it, so none is made"));
    expect("--help", 0, "--batch N        global batch, 1 to 2^30, split evenly over the ranks (default 256)");
    expect("--help", 0, "Launcher variables: WORLD_SIZE (and its Slurm and Open MPI forms) 1 to 2^24");
    expect("-h", 0, "torchrun --no-python --nproc-per-node N train_data_parallel");
    expect("--bogus", 2, "error: unknown option \"--bogus\" (try --help)");
    expect("stray", 2, "error: unknown option \"stray\" (try --help)");
    expect("--check /nonexistent-dir/x.pt", 2, "error: unknown option \"--check\" (try --help)"); /* two options begin so */
    expect("-x", 2, "error: unknown option \"-x\" (try --help)");
    expect("--hidden 0", 2, "error: --hidden 0 is not valid: use 1 to 65536 (try --help)");
    expect("--hidden=70000", 2, "error: --hidden 70000 is not valid: use 1 to 65536 (try --help)");
    expect("--steps", 2, "error: option --steps needs a value (try --help)");
    /* every bad value names the option, the value and the range --help gives it */
    static const char *const bad[][2] = {
        {"--steps 0", "use 1 to 2^30"},           {"--steps ten", "use 1 to 2^30"},
        {"--steps 1073741825", "use 1 to 2^30"},  {"--steps 99999999999999999999", "use 1 to 2^30"},
        {"--batch -4", "use 1 to 2^30"},          {"--nproc 0", "use 1 to 2^30"},
        {"--log-every 0", "use 1 to 2^30"},       {"--checkpoint-every 0", "use 1 to 2^30"},
        {"--lr 0", "use a finite number above 0"}, {"--lr nan", "use a finite number above 0"},
        {"--lr inf", "use a finite number above 0"}, {"--momentum 1", "use 0 to below 1"},
        {"--momentum -0.1", "use 0 to below 1"},  {"--timeout -1", "use above 0 to 1e7"},
        {"--timeout 1e999", "use above 0 to 1e7"}, {"--timeout 0", "use above 0 to 1e7"},
        {"--port 70000", "use 0 to 65535"},       {"--max-restarts 1001", "use 0 to 1000"},
        {"--seed -1", "use 0 to 2^31-1"},         {"--seed 2147483648", "use 0 to 2^31-1"},
        {"--mode ring", "use ddp or dp"},         {"--device gpu", "use cpu, cuda or cuda:N"},
        {"--device cuda:x", "use cpu, cuda or cuda:N"}, {"--checkpoint ''", "give a file name"},
    };
    static char help[sizeof out];
    dp_expect("", "--help", 0, "usage: train_data_parallel");
    snprintf(help, sizeof help, "%s", out);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char want[200], opt[64];
        const char *space = strchr(bad[i][0], ' ');
        snprintf(opt, sizeof opt, "%.*s", (int)(space - bad[i][0]), bad[i][0]);
        snprintf(want, sizeof want, "error: %s %s is not valid: %s (try --help)", opt,
                 strcmp(space + 1, "''") ? space + 1 : "\"\"", bad[i][1]);
        expect(bad[i][0], 2, want);
        /* --help states the same range, in the option's own entry */
        if (!strncmp(bad[i][1], "use ", 4) && strncmp(bad[i][1], "use ddp", 7) && strncmp(bad[i][1], "use cpu", 7)) {
            char entry[1024] = "", key[80], name[200];
            snprintf(key, sizeof key, "\n  %s ", opt);
            const char *at = strstr(help, key);
            if (at) {
                const char *next = strstr(at + 1, "\n  --");
                snprintf(entry, sizeof entry, "%.*s", (int)(next ? next - at : (long)strlen(at)), at);
            }
            snprintf(name, sizeof name, "--help gives %s the range \"%s\"", opt, bad[i][1] + 4);
            ph_report(strstr(entry, bad[i][1] + 4) != NULL, name, entry, help);
        }
    }
    expect("--mode dp --nproc 2", 2, "--mode dp runs in one process on every GPU: it takes neither --nproc nor --graph");
    expect("--mode dp --graph", 2, "it takes neither --nproc nor --graph");
    /* --graph needs a GPU: refused at once, before anything starts */
    expect("--graph --device cpu", 2, "error: --graph captures the step as a CUDA graph: it needs a GPU, not --device cpu");
    CHECK("at once: nothing trained", strstr(out, "train_data_parallel: ddp") == NULL);
    /* --help into a full disk: the lost output is an error (exit 1), as docs/conventions.md promises */
    if (access("/dev/full", W_OK) == 0) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, DP_CLEAR " '%s' --help 2>&1 >/dev/full", TRAIN_DP_EXE);
        int rc = ph_run(cmd, out, sizeof out);
        ph_check_run("--help >/dev/full", rc, 1, out, "error: cannot write the output: No space left on device");
    } else {
        printf("no /dev/full here: --help >/dev/full skipped\n");
        th_skipped++;
    }
}

static void test_launcher_variables(void) {
    dp_expect("WORLD_SIZE=0 RANK=0", "--device cpu", 2, "error: WORLD_SIZE=\"0\" is not valid: use a whole number, 1 to 16777216 (2^24)");
    dp_expect("RANK=2 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=29500", "--device cpu", 2,
              "error: RANK=\"2\" is not valid: use 0 to 1 (WORLD_SIZE=2)");
    dp_expect("RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=http", "--device cpu", 2,
              "error: MASTER_PORT=\"http\" is not valid: use a port number, 1 to 65535");
    dp_expect("RANK=0 WORLD_SIZE=2 MASTER_PORT=29500", "--device cpu", 2, "error: MASTER_ADDR is not set, but RANK and WORLD_SIZE are");
    dp_expect("SLURM_PROCID=0 SLURM_NTASKS=0", "--device cpu", 2, "error: SLURM_NTASKS=\"0\" is not valid");
    dp_expect("OMPI_COMM_WORLD_RANK=3 OMPI_COMM_WORLD_SIZE=2", "--device cpu", 2,
              "error: OMPI_COMM_WORLD_RANK=\"3\" is not valid: use 0 to 1 (OMPI_COMM_WORLD_SIZE=2)");
    /* good ones: a one-task job under each launcher trains */
    char vars[128];
    snprintf(vars, sizeof vars, "SLURM_PROCID=0 SLURM_NTASKS=1 SLURM_LOCALID=0 MASTER_PORT=%d", local_port(0, NULL));
    dp_expect(vars, "--device cpu --steps 200", 0, "1 rank (launcher: slurm), cpu");
    snprintf(vars, sizeof vars, "OMPI_COMM_WORLD_RANK=0 OMPI_COMM_WORLD_SIZE=1 MASTER_PORT=%d", local_port(0, NULL));
    dp_expect(vars, "--device cpu --steps 200", 0, "1 rank (launcher: mpirun), cpu");
    dp_expect("RANK=0 WORLD_SIZE=1", "--device cpu --steps 200", 0, "1 rank (launcher: torchrun), cpu");
}

static void test_cpu_training(int ngpu) {
    expect("--device cpu --steps 200", 0, "result: PASS: max |W - W*| = ");
    double one = distance();
    CHECK("the CPU regression converges within 1e-2 of W and b", one >= 0 && one < 1e-2);
    expect("--device cpu --steps 200 --nproc 2", 0, "2 ranks (launcher: ltc_launch_local), cpu, global batch 256 (128 per rank)");
    double two = distance();
    CHECK("replicas checked", strstr(out, "step   100  loss ") && strstr(out, "replicas identical"));
    CHECK("2 ranks", strstr(out, "result: PASS") != NULL);
    printf("cpu: max |W - W*| with 1 rank %.4e, with 2 ranks %.4e\n", one, two);
    CHECK("the result does not depend on the number of ranks", fabs(one - two) < 1e-5);
    expect("--device cpu --steps 200 --mode dp", 0, "result: PASS");
    check_mlp_two_ranks("--device cpu");
    expect("--device cpu --hidden 16 --steps 3", 3, "result: FAIL: held-out loss ");
    expect("--device cpu --batch 255 --nproc 2", 2, "error: --batch 255 does not split evenly over 2 ranks: use a multiple of 2");
    expect("--device cpu --steps 5", 3, "result: FAIL: max |W - W*| = ");
    if (ngpu == 0) {
        /* no GPU: it says why (LibTorch's message) and trains on the CPU */
        expect("--steps 200", 0, "no GPU: cuda:0 requested, but LibTorch sees no CUDA device");
        CHECK("then trains on the CPU", strstr(out, "-> training on the CPU") && strstr(out, "result: PASS"));
        expect("--graph --steps 200", 0, "result: PASS");
        expect("--nproc 2", 2, "error: --nproc 2 is not valid: 2 ranks asked for, one per GPU, but 0 CUDA devices are visible: LibTorch sees none");
        expect("--device cuda:0", 1, "cuda:0 requested, but LibTorch sees no CUDA device");
    } else {
        char args[64], want[160];
        snprintf(args, sizeof args, "--nproc %d", ngpu + 1);
        snprintf(want, sizeof want, "is not valid: %d ranks asked for, but %d CUDA device%s visible", ngpu + 1, ngpu,
                 ngpu == 1 ? " is" : "s are");
        expect(args, 2, want);
    }
}

static void test_faults(void) {
    /* an unreachable store: on time, naming the address */
    int port = local_port(0, NULL);
    char vars[160], want[200];
    snprintf(vars, sizeof vars, "RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=%d", port);
    snprintf(want, sizeof want, "rank 1 of 2 cannot reach the rendezvous store at 127.0.0.1:%d (MASTER_ADDR:MASTER_PORT) within the timeout of 1.0 s",
             port);
    double t0 = ph_now_s();
    dp_expect(vars, "--device cpu --timeout 1", 1, want);
    CHECK("within the timeout", ph_now_s() - t0 < 4);

    /* a busy port */
    int fd = -1;
    port = local_port(1, &fd);
    char args[96];
    snprintf(args, sizeof args, "--device cpu --nproc 2 --port %d", port);
    snprintf(want, sizeof want, "port %d is already in use on this host", port);
    expect(args, 1, want);
    snprintf(vars, sizeof vars, "RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=%d", port);
    snprintf(want, sizeof want, "rank 0 cannot host the rendezvous store on port %d (MASTER_PORT): the port is already in use", port);
    dp_expect(vars, "--device cpu --timeout 2", 1, want);
    close(fd);

    /* a rank that never comes */
    snprintf(vars, sizeof vars, "RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=%d", local_port(0, NULL));
    dp_expect(vars, "--device cpu --timeout 1", 1, "timed out after 1.0 s: rank 1 of 2 did not join (1 joined)");
}

/* Ctrl-C: SIGINT to the launcher (--nproc 2) reaches both ranks; it returns 130. */
static void test_ctrl_c(void) {
    double took = 0; /* sent once the first loss line shows: both ranks are training */
    int code = dp_signal_after("--device cpu --nproc 2 --steps 100000000 --log-every 1000", "step     0", SIGINT, "ctrl-c", &took);
    CHECK("Ctrl-C: exit 130, the ranks' code", code == 130);
    CHECK("Ctrl-C: promptly", took < 10);
    CHECK("Ctrl-C: names the rank", strstr(out, "failed first, with exit code 130") != NULL);
}

/* torchrun --no-python: its agent hosts the store (TORCHELASTIC_USE_AGENT_STORE=True). Skipped without
 * a Python that has torch. */
static void test_torchrun(void) {
    if (!ph_torch_python_has("torchrun", "torch.distributed.run"))
        return;
#ifdef TORCH_PYTHON
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             DP_CLEAR " '%s' -m torch.distributed.run "
             "--standalone --nproc-per-node 2 --no-python '%s' --steps 200 --device cpu 2>&1",
             TORCH_PYTHON, TRAIN_DP_EXE);
    int rc = ph_run(cmd, out, sizeof out);
    ph_report(rc == 0 && strstr(out, "2 ranks (launcher: torchrun), cpu") && strstr(out, "result: PASS"),
              "torchrun --standalone --nproc-per-node 2 --no-python", "exit 0, 2 ranks, PASS", out);
#endif
}

int main(void) {
    int n = 0;
    ltc_cuda_device_count(&n);
    test_torchrun();
    test_usage();
    test_launcher_variables();
    test_cpu_training(n);
    test_faults();
    test_ctrl_c();
    return th_finish();
}

#else /* TRAIN_DP_GPU */

int main(void) {
    th_require_gpu();
    expect("--steps 300", 0, "result: PASS");
    CHECK("ddp, 1 rank, on cuda:0", strstr(out, "ddp, 1 rank (launcher: none), cuda:0") != NULL);
    double eager = distance();
    expect("--steps 300 --graph", 0, "result: PASS");
    CHECK("graph mode", strstr(out, "cuda:0, CUDA graph") != NULL);
    double graph = distance();
    printf("gpu: max |W - W*| eager %.4e, graph %.4e\n", eager, graph);
    CHECK("graph mode lands where eager does", fabs(eager - graph) < 1e-5);
    expect("--steps 300 --mode dp", 0, "result: PASS");
    CHECK("dp over every GPU", strstr(out, "dp, 1 rank (launcher: none), every GPU from cuda:0") != NULL);
    expect("--steps 300 --nproc 1", 0, "result: PASS");
    if (th_need_gpus("train_data_parallel --nproc 2: two processes, one per GPU, over NCCL", 2)) {
        expect("--steps 300 --nproc 2", 0, "ddp, 2 ranks (launcher: ltc_launch_local), cuda:0, global batch 256 (128 per rank)");
        CHECK("--nproc 2 on GPUs: replicas checked, PASS", strstr(out, "replicas identical") && strstr(out, "result: PASS"));
        double two = distance();
        printf("gpu: max |W - W*| with 1 rank %.4e, with 2 ranks %.4e\n", eager, two);
        CHECK("--nproc 2 on GPUs lands where 1 rank does", two >= 0 && fabs(eager - two) < 1e-5);
        check_mlp_two_ranks("--device cuda");
    }
    expect("--steps 300 --device cpu", 0, "result: PASS");
    return th_finish();
}

#endif
