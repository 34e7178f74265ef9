/* train_data_parallel: a torch::nn module trained data-parallel on a regression with a known answer.
 *
 * The data: x ~ N(0, 1) in R^100, y = W x + b + 0.01 noise, for a W (10x100) and b fixed by --seed.
 * Sample i of step s is a pure function of (seed, s, i), and rank r of R takes samples
 * [r*B/R, (r+1)*B/R) of the global batch B, so the run does not depend on how many GPUs share it.
 *
 *   ddp (default)  one process per GPU (DistributedDataParallel): rank 0's parameters are broadcast,
 *                  and after backward each rank's gradients are averaged over all ranks (NCCL), so all
 *                  replicas take the same step. Started by torchrun, srun, mpirun, or --nproc N.
 *   dp             one process, the model replicated over every visible GPU per step (nn.DataParallel).
 *   --graph        after three eager steps, the whole step (forward, loss, backward, all-reduce, SGD)
 *                  captured as a CUDA graph once, then replayed.
 *   no GPU         says why, and trains on the CPU.
 *
 * The model is an ltc_module: a Sequential holding Linear(100, 10) (the default, whose learned weights
 * are compared with W and b), or with --hidden N the MLP Linear(100, N)-ReLU-Linear(N, 10) (judged by
 * its loss on held-out samples). Everything goes through the general API: the module's parameter list,
 * ltc_optimizer_sgd_new, the collectives over tensor lists and on one-element tensors, ltc_checkpoint_*
 * and ltc_cuda_graph_*.
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

enum { WARMUP_STEPS = 3 };              /* --graph: eager steps before the capture */
static const int EVAL_STEP = 0x7ffffffe; /* the held-out batch: a step no run trains on (--steps <= 2^30) */

/* One rank's run: what the training loop reads and changes. */
typedef struct run {
    options o;
    ltc_dist_env env;
    ltc_device dev;
    int rank, world, per; /* per: samples per rank and step */
    ltc_dist *dist;       /* ddp's group (NULL in dp mode) */
    ltc_module *model;
    ltc_tensor_list *params; /* the model's parameters, named as PyTorch names them */
    ltc_optimizer *opt;
    ltc_checkpoint *save;    /* rank 0 with --checkpoint: what each save writes */
    ltc_checkpoint_lock *lock;
    ltc_cuda_graph *graph;   /* --graph: the step, captured after the warm-up */
    ltc_tensor *gx, *gy, *gloss; /* the graph's static inputs and its loss */
    float w_true[OUT][IN], b_true[OUT];
    float *xb, *yb;
    int checked; /* the last step whose loss was checked and finite */
} run;

/* Combines v[0..n-1] over the ranks with op (a one-element-per-value tensor all-reduced on the group's
 * device); without a group, v stays as it is. */
static void agree(run *r, double *v, int n, ltc_reduce_op op, const char *what) {
    if (!r->dist)
        return;
    ltc_tensor *t = NULL;
    const int64_t shape[1] = {n};
    CHECK(ltc_tensor_from_data(&t, v, shape, 1, LTC_FLOAT64, r->dev), what);
    CHECK(ltc_dist_all_reduce(r->dist, t, op), what);
    CHECK(ltc_tensor_copy_to_host(v, sizeof(double) * (size_t)n, t), what);
    ltc_tensor_free(t);
}

/* 1 when any rank says yes. */
static int any_rank(run *r, int yes, const char *what) {
    double v = yes != 0;
    agree(r, &v, 1, LTC_REDUCE_MAX, what);
    return v != 0;
}

/* A parameter's values, copied to the host (malloc'd, the caller frees); *n their count. */
static float *param_values(int64_t *n, const ltc_tensor_list *params, int64_t i, const char **name) {
    ltc_tensor *t = NULL;
    CHECK(ltc_tensor_list_get(&t, name, params, i), "read the parameters");
    *n = ltc_tensor_numel(t);
    float *v = malloc(ltc_tensor_nbytes(t));
    if (!v) {
        fprintf(stderr, "error: cannot allocate %lld floats\n", (long long)*n);
        exit(EXIT_ERROR);
    }
    CHECK(ltc_tensor_copy_to_host(v, ltc_tensor_nbytes(t), t), "copy the parameters to the host");
    ltc_tensor_free(t);
    return v;
}

/* 1 when every parameter is finite. For the Linear model, *dw and *db: the largest distance from W and b
 * (its parameters "0.weight" and "0.bias", in that order); else 0. */
static int weights_finite(run *r, double *dw, double *db) {
    int finite = 1;
    *dw = *db = 0;
    for (int64_t i = 0, n = ltc_tensor_list_count(r->params); i < n; i++) {
        int64_t count = 0;
        const char *name = NULL;
        float *v = param_values(&count, r->params, i, &name);
        const float *truth = r->o.hidden ? NULL : i == 0 ? &r->w_true[0][0] : r->b_true;
        double *far = i == 0 ? dw : db;
        for (int64_t k = 0; k < count; k++) {
            finite &= isfinite(v[k]) != 0;
            if (truth)
                *far = fmax(*far, fabs(v[k] - truth[k]));
        }
        free(v);
    }
    return finite;
}

/* The MLP's verdict: its loss on a held-out global batch, as a multiple of the noise's (the loss of the
 * true W x + b). */
static double held_out_loss(run *r, double *noise) {
    const int64_t xs[2] = {r->o.batch, IN}, ys[2] = {r->o.batch, OUT};
    float *x = malloc(sizeof(float) * (size_t)r->o.batch * IN), *y = malloc(sizeof(float) * (size_t)r->o.batch * OUT);
    if (!x || !y) {
        fprintf(stderr, "error: cannot allocate the held-out batch of %d samples\n", r->o.batch);
        exit(EXIT_ERROR);
    }
    make_batch(r->o.seed, EVAL_STEP, 0, r->o.batch, r->w_true, r->b_true, x, y);
    double sq = 0; /* y - (W x + b) is the noise */
    for (int n = 0; n < r->o.batch; n++)
        for (int k = 0; k < OUT; k++) {
            double clean = r->b_true[k];
            for (int j = 0; j < IN; j++)
                clean += (double)r->w_true[k][j] * x[n * IN + j];
            sq += (y[n * OUT + k] - clean) * (y[n * OUT + k] - clean);
        }
    *noise = sq / ((double)r->o.batch * OUT);
    ltc_tensor *tx = NULL, *ty = NULL, *pred = NULL, *loss = NULL;
    int grad = 0;
    double l = 0;
    CHECK(ltc_grad_mode_set(&grad, 0), "turn autograd off");
    CHECK(ltc_tensor_from_data(&tx, x, xs, 2, LTC_FLOAT32, r->dev), "put the held-out batch on the device");
    CHECK(ltc_tensor_from_data(&ty, y, ys, 2, LTC_FLOAT32, r->dev), "put the held-out targets on the device");
    CHECK(ltc_module_forward(&pred, r->model, tx), "run the forward on the held-out batch");
    CHECK(ltc_mse_loss(&loss, pred, ty), "compute the held-out loss");
    CHECK(ltc_tensor_item(&l, loss), "read the held-out loss");
    CHECK(ltc_grad_mode_set(NULL, grad), "turn autograd back on");
    ltc_tensor_free(tx), ltc_tensor_free(ty), ltc_tensor_free(pred), ltc_tensor_free(loss);
    free(x), free(y);
    return l;
}

/* --checkpoint, before training: rank 0 claims P (ltc_checkpoint_lock_new: P not a folder, its folder
 * writable, no other run holding it; stale temporary files of dead saves removed), and every rank stops
 * with exit code 2 when it cannot: a restart would fail the same way. */
static void claim_checkpoint(run *r) {
    ltc_status s = r->rank == 0 ? ltc_checkpoint_lock_new(&r->lock, r->o.checkpoint) : LTC_OK;
    if (r->rank == 0 && s != LTC_OK)
        fprintf(stderr, "error: cannot use --checkpoint %s\n  %s [%s]\n", r->o.checkpoint, ltc_last_error(),
                ltc_status_string(s));
    if (any_rank(r, s != LTC_OK, "ask the ranks whether rank 0 could claim the checkpoint")) {
        ltc_dist_free(r->dist); /* every rank leaves the group first: rank 0 keeps the store until they have */
        exit(close_stdout(EXIT_USAGE));
    }
}

/* The settings a checkpoint must share with the run that resumes it (lr and momentum are checked by
 * ltc_checkpoint_restore too; here they are named in the same words as the others). */
enum { NSETTINGS = 5 };
static void settings_of(const options *o, char keys[NSETTINGS][16], char values[NSETTINGS][32]) {
    static const char *const names[NSETTINGS] = {"seed", "batch", "hidden", "lr", "momentum"};
    for (int i = 0; i < NSETTINGS; i++)
        snprintf(keys[i], 16, "%s", names[i]);
    snprintf(values[0], 32, "%llu", o->seed);
    snprintf(values[1], 32, "%d", o->batch);
    snprintf(values[2], 32, "%d", o->hidden);
    snprintf(values[3], 32, "%g", o->lr);
    snprintf(values[4], 32, "%g", o->momentum);
}

/* Reads the checkpoint into the model and the optimizer (all or nothing) and *step; on failure why says
 * why (in ltc's words, or naming a setting that differs). */
static ltc_status resume_from(run *r, int64_t *step, char *why, size_t n) {
    char keys[NSETTINGS][16], values[NSETTINGS][32];
    settings_of(&r->o, keys, values);
    ltc_checkpoint *c = NULL;
    ltc_status s = ltc_checkpoint_load(&c, r->o.checkpoint); /* refuses a truncated or changed file */
    for (int i = 0; s == LTC_OK && i < NSETTINGS; i++) {
        const char *theirs = NULL;
        if (ltc_checkpoint_setting(&theirs, c, keys[i]) != LTC_OK || strcmp(theirs, values[i]) != 0) {
            snprintf(why, n,
                     "checkpoint %s was made with other settings: %s=%s in the file, %s=%s in this run; resume with the "
                     "same settings, or start afresh with another checkpoint path",
                     r->o.checkpoint, keys[i], theirs ? theirs : "(absent)", keys[i], values[i]);
            ltc_checkpoint_free(c);
            return LTC_ERR_INVALID_ARGUMENT;
        }
    }
    if (s == LTC_OK)
        s = ltc_checkpoint_restore(c, r->params, r->opt);
    if (s == LTC_OK)
        s = ltc_checkpoint_step(step, c);
    if (s != LTC_OK)
        snprintf(why, n, "%s", ltc_last_error());
    ltc_checkpoint_free(c);
    return s;
}

/* --checkpoint: the step to start at. Every rank loads the file (all must see it), so every replica
 * restarts from the same weights and momentum. A missing file with --resume (or in a restarted group)
 * starts at step 0; an existing one without --resume is refused, never overwritten; one this run
 * cannot use (other settings, corrupt, not a checkpoint) is refused with exit code 2. A refusal
 * returns minus the exit code. */
static int start_step(run *r) {
    const options *o = &r->o;
    int resume = o->resume || r->env.restart > 0;
    int here = access(o->checkpoint, F_OK) == 0;
    int anywhere = any_rank(r, here, "ask the ranks whether they see the checkpoint");
    int everywhere = !any_rank(r, !here, "ask the ranks whether they see the checkpoint");
    if (anywhere && !everywhere) {
        fprintf(stderr, "error: rank %d %s checkpoint %s but another rank %s: put it on a file system every rank sees\n",
                r->rank, here ? "sees" : "does not see", o->checkpoint, here ? "does not" : "does");
        return -EXIT_USAGE;
    }
    if (!here) {
        if (resume && r->rank == 0)
            printf("no checkpoint at %s yet: starting at step 0\n", o->checkpoint);
        return 0;
    }
    if (!resume) {
        if (r->rank == 0)
            fprintf(stderr, "error: checkpoint %s exists: pass --resume to continue from it, or remove it to start afresh\n",
                    o->checkpoint);
        return -EXIT_USAGE;
    }
    int64_t step = 0;
    char why[1024];
    ltc_status s = resume_from(r, &step, why, sizeof why);
    /* all stop if one cannot resume; rank 0 says why, another rank only when its reason is its own */
    int zero_failed = any_rank(r, r->rank == 0 && s != LTC_OK, "ask the ranks whether rank 0 could resume");
    int failed = any_rank(r, s != LTC_OK, "ask the ranks whether they could resume");
    if (s != LTC_OK && r->rank == 0)
        fprintf(stderr, "error: cannot resume from checkpoint %s\n  %s [%s]\n", o->checkpoint, why, ltc_status_string(s));
    else if (s != LTC_OK && !zero_failed)
        fprintf(stderr, "error: rank %d cannot resume from checkpoint %s\n  %s [%s]\n", r->rank, o->checkpoint, why,
                ltc_status_string(s));
    if (failed) /* the file does not fit these options, or cannot be read: a restart would not help */
        return s == LTC_OK || s == LTC_ERR_INVALID_ARGUMENT || s == LTC_ERR_IO ? -EXIT_USAGE : -EXIT_ERROR;
    if (step > o->steps) {
        if (r->rank == 0)
            fprintf(stderr, "error: checkpoint %s is at step %lld, past --steps %d\n", o->checkpoint, (long long)step,
                    o->steps);
        return -EXIT_USAGE;
    }
    if (r->rank == 0)
        printf("resumed from %s at step %lld\n", o->checkpoint, (long long)step);
    return (int)step;
}

/* --checkpoint: claims the path, resumes if asked, prepares rank 0's saves, and from now on lets SIGTERM
 * and SIGINT end the run cleanly after the current step. The step to start at, or minus an exit code. */
static int prepare_checkpoint(run *r) {
    claim_checkpoint(r);
    int first = start_step(r);
    if (first < 0)
        return first;
    if (r->rank == 0) {
        char keys[NSETTINGS][16], values[NSETTINGS][32];
        settings_of(&r->o, keys, values);
        CHECK(ltc_checkpoint_new(&r->save), "prepare the checkpoint");
        CHECK(ltc_checkpoint_set_tensors(r->save, r->params), "prepare the checkpoint");
        CHECK(ltc_checkpoint_set_optimizer(r->save, r->opt), "prepare the checkpoint");
        for (int i = 0; i < NSETTINGS; i++)
            CHECK(ltc_checkpoint_set_setting(r->save, keys[i], values[i]), "prepare the checkpoint");
    }
    struct sigaction act;
    memset(&act, 0, sizeof act);
    act.sa_handler = on_stop_signal;
    act.sa_flags = SA_RESTART;
    sigemptyset(&act.sa_mask);
    sigaction(SIGTERM, &act, NULL);
    sigaction(SIGINT, &act, NULL);
    return first;
}

/* Once the ranks agreed to stop: which of them the signal reached, in words ("SIGTERM reached rank 1"),
 * and the exit code of a rank it did not reach (128 + the signal). mine: the signal this rank got, or 0. */
static int stop_reason(char *text, size_t n, run *r, int mine) {
    double v[3] = {mine != 0, mine ? r->rank : 0, mine}; /* summed over the ranks: how many, which, the signals */
    agree(r, v, 3, LTC_REDUCE_SUM, "find the ranks the signal reached");
    const int count = (int)v[0], s = count > 0 && (int)v[2] == count * SIGINT ? SIGINT : SIGTERM;
    const char *name = s == SIGINT ? "SIGINT" : "SIGTERM";
    if (r->world == 1)
        snprintf(text, n, "%s", name);
    else if (count == r->world)
        snprintf(text, n, "%s reached every rank", name);
    else if (count == 1)
        snprintf(text, n, "%s reached rank %d", name, (int)v[1]);
    else
        snprintf(text, n, "%s reached %d of %d ranks", name, count, r->world);
    return 128 + s;
}

/* --nproc N without a launcher: become one. Start N copies of this program as ranks 0..N-1 (each sees
 * RANK, WORLD_SIZE, MASTER_ADDR, ... as under torchrun), forward Ctrl-C and SIGTERM, restart them all
 * after a failure if --max-restarts says so, wait. Returns the exit code. */
static int launch_ranks(const options *o, char **argv, ltc_device dev) {
    int code = 0, failed_rank = -1, restarts = 0;
    ltc_launch_options lo = LTC_LAUNCH_OPTIONS_INIT;
    lo.nproc = o->nproc, lo.argv = (const char *const *)argv, lo.device_type = dev.type, lo.port = o->port;
    lo.timeout_s = o->timeout, lo.max_restarts = o->max_restarts, lo.forward_signals = 1;
    ltc_status s = ltc_launch_local(&code, &failed_rank, &restarts, &lo);
    if (s == LTC_ERR_INVALID_ARGUMENT) { /* more ranks than GPUs, or than cores: nothing was started */
        char nproc[16];
        snprintf(nproc, sizeof nproc, "%d", o->nproc);
        opt_invalid("--nproc", nproc, ltc_last_error());
        return EXIT_USAGE;
    }
    CHECK(s, "start the local ranks");
    if (o->checkpoint && (code == 128 + SIGTERM || code == 128 + SIGINT))
        fprintf(stderr, "train_data_parallel: stopped by %s (exit code %d); --resume continues from the checkpoint\n",
                code == 128 + SIGINT ? "SIGINT" : "SIGTERM", code);
    else if (failed_rank >= 0 && code != EXIT_USAGE) /* a usage or set-up error has said what it was */
        fprintf(stderr, "train_data_parallel: rank %d failed first, with exit code %d%s\n", failed_rank, code,
                restarts ? " (after every restart)" : "");
    return code;
}

/* The model (a Sequential: Linear(100, 10), or Linear(100, N)-ReLU-Linear(N, 10)), on this rank's GPU;
 * without one, on the CPU (saying why, unless --device asked). ddp: join the group (TCPStore rendezvous
 * at MASTER_ADDR:MASTER_PORT, NCCL on GPUs) and start every replica from rank 0's parameters. */
static void build(run *r) {
    ltc_manual_seed(r->o.seed);
    const int64_t widths[3] = {IN, r->o.hidden, OUT};
    const int layers = r->o.hidden ? 2 : 1;
    CHECK(ltc_module_sequential_new(&r->model), "create the model");
    for (int i = 0; i < layers; i++) {
        ltc_module *m = NULL;
        if (i > 0) {
            CHECK(ltc_module_relu_new(&m), "create the ReLU");
            CHECK(ltc_module_sequential_append(r->model, m), "add the ReLU to the model");
            ltc_module_free(m);
        }
        CHECK(ltc_module_linear_new(&m, widths[i], widths[i == layers - 1 ? 2 : 1], 1), "create a Linear layer");
        CHECK(ltc_module_sequential_append(r->model, m), "add the Linear layer to the model");
        ltc_module_free(m);
    }
    ltc_status s = ltc_module_to(r->model, r->dev);
    if (s == LTC_ERR_CUDA_UNAVAILABLE && !r->o.device_given) {
        if (r->rank == 0)
            fprintf(stderr, "no GPU: %s\n  -> training on the CPU\n", ltc_last_error());
        r->dev = (ltc_device){LTC_DEVICE_CPU, 0};
        r->o.graph = 0;
    } else {
        CHECK(s, "move the model to the device");
    }
    CHECK(ltc_module_parameters(&r->params, r->model), "list the model's parameters");
    if (!r->o.dp) {
        CHECK(ltc_dist_init(&r->dist, &r->env, r->dev, r->o.timeout), "join the data-parallel group");
        CHECK(ltc_dist_broadcast_parameters(r->dist, r->params, 0), "broadcast rank 0's parameters");
    }
    ltc_sgd_options so = LTC_SGD_OPTIONS_INIT;
    so.lr = r->o.lr, so.momentum = r->o.momentum;
    CHECK(ltc_optimizer_sgd_new(&r->opt, r->params, &so), "create the optimizer");
    true_weights(r->o.seed, r->w_true, r->b_true);
    r->xb = malloc(sizeof(float) * (size_t)r->per * IN), r->yb = malloc(sizeof(float) * (size_t)r->per * OUT);
    if (!r->xb || !r->yb) {
        fprintf(stderr, "error: cannot allocate a batch of %d samples\n", r->per);
        exit(EXIT_ERROR);
    }
}

/* forward, loss, backward, gradient average, SGD step: the step, eager or under capture. *loss new. */
static void step_body(run *r, ltc_tensor **loss, const ltc_tensor *x, const ltc_tensor *y) {
    ltc_tensor *pred = NULL;
    if (r->o.dp && r->dev.type == LTC_DEVICE_CUDA) /* on the CPU, dp is the plain forward */
        CHECK(ltc_module_data_parallel_forward(&pred, r->model, x, NULL, 0), "run the forward over every GPU");
    else
        CHECK(ltc_module_forward(&pred, r->model, x), "run the forward");
    CHECK(ltc_mse_loss(loss, pred, y), "compute the loss");
    CHECK(ltc_tensor_backward(*loss), "run the backward");
    if (r->dist) /* every rank now holds the global gradient */
        CHECK(ltc_dist_average_gradients(r->dist, r->params), "average the gradients");
    CHECK(ltc_optimizer_step(r->opt), "take the SGD step");
    ltc_tensor_free(pred);
}

/* --graph: the step captured once, on the graph's own inputs (copies of this batch); the capture records
 * the work without running it. */
static void capture_step(run *r, const ltc_tensor *x, const ltc_tensor *y) {
    CHECK(ltc_tensor_to(&r->gx, x, r->dev, 0), "make the graph's input");
    CHECK(ltc_tensor_to(&r->gy, y, r->dev, 0), "make the graph's targets");
    CHECK(ltc_cuda_graph_new(&r->graph, r->dev), "create the CUDA graph");
    CHECK(ltc_optimizer_zero_grad(r->opt), "zero the gradients"); /* the captured backward makes them */
    CHECK(ltc_cuda_graph_capture_begin(r->graph), "capture the step as a CUDA graph");
    step_body(r, &r->gloss, r->gx, r->gy);
    CHECK(ltc_cuda_graph_capture_end(r->graph), "capture the step as a CUDA graph");
}

/* One training step on this rank's shard of the global batch of `step`; *loss: its loss (new). */
static void train_step(run *r, int step, int first_step, ltc_tensor **loss) {
    const int64_t xs[2] = {r->per, IN}, ys[2] = {r->per, OUT};
    ltc_tensor *x = NULL, *y = NULL;
    make_batch(r->o.seed, step, (int64_t)r->rank * r->per, r->per, r->w_true, r->b_true, r->xb, r->yb);
    CHECK(ltc_tensor_from_data(&x, r->xb, xs, 2, LTC_FLOAT32, r->dev), "put the batch on the device");
    CHECK(ltc_tensor_from_data(&y, r->yb, ys, 2, LTC_FLOAT32, r->dev), "put the targets on the device");
    if (r->o.graph && step - first_step >= WARMUP_STEPS) { /* after the eager warm-up: replays */
        if (!r->graph)
            capture_step(r, x, y);
        CHECK(ltc_tensor_copy(r->gx, x, 0), "copy the batch into the graph's input");
        CHECK(ltc_tensor_copy(r->gy, y, 0), "copy the targets into the graph's input");
        CHECK(ltc_cuda_graph_replay(r->graph), "replay the step");
        CHECK(ltc_tensor_detach(loss, r->gloss), "read the loss");
    } else {
        CHECK(ltc_optimizer_zero_grad(r->opt), "zero the gradients");
        step_body(r, loss, x, y);
    }
    ltc_tensor_free(x);
    ltc_tensor_free(y);
}

/* At a check: the global loss, finite, and finite weights; else says where the training diverged and
 * returns EXIT_DIVERGED. -1 when all is well. The loss is read only at these checks, so it went bad after
 * the last one. */
static int check_step(run *r, int step, const ltc_tensor *loss, double *l) {
    double dw = 0, db = 0;
    CHECK(ltc_tensor_item(l, loss), "read the loss");
    agree(r, l, 1, LTC_REDUCE_AVG, "average the loss over the ranks"); /* the loss over the global batch */
    if (isfinite(*l) && weights_finite(r, &dw, &db)) {
        r->checked = step;
        return -1;
    }
    char before[64] = "no check before it";
    if (r->checked >= 0)
        snprintf(before, sizeof before, "at step %d, the check before, it was finite", r->checked);
    if (r->rank == 0)
        fprintf(stderr,
                "error: the training diverged: %s at step %d, found by the check there; %s (checks: every "
                "--log-every %d steps, and the last step); lr %g: a smaller --lr converges\n",
                !isfinite(*l) ? (isnan(*l) ? "the loss is nan" : "the loss is infinite")
                              : "the weights hold NaN or infinite values after the update",
                step, before, r->o.log_every, r->o.lr);
    return EXIT_DIVERGED;
}

/* After step `step`: the checks, the log line, the checkpoint and the agreed stop. -1 to go on, else the
 * exit code the run ends with (*my_signal: the signal that reached this rank, if one did). */
static int after_step(run *r, int step, const ltc_tensor *loss, int *my_signal) {
    const int last = step == r->o.steps - 1, log_now = step % r->o.log_every == 0 || last;
    int stop = g_signal != 0; /* a signal reaches the ranks at different moments: they agree before stopping */
    if (r->o.checkpoint)
        stop = any_rank(r, stop, "agree on stopping");
    const int save_now = r->o.checkpoint && (stop || last || (step + 1) % r->o.checkpoint_every == 0);
    double l = 0;
    if ((log_now || save_now) && check_step(r, step, loss, &l) >= 0)
        return EXIT_DIVERGED; /* never a PASS, never a checkpoint of NaNs */
    if (log_now) {
        if (r->dist) /* a divergence of the replicas is an error */
            CHECK(ltc_dist_check_replicas(r->dist, r->params), "check that the replicas agree");
        if (r->rank == 0) {
            printf("step %5d  loss %.6f%s\n", step, l, r->dist && r->world > 1 ? "  replicas identical" : "");
            fflush(stdout); /* shows through pipes and tee as it happens */
        }
    }
    if (save_now && r->rank == 0) { /* atomic: tmp, fsync, rename */
        CHECK(ltc_checkpoint_set_step(r->save, step + 1), "save the checkpoint");
        CHECK(ltc_checkpoint_save(r->save, r->o.checkpoint), "save the checkpoint");
    }
    if (!stop)
        return -1;
    char who[64];
    *my_signal = g_signal;
    int code = stop_reason(who, sizeof who, r, *my_signal);
    if (r->rank == 0)
        fprintf(stderr, "train_data_parallel: %s: stopped after step %d; checkpoint %s saved (--resume goes on)\n", who,
                step, r->o.checkpoint);
    return code;
}

/* The verdict: how far the learned weights are from W and b (the Linear), or the held-out loss against
 * the noise's (the MLP). */
static int verdict(run *r) {
    double dw = 0, db = 0, noise = 0;
    if (!weights_finite(r, &dw, &db)) {
        if (r->rank == 0)
            fprintf(stderr, "error: the training diverged: the weights hold NaN or infinite values at the end (step %d)\n",
                    r->o.steps - 1);
        return EXIT_DIVERGED;
    }
    if (r->o.hidden) {
        double l = held_out_loss(r, &noise);
        int ok = l <= noise + HIDDEN_TOLERANCE;
        if (r->rank == 0)
            printf("result: %s: held-out loss %.3e, the noise's %.3e (tolerance: the noise's + %g)\n", ok ? "PASS" : "FAIL",
                   l, noise, HIDDEN_TOLERANCE);
        return ok ? EXIT_TRAINED : EXIT_NOT_LEARNED;
    }
    int ok = dw <= TOLERANCE && db <= TOLERANCE;
    if (r->rank == 0)
        printf("result: %s: max |W - W*| = %.3e, max |b - b*| = %.3e (tolerance %g)\n", ok ? "PASS" : "FAIL", dw, db,
               TOLERANCE);
    return ok ? EXIT_TRAINED : EXIT_NOT_LEARNED;
}

static void print_banner(const run *r) {
    char where[32], model[48] = "Linear(100, 10)";
    ltc_device_format(where, sizeof where, r->dev);
    if (r->o.hidden)
        snprintf(model, sizeof model, "MLP 100-%d-10", r->o.hidden);
    printf("train_data_parallel: %s, %d rank%s (launcher: %s), %s%s, global batch %d (%d per rank), %d steps, "
           "lr %g, momentum %g, model %s\n",
           r->o.dp ? "dp" : "ddp", r->world, r->world == 1 ? "" : "s", ltc_launcher_name(r->env.launcher),
           r->o.dp && r->dev.type == LTC_DEVICE_CUDA ? "every GPU from cuda:0" : where, r->o.graph ? ", CUDA graph" : "",
           r->o.batch, r->per, r->o.steps, r->o.lr, r->o.momentum, model);
}

static void finish(run *r) {
    ltc_tensor_free(r->gx), ltc_tensor_free(r->gy), ltc_tensor_free(r->gloss);
    ltc_cuda_graph_free(r->graph);
    ltc_checkpoint_free(r->save);
    ltc_optimizer_free(r->opt);
    ltc_tensor_list_free(r->params);
    ltc_module_free(r->model);
    ltc_dist_free(r->dist);
    ltc_checkpoint_lock_free(r->lock);
    free(r->xb), free(r->yb);
}

int main(int argc, char **argv) {
    quiet_libtorch_log();
    static run r = {.checked = -1};
    if (!parse_options(&r.o, argc, argv))
        return EXIT_USAGE;
    if (ltc_dist_env_from(&r.env, NULL) != LTC_OK) {
        fprintf(stderr, "error: %s\n", ltc_last_error());
        return EXIT_USAGE;
    }
    r.dev = r.o.device_given ? r.o.device : (ltc_device){LTC_DEVICE_CUDA, -1};
    if (r.dev.type == LTC_DEVICE_CUDA && r.dev.index < 0) /* "cuda": this rank's GPU */
        r.dev.index = r.o.dp ? 0 : r.env.local_rank;
    if ((r.o.nproc > 1 || r.o.max_restarts > 0) && r.env.launcher == LTC_LAUNCHER_NONE)
        return close_stdout(launch_ranks(&r.o, argv, r.dev));
    r.rank = r.env.rank, r.world = r.o.dp ? 1 : r.env.world_size;
    if (r.o.batch % r.world != 0) {
        fprintf(stderr, "error: --batch %d does not split evenly over %d ranks: use a multiple of %d\n", r.o.batch,
                r.world, r.world);
        return EXIT_USAGE;
    }
    r.per = r.o.batch / r.world;
    build(&r);
    if (r.rank == 0)
        print_banner(&r);
    int first_step = r.o.checkpoint ? prepare_checkpoint(&r) : 0;
    if (first_step < 0) { /* every rank refused it (they agree on what they see) */
        finish(&r);
        return close_stdout(-first_step);
    }

    /* The training loop: each rank makes its own shard of every global batch. */
    int code = -1, my_signal = 0; /* code: set when the run ends early */
    for (int step = first_step; step < r.o.steps && code < 0; step++) {
        ltc_tensor *loss = NULL;
        train_step(&r, step, first_step, &loss);
        code = after_step(&r, step, loss, &my_signal);
        ltc_tensor_free(loss);
    }
    if (code < 0)
        code = verdict(&r);
    finish(&r);
    int rc = close_stdout(code); /* output lost (a full disk, a closed pipe) is an error too */
    if (my_signal && rc == code) {
        /* The signal reached this rank: end by it, now that the checkpoint is saved, so that whoever
         * started this process (a shell, --nproc, torchrun) sees which rank it reached. */
        signal(my_signal, SIG_DFL);
        raise(my_signal);
    }
    return rc;
}
