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

#ifndef TRAIN_DP_GPU

static void test_usage(void) {
    expect("--help", 0, "Exit codes: 0 trained, weights within 0.01 of W and b; 1 an error (message on stderr); 2 bad usage");
    expect("--help", 0, "--batch N        global batch, 1 to 2^30, split evenly over the ranks (default 256)");
    expect("--help", 0, "Launcher variables: WORLD_SIZE (and its Slurm and Open MPI forms) 1 to 2^24");
    expect("-h", 0, "torchrun --no-python --nproc-per-node N train_data_parallel");
    expect("--bogus", 2, "error: unknown option \"--bogus\" (try --help)");
    expect("--steps", 2, "error: option --steps needs a value");
    expect("--steps 0", 2, "error: --steps 0 is not valid");
    expect("--steps ten", 2, "error: --steps ten is not valid");
    expect("--batch -4", 2, "error: --batch -4 is not valid");
    expect("--lr 0", 2, "error: --lr 0 is not valid");
    expect("--momentum 1", 2, "error: --momentum 1 is not valid");
    expect("--timeout -1", 2, "error: --timeout -1 is not valid");
    expect("--timeout 1e999", 2, "error: --timeout 1e999 is not valid");
    expect("--lr nan", 2, "error: --lr nan is not valid");
    expect("--lr inf", 2, "error: --lr inf is not valid");
    expect("--port 70000", 2, "error: --port 70000 is not valid");
    expect("--mode ring", 2, "error: --mode ring is not valid");
    expect("--mode dp --nproc 2", 2, "--mode dp runs in one process on every GPU: it takes neither --nproc nor --graph");
    expect("--mode dp --graph", 2, "it takes neither --nproc nor --graph");
    expect("--device gpu", 2, "error: --device gpu is not valid");
    expect("--device cuda:x", 2, "error: --device cuda:x is not valid");
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
    expect("--device cpu --batch 255 --nproc 2", 2, "error: --batch 255 does not split evenly over 2 ranks: use a multiple of 2");
    expect("--device cpu --steps 5", 3, "result: FAIL: max |W - W*| = ");
#if LTC_TEST_TORCH_HAS_CUDA
    expect("--device cpu --graph --steps 5", 1, "the module is on cpu: CUDA graphs need it on a GPU");
#endif
    if (ngpu == 0) {
        /* no GPU: it says why (LibTorch's message) and trains on the CPU */
        expect("--steps 200", 0, "no GPU: cuda:0 requested, but LibTorch sees no CUDA device");
        CHECK("then trains on the CPU", strstr(out, "-> training on the CPU") && strstr(out, "result: PASS"));
        expect("--graph --steps 200", 0, "result: PASS");
        expect("--nproc 2", 1, "2 ranks asked for, one per GPU, but 0 CUDA devices are visible: LibTorch sees none");
        expect("--device cuda:0", 1, "cuda:0 requested, but LibTorch sees no CUDA device");
    } else {
        char args[64], want[160];
        snprintf(args, sizeof args, "--nproc %d", ngpu + 1);
        snprintf(want, sizeof want, "%d ranks asked for, but %d CUDA device%s visible", ngpu + 1, ngpu, ngpu == 1 ? " is" : "s are");
        expect(args, 1, want);
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
    }
    expect("--steps 300 --device cpu", 0, "result: PASS");
    return th_finish();
}

#endif
