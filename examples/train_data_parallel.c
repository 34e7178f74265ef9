/* train_data_parallel: Linear(100, 10) trained data-parallel on a regression with a known answer.
 *
 * The data: x ~ N(0, 1) in R^100, y = W x + b + 0.01 noise, for a W (10x100) and b fixed by --seed.
 * Sample i of step s is a pure function of (seed, s, i), and rank r of R takes samples
 * [r*B/R, (r+1)*B/R) of the global batch B, so the run does not depend on how many GPUs share it.
 *
 *   ddp (default)  one process per GPU (DistributedDataParallel): rank 0's parameters are broadcast,
 *                  and after backward each rank's gradients are averaged over all ranks (NCCL), so all
 *                  replicas take the same step. Started by torchrun, srun, mpirun, or --nproc N.
 *   dp             one process, the model replicated over every visible GPU per step (nn.DataParallel).
 *   --graph        the whole step (forward, loss, backward, all-reduce, SGD) captured as a CUDA graph
 *                  once, then replayed.
 *   no GPU         says why, and trains on the CPU.
 *
 * With --checkpoint P, rank 0 first makes sure saving can work (P is not a folder, its folder can be
 * written, no other run holds P: it keeps the lock P.lock for the run), then saves the step, the
 * weights, the momentum buffers and the settings every --checkpoint-every steps; --resume (or a restart
 * by torchrun --max-restarts or --max-restarts) goes on from there, and ends on exactly the weights an
 * uninterrupted run would have. SIGTERM (scancel, a time limit) or SIGINT (Ctrl-C) then ends the run
 * after the current step, with a checkpoint: exit code 143 (130 for SIGINT). A rank that got the signal
 * ends by it, after the save, so that its launcher can tell which rank it was.
 * Options and data generation are in train_args.h; this file is the training.
 */
#define _POSIX_C_SOURCE 200809L /* sigaction, access, raise */
#include "common.h"
#include "train_args.h"

#include <signal.h>
#include <unistd.h>

static volatile sig_atomic_t g_signal = 0; /* SIGTERM or SIGINT, once one came (--checkpoint) */
static void on_stop_signal(int sig) { g_signal = sig; }

/* 1 when every weight and bias is finite; *dw, *db: the largest distance from W and b. */
static int weights_finite(ltc_linear *model, float w_true[OUT][IN], float b_true[OUT], double *dw, double *db) {
    ltc_tensor *w = NULL, *b = NULL;
    float w_got[OUT][IN], b_got[OUT];
    CHECK(ltc_linear_parameters(&w, &b, model), "read the parameters");
    CHECK(ltc_tensor_copy_to_host(w_got, sizeof w_got, w), "copy the weights to the host");
    CHECK(ltc_tensor_copy_to_host(b_got, sizeof b_got, b), "copy the bias to the host");
    ltc_tensor_free(w);
    ltc_tensor_free(b);
    int finite = 1;
    *dw = *db = 0;
    for (int i = 0; i < OUT; i++) {
        finite &= isfinite(b_got[i]) != 0;
        *db = fmax(*db, fabs(b_got[i] - b_true[i]));
        for (int j = 0; j < IN; j++) {
            finite &= isfinite(w_got[i][j]) != 0;
            *dw = fmax(*dw, fabs(w_got[i][j] - w_true[i][j]));
        }
    }
    return finite;
}

/* --checkpoint, before training: rank 0 claims P (ltc_checkpoint_lock_new: P not a folder, its folder
 * writable, no other run holding it; stale temporary files of dead saves removed), and every rank stops
 * with exit code 2 when it cannot: a restart would fail the same way. */
static ltc_checkpoint_lock *claim_checkpoint(const options *o, int rank, ltc_dist *dist) {
    ltc_checkpoint_lock *lock = NULL;
    ltc_status s = rank == 0 ? ltc_checkpoint_lock_new(&lock, o->checkpoint) : LTC_OK;
    int failed = s != LTC_OK;
    if (rank == 0 && failed)
        fprintf(stderr, "error: cannot use --checkpoint %s\n  %s [%s]\n", o->checkpoint, ltc_last_error(),
                ltc_status_string(s));
    if (dist)
        CHECK(ltc_dist_any(&failed, dist, failed), "ask the ranks whether rank 0 could claim the checkpoint");
    if (failed) {
        ltc_dist_free(dist); /* every rank leaves the group first: rank 0 keeps the store until they have */
        exit(close_stdout(EXIT_USAGE));
    }
    return lock;
}

/* --checkpoint: the step to start at. Every rank loads the file (all must see it), so every replica
 * restarts from the same weights and momentum. A missing file with --resume (or in a restarted group)
 * starts at step 0; an existing one without --resume is refused, never overwritten; one this run
 * cannot use (other settings, corrupt, not a checkpoint) is refused with exit code 2. A refusal
 * returns minus the exit code. */
static int start_step(const options *o, const ltc_dist_env *env, ltc_dist *dist, ltc_linear *model, ltc_sgd *opt,
                      const char *settings) {
    int resume = o->resume || env->restart > 0;
    int here = access(o->checkpoint, F_OK) == 0, anywhere = here, everywhere = here;
    if (dist) {
        CHECK(ltc_dist_any(&anywhere, dist, here), "ask the ranks whether they see the checkpoint");
        CHECK(ltc_dist_any(&everywhere, dist, !here), "ask the ranks whether they see the checkpoint");
        everywhere = !everywhere;
    }
    if (anywhere && !everywhere) {
        fprintf(stderr, "error: rank %d %s checkpoint %s but another rank %s: put it on a file system every rank sees\n",
                env->rank, here ? "sees" : "does not see", o->checkpoint, here ? "does not" : "does");
        return -EXIT_USAGE;
    }
    if (!here) {
        if (resume && env->rank == 0)
            printf("no checkpoint at %s yet: starting at step 0\n", o->checkpoint);
        return 0;
    }
    if (!resume) {
        if (env->rank == 0)
            fprintf(stderr, "error: checkpoint %s exists: pass --resume to continue from it, or remove it to start afresh\n",
                    o->checkpoint);
        return -EXIT_USAGE;
    }
    int64_t step = 0;
    ltc_status s = ltc_checkpoint_load_linear(&step, o->checkpoint, model, opt, settings); /* refuses another run's file */
    int failed = s != LTC_OK, zero_failed = env->rank == 0 && failed;
    if (dist) { /* all stop if one cannot resume; rank 0 says why, another rank only when its reason is its own */
        CHECK(ltc_dist_any(&zero_failed, dist, zero_failed), "ask the ranks whether rank 0 could resume");
        CHECK(ltc_dist_any(&failed, dist, failed), "ask the ranks whether they could resume");
    }
    if (s != LTC_OK && env->rank == 0)
        fprintf(stderr, "error: cannot resume from checkpoint %s\n  %s [%s]\n", o->checkpoint, ltc_last_error(),
                ltc_status_string(s));
    else if (s != LTC_OK && !zero_failed)
        fprintf(stderr, "error: rank %d cannot resume from checkpoint %s\n  %s [%s]\n", env->rank, o->checkpoint,
                ltc_last_error(), ltc_status_string(s));
    if (failed) /* the file does not fit these options, or cannot be read: a restart would not help */
        return s == LTC_OK || s == LTC_ERR_INVALID_ARGUMENT || s == LTC_ERR_IO ? -EXIT_USAGE : -EXIT_ERROR;
    if (step > o->steps) {
        if (env->rank == 0)
            fprintf(stderr, "error: checkpoint %s is at step %lld, past --steps %d\n", o->checkpoint, (long long)step,
                    o->steps);
        return -EXIT_USAGE;
    }
    if (env->rank == 0)
        printf("resumed from %s at step %lld\n", o->checkpoint, (long long)step);
    return (int)step;
}

/* Once the ranks agreed to stop: which of them the signal reached, in words ("SIGTERM reached rank 1"),
 * and the exit code of a rank it did not reach (128 + the signal). mine: the signal this rank got, or 0. */
static int stop_reason(char *text, size_t n, ltc_dist *dist, int rank, int world, int mine) {
    double got = mine != 0, at = mine ? rank : 0, sig = mine;
    if (dist) { /* sums over the ranks, as means times the world size */
        CHECK(ltc_dist_mean(&got, dist, got), "count the ranks the signal reached");
        CHECK(ltc_dist_mean(&at, dist, at), "find the rank the signal reached");
        CHECK(ltc_dist_mean(&sig, dist, sig), "find the signal");
        got = round(got * world), at = round(at * world), sig = round(sig * world);
    }
    const int count = (int)got, s = count > 0 && (int)sig == count * SIGINT ? SIGINT : SIGTERM;
    const char *name = s == SIGINT ? "SIGINT" : "SIGTERM";
    if (world == 1)
        snprintf(text, n, "%s", name);
    else if (count == world)
        snprintf(text, n, "%s reached every rank", name);
    else if (count == 1)
        snprintf(text, n, "%s reached rank %d", name, (int)at);
    else
        snprintf(text, n, "%s reached %d of %d ranks", name, count, world);
    return 128 + s;
}

int main(int argc, char **argv) {
    quiet_libtorch_log();
    options o;
    if (!parse_options(&o, argc, argv))
        return EXIT_USAGE;
    ltc_dist_env env;
    if (ltc_dist_env_from(&env, NULL) != LTC_OK) {
        fprintf(stderr, "error: %s\n", ltc_last_error());
        return EXIT_USAGE;
    }
    ltc_device dev = o.device_given ? o.device : (ltc_device){LTC_DEVICE_CUDA, -1};
    if (dev.type == LTC_DEVICE_CUDA && dev.index < 0) /* "cuda": this rank's GPU */
        dev.index = o.dp ? 0 : env.local_rank;

    /* 1. --nproc N without a launcher: become one. Start N copies of this program as ranks 0..N-1
     *    (each sees RANK, WORLD_SIZE, MASTER_ADDR, ... as under torchrun), forward Ctrl-C and SIGTERM,
     *    restart them all after a failure if --max-restarts says so, wait. */
    if ((o.nproc > 1 || o.max_restarts > 0) && env.launcher == LTC_LAUNCHER_NONE) {
        int code = 0, failed_rank = -1, restarts = 0;
        ltc_launch_options lo = LTC_LAUNCH_OPTIONS_INIT;
        lo.nproc = o.nproc, lo.argv = (const char *const *)argv, lo.device_type = dev.type, lo.port = o.port;
        lo.timeout_s = o.timeout, lo.max_restarts = o.max_restarts, lo.forward_signals = 1;
        ltc_status s = ltc_launch_local(&code, &failed_rank, &restarts, &lo);
        if (s == LTC_ERR_INVALID_ARGUMENT) { /* more ranks than GPUs, or than cores: nothing was started */
            char nproc[16];
            snprintf(nproc, sizeof nproc, "%d", o.nproc);
            opt_invalid("--nproc", nproc, ltc_last_error());
            return EXIT_USAGE;
        }
        CHECK(s, "start the local ranks");
        if (o.checkpoint && (code == 128 + SIGTERM || code == 128 + SIGINT))
            fprintf(stderr, "train_data_parallel: stopped by %s (exit code %d); --resume continues from the checkpoint\n",
                    code == 128 + SIGINT ? "SIGINT" : "SIGTERM", code);
        else if (failed_rank >= 0 && code != EXIT_USAGE) /* a usage or set-up error has said what it was */
            fprintf(stderr, "train_data_parallel: rank %d failed first, with exit code %d%s\n", failed_rank, code,
                    restarts ? " (after every restart)" : "");
        return close_stdout(code);
    }
    const int rank = env.rank, world = o.dp ? 1 : env.world_size;
    if (o.batch % world != 0) {
        fprintf(stderr, "error: --batch %d does not split evenly over %d ranks: use a multiple of %d\n", o.batch, world, world);
        return EXIT_USAGE;
    }

    /* 2. The model, on this rank's GPU; without one, on the CPU (saying why, unless --device asked). */
    ltc_manual_seed(o.seed);
    ltc_linear *model = NULL;
    CHECK(ltc_linear_new(&model, IN, OUT, 1), "create the model");
    ltc_status s = ltc_linear_to(model, dev);
    if (s == LTC_ERR_CUDA_UNAVAILABLE && !o.device_given) {
        if (rank == 0)
            fprintf(stderr, "no GPU: %s\n  -> training on the CPU\n", ltc_last_error());
        dev = (ltc_device){LTC_DEVICE_CPU, 0};
        o.graph = 0;
    } else {
        CHECK(s, "move the model to the device");
    }

    /* 3. ddp: join the group (TCPStore rendezvous at MASTER_ADDR:MASTER_PORT, NCCL on GPUs), and start
     *    every replica from rank 0's parameters. */
    ltc_dist *dist = NULL;
    if (!o.dp) {
        CHECK(ltc_dist_init(&dist, &env, dev, o.timeout), "join the data-parallel group");
        CHECK(ltc_dist_broadcast_parameters_linear(dist, model, 0), "broadcast rank 0's parameters");
    }
    ltc_sgd *opt = NULL;
    CHECK(ltc_sgd_new(&opt, model, o.lr, o.momentum), "create the optimizer");
    char where[32];
    ltc_device_format(where, sizeof where, dev);
    if (rank == 0)
        printf("train_data_parallel: %s, %d rank%s (launcher: %s), %s%s, global batch %d (%d per rank), %d steps, lr %g, "
               "momentum %g\n",
               o.dp ? "dp" : "ddp", world, world == 1 ? "" : "s", ltc_launcher_name(env.launcher),
               o.dp && dev.type == LTC_DEVICE_CUDA ? "every GPU from cuda:0" : where, o.graph ? ", CUDA graph" : "",
               o.batch, o.batch / world, o.steps, o.lr, o.momentum);

    /* 4. Checkpoints: claim the path, resume if asked (the settings must match the file's), and from
     *    now on let SIGTERM and SIGINT end the run cleanly after the current step. */
    char settings[128];
    snprintf(settings, sizeof settings, "seed=%llu batch=%d", o.seed, o.batch);
    int first_step = 0;
    ltc_checkpoint_lock *lock = NULL;
    if (o.checkpoint) {
        lock = claim_checkpoint(&o, rank, dist);
        first_step = start_step(&o, &env, dist, model, opt, settings);
        if (first_step < 0) { /* every rank refused it (they agree on what they see) */
            ltc_checkpoint_lock_free(lock);
            ltc_dist_free(dist);
            return close_stdout(-first_step);
        }
        struct sigaction act;
        memset(&act, 0, sizeof act);
        act.sa_handler = on_stop_signal;
        act.sa_flags = SA_RESTART;
        sigemptyset(&act.sa_mask);
        sigaction(SIGTERM, &act, NULL);
        sigaction(SIGINT, &act, NULL);
    }

    /* 5. Train. Each rank makes its own shard of every global batch. */
    float w_true[OUT][IN], b_true[OUT];
    true_weights(o.seed, w_true, b_true);
    const int per = o.batch / world;
    const int64_t xs[2] = {per, IN}, ys[2] = {per, OUT};
    float *xb = malloc(sizeof(float) * (size_t)per * IN), *yb = malloc(sizeof(float) * (size_t)per * OUT);
    if (!xb || !yb) {
        fprintf(stderr, "error: cannot allocate a batch of %d samples\n", per);
        return EXIT_ERROR;
    }
    ltc_train_graph *graph = NULL;
    int code = -1;       /* set when the run ends early */
    int my_signal = 0;   /* the signal that stopped the run, if it reached this rank */
    int checked = -1;    /* the last step whose loss was checked and finite */
    double dw = 0, db = 0;
    for (int step = first_step; step < o.steps && code < 0; step++) {
        make_batch(o.seed, step, (int64_t)rank * per, per, w_true, b_true, xb, yb);
        ltc_tensor *x = NULL, *y = NULL, *pred = NULL, *loss = NULL;
        CHECK(ltc_tensor_from_data(&x, xb, xs, 2, LTC_FLOAT32, dev), "put the batch on the device");
        CHECK(ltc_tensor_from_data(&y, yb, ys, 2, LTC_FLOAT32, dev), "put the targets on the device");
        if (o.graph) {
            /* Captured once from this first batch; each replay copies the new batch in and runs the step. */
            if (!graph)
                CHECK(ltc_train_graph_new(&graph, model, opt, dist, x, y), "capture the step as a CUDA graph");
            CHECK(ltc_train_graph_replay(graph, x, y), "replay the step");
            CHECK(ltc_train_graph_loss(&loss, graph), "read the loss");
        } else {
            CHECK(ltc_sgd_zero_grad(opt), "zero the gradients");
            if (o.dp && dev.type == LTC_DEVICE_CUDA) /* on the CPU, dp is the plain forward */
                CHECK(ltc_data_parallel_forward(&pred, model, x, NULL, 0), "run the forward over every GPU");
            else
                CHECK(ltc_linear_forward(&pred, model, x), "run the forward");
            CHECK(ltc_mse_loss(&loss, pred, y), "compute the loss");
            CHECK(ltc_tensor_backward(loss), "run the backward");
            if (dist)
                CHECK(ltc_dist_average_gradients_linear(dist, model), "average the gradients"); /* every rank now holds the global gradient */
            CHECK(ltc_sgd_step(opt), "take the SGD step");
        }
        const int last = step == o.steps - 1, log_now = step % o.log_every == 0 || last;
        int stop = g_signal != 0; /* a signal reaches the ranks at different moments: they agree before stopping */
        if (o.checkpoint && dist)
            CHECK(ltc_dist_any(&stop, dist, stop), "agree on stopping");
        const int save_now = o.checkpoint && (stop || last || (step + 1) % o.checkpoint_every == 0);
        double l = 0;
        if (log_now || save_now) {
            CHECK(ltc_tensor_item(&l, loss), "read the loss");
            if (dist)
                CHECK(ltc_dist_mean(&l, dist, l), "average the loss over the ranks"); /* the loss over the global batch */
            /* A diverged run ends here, naming the step whose check found it: never a PASS, never a
             * checkpoint of NaNs. The loss is read only at these checks, so it went bad after the last one. */
            if (!isfinite(l) || !weights_finite(model, w_true, b_true, &dw, &db)) {
                char before[64] = "no check before it";
                if (checked >= 0)
                    snprintf(before, sizeof before, "at step %d, the check before, it was finite", checked);
                if (rank == 0)
                    fprintf(stderr,
                            "error: the training diverged: %s at step %d, found by the check there; %s (checks: every "
                            "--log-every %d steps, and the last step); lr %g: a smaller --lr converges\n",
                            !isfinite(l) ? (isnan(l) ? "the loss is nan" : "the loss is infinite")
                                         : "the weights hold NaN or infinite values after the update",
                            step, before, o.log_every, o.lr);
                code = EXIT_DIVERGED;
            } else {
                checked = step;
            }
        }
        if (code < 0 && log_now) {
            if (dist)
                CHECK(ltc_dist_check_replicas_linear(dist, model), "check that the replicas agree"); /* a divergence of the replicas is an error */
            if (rank == 0) {
                printf("step %5d  loss %.6f%s\n", step, l, dist && world > 1 ? "  replicas identical" : "");
                fflush(stdout); /* shows through pipes and tee as it happens */
            }
        }
        if (code < 0 && save_now && rank == 0)
            CHECK(ltc_checkpoint_save_linear(o.checkpoint, model, opt, step + 1, settings), "save the checkpoint"); /* atomic: tmp, fsync, rename */
        if (code < 0 && stop) {
            char who[64];
            my_signal = g_signal;
            code = stop_reason(who, sizeof who, dist, rank, world, my_signal);
            if (rank == 0)
                fprintf(stderr, "train_data_parallel: %s: stopped after step %d; checkpoint %s saved (--resume goes on)\n",
                        who, step, o.checkpoint);
        }
        ltc_tensor_free(x);
        ltc_tensor_free(y);
        ltc_tensor_free(pred);
        ltc_tensor_free(loss);
    }

    /* 6. The verdict: how far the learned weights are from W and b. */
    if (code < 0) {
        if (!weights_finite(model, w_true, b_true, &dw, &db)) {
            if (rank == 0)
                fprintf(stderr, "error: the training diverged: the weights hold NaN or infinite values at the end (step %d)\n",
                        o.steps - 1);
            code = EXIT_DIVERGED;
        } else {
            int ok = dw <= TOLERANCE && db <= TOLERANCE;
            if (rank == 0)
                printf("result: %s: max |W - W*| = %.3e, max |b - b*| = %.3e (tolerance %g)\n", ok ? "PASS" : "FAIL", dw, db,
                       TOLERANCE);
            code = ok ? EXIT_TRAINED : EXIT_NOT_LEARNED;
        }
    }
    ltc_train_graph_free(graph);
    ltc_sgd_free(opt);
    ltc_linear_free(model);
    ltc_dist_free(dist);
    ltc_checkpoint_lock_free(lock);
    free(xb);
    free(yb);
    int rc = close_stdout(code); /* output lost (a full disk, a closed pipe) is an error too */
    if (my_signal && rc == code) {
        /* The signal reached this rank: end by it, now that the checkpoint is saved, so that whoever
         * started this process (a shell, --nproc, torchrun) sees which rank it reached. */
        signal(my_signal, SIG_DFL);
        raise(my_signal);
    }
    return rc;
}
