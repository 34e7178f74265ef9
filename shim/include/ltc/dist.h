/*
 * ltc/dist.h: data-parallel training: launchers, process groups, collectives, the cross-rank check.
 * Part of the ltc API: include ltc.h (the umbrella), or this header alone. Conventions: see ltc.h.
 */
#ifndef LTC_DIST_H
#define LTC_DIST_H

#include "ltc/core.h"
#include "ltc/diagnose.h" /* ltc_cause, in the cross-rank report */


#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------------ */
/* Distributed: launchers, process groups, collectives (train_data_parallel)                        */
/* ------------------------------------------------------------------------------------------------ */

/* Who started this process. Values pinned. */
typedef enum ltc_launcher {
    LTC_LAUNCHER_NONE = 0,     /* no launcher variables: one process, rank 0 of 1 */
    LTC_LAUNCHER_TORCHRUN = 1, /* RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT: torchrun
                                  --no-python, or anything else that sets them */
    LTC_LAUNCHER_SLURM = 2,    /* srun: SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID */
    LTC_LAUNCHER_MPI = 3,      /* Open MPI's mpirun: OMPI_COMM_WORLD_RANK, _SIZE, _LOCAL_RANK */
    LTC_LAUNCHER_LOCAL = 4     /* ltc_launch_local: the torchrun variables plus LTC_LAUNCH_LOCAL=1 */
} ltc_launcher;

/*! "none", "torchrun", "slurm", "mpirun", "ltc_launch_local"; "unknown" for a value not listed (never
 *  NULL). Static storage. Thread-safe. */
LTC_API const char *ltc_launcher_name(ltc_launcher launcher);

#define LTC_DIST_ADDR_MAX 256

/* Where this process sits in a data-parallel job, as its launcher described it. */
typedef struct ltc_dist_env {
    ltc_launcher launcher;
    int rank;                             /* 0 .. world_size-1 */
    int world_size;                       /* >= 1 */
    int local_rank;                       /* this rank's index on its node: the GPU it should use */
    char master_addr[LTC_DIST_ADDR_MAX];  /* host of the rendezvous store (rank 0's, or the launcher's) */
    int master_port;                      /* 1..65535; 0 only with world_size 1: any free port */
    int external_store;                   /* 1: the launcher hosts the store (torchrun's agent, from
                                             TORCHELASTIC_USE_AGENT_STORE=True); rank 0 only connects */
    int restart;                          /* TORCHELASTIC_RESTART_COUNT, else 0: keeps restarts apart */
} ltc_dist_env;

/*! Reads the launcher's variables into *out. envp: a NULL-terminated array of "NAME=value" strings, or
 *  NULL for this process's environment. The first launcher found wins, in this order: RANK/WORLD_SIZE
 *  (torchrun), SLURM_PROCID/SLURM_NTASKS, OMPI_COMM_WORLD_RANK/_SIZE; none -> rank 0 of 1 on
 *  127.0.0.1, port 0. MASTER_ADDR and MASTER_PORT are read for every launcher; under Slurm and mpirun
 *  they default to 127.0.0.1 (single node only) and 29500; a job of one rank needs neither (port 0).
 *  LOCAL_RANK defaults to RANK.
 *  Bad input -> LTC_ERR_INVALID_ARGUMENT naming the variable, its value and what would be valid:
 *  WORLD_SIZE=0, RANK at or past WORLD_SIZE, a negative or non-numeric number, RANK without
 *  WORLD_SIZE, MASTER_PORT not in 1..65535, a MASTER_ADDR that is empty or too long, a missing
 *  MASTER_ADDR/MASTER_PORT where there is no default. *out untouched on failure. Thread-safe with
 *  envp given; with NULL, as safe as getenv. */
LTC_API ltc_status ltc_dist_env_from(ltc_dist_env *out, const char *const *envp);

/* How ltc_launch_local starts the ranks. Start from LTC_LAUNCH_OPTIONS_INIT and set what differs; fields are
 * only appended, a newer library reading an older caller's struct by its version. */
typedef struct ltc_launch_options {
    unsigned int version;         /* LTC_LAUNCH_OPTIONS_VERSION */
    int nproc;                    /* ranks to start, 1 or more (default 1) */
    const char *const *argv;      /* every rank's argv: argv[0] first, NULL-terminated (no default: set it) */
    ltc_device_type device_type;  /* LTC_DEVICE_CUDA (default): one rank per GPU; LTC_DEVICE_CPU: CPU ranks */
    int port;                     /* MASTER_PORT: 1..65535, or 0 (default) for a free one */
    double timeout_s;             /* the ranks' timeout, > 0 (default 300) */
    int max_restarts;             /* group restarts after a rank fails, 0 (default) to 1000 */
    int forward_signals;          /* 1: forward SIGINT, SIGTERM and SIGHUP to the ranks (signal handlers for the
                                     call's duration); 0 (default): install none */
} ltc_launch_options;

#define LTC_LAUNCH_OPTIONS_VERSION 1
#define LTC_LAUNCH_OPTIONS_INIT {LTC_LAUNCH_OPTIONS_VERSION, 1, NULL, LTC_DEVICE_CUDA, 0, 300.0, 0, 0}

/*! Starts options->nproc copies of this program as local ranks and waits for them all, as
 *  `torchrun --no-python --nproc-per-node N --max-restarts M` does: each runs /proc/self/exe with
 *  options->argv and this process's environment plus RANK=LOCAL_RANK=i, WORLD_SIZE=LOCAL_WORLD_SIZE=N,
 *  MASTER_ADDR=127.0.0.1, MASTER_PORT, NCCL_NVLS_ENABLE=0 (NVLink multicast off: see ltc_dist_init),
 *  TORCHELASTIC_RESTART_COUNT (0 on the first start) and TORCHELASTIC_MAX_RESTARTS (launcher variables
 *  of Slurm, MPI and torchrun's agent are removed), LTC_LAUNCH_LOCAL=1, and OMP_NUM_THREADS=1 when N > 1
 *  and it is not set (as torchrun does). options NULL: LTC_LAUNCH_OPTIONS_INIT, whose argv is NULL.
 *  Each rank dies with the launcher (PR_SET_PDEATHSIG with SIGKILL, set between fork and exec, and a
 *  rank whose launcher is already gone exits at once): killing the launcher, even with SIGKILL, leaves
 *  no rank behind. The death signal follows the launching thread: call it from the main thread.
 *  device_type LTC_DEVICE_CUDA: one rank per GPU, so N above the number of visible GPUs ->
 *  LTC_ERR_INVALID_ARGUMENT naming both numbers (and why LibTorch sees none, when it sees none).
 *  LTC_DEVICE_CPU: N above the CPU cores this process may use (its affinity mask; at least 2) ->
 *  LTC_ERR_INVALID_ARGUMENT naming both numbers: each rank is a whole process with its own LibTorch.
 *  A port already in use -> LTC_ERR_DISTRIBUTED naming it.
 *  Signals: with forward_signals 1, SIGINT, SIGTERM and SIGHUP reaching the launcher while it waits are
 *  forwarded to every rank (which then have 10 s to exit before SIGTERM, and 5 s more before SIGKILL),
 *  and no restart follows; its handlers are installed for the call's duration and the caller's restored
 *  after (call it from the main thread, not while another thread changes those handlers). With 0 (the
 *  default) it installs no handler: such a signal does to the launcher what the caller arranged (by
 *  default it ends it, and its ranks with it).
 *  When a rank (other than rank 0, which hosts the store) exits with a failure or is killed by a signal,
 *  the launcher writes that into the rank's heartbeat in the store, so the others end at once naming the
 *  rank and the status or signal; a frozen rank is still named by the heartbeat timeout. Once a rank
 *  fails, the others have timeout_s + 5 s to exit on their own, then get SIGTERM, and SIGKILL 5 s later:
 *  it never hangs.
 *  Restarts, as `torchrun --max-restarts`: after a rank fails, every rank is ended, then all start again
 *  with TORCHELASTIC_RESTART_COUNT one higher (and, with port 0, a new free port); a program that
 *  checkpoints resumes from its checkpoint there. A forwarded signal is never followed by a restart, nor
 *  is a rank's exit status 2: by the convention of ltc's programs that is bad usage or a set-up that
 *  cannot work (an unknown option, a checkpoint path that cannot be written or that another run holds),
 *  which a restart would repeat; that is said on stderr ("ltc_launch_local: rank 0 exited with status 2
 *  (bad usage or set-up, which a restart repeats): no restart"). Each restart is announced on stderr
 *  ("ltc_launch_local: rank 1 was killed by signal 9 (SIGKILL); restarting all 2 ranks (restart 1 of 3)";
 *  a rank that exited 143 is "exited 143 after SIGTERM (128+15)").
 *  On LTC_OK every rank has been reaped, and the outs describe the last attempt: *out_exit_code is 0 if
 *  all exited 0, else the exit status of the first rank that failed (128+N if signal N killed it), and
 *  *out_failed_rank that rank (-1 if none); *out_restarts (may be NULL) the restarts made. One exception:
 *  when the first exited with 128+N (a program's way of saying that signal N stopped it, or stopped its
 *  group), and another rank was killed by signal N that the launcher did not send, that rank is named: it
 *  got the signal (a program that saves on SIGTERM and then dies by it, as train_data_parallel does, is
 *  named so, and its peers exit 143). Bad input -> LTC_ERR_INVALID_ARGUMENT naming the field, its value
 *  and what is valid (a version it does not know, nproc < 1, argv NULL or empty, a device type other than
 *  CPU or CUDA, port outside 0..65535, timeout_s not a finite number > 0, max_restarts outside 0..1000,
 *  forward_signals not 0 or 1); the outs are untouched on failure. Do not call it from a process that is
 *  itself a rank. */
LTC_API ltc_status ltc_launch_local(int *out_exit_code, int *out_failed_rank, int *out_restarts,
                                    const ltc_launch_options *options);

/* A process group: this rank's membership of one data-parallel job. */
typedef struct ltc_dist ltc_dist;

/*! Joins the job env describes (ltc_dist_env_from) and returns this rank's group in *out (new, owned
 *  by the caller; ltc_dist_free). Rank 0 hosts a c10d TCPStore on master_port (unless the launcher
 *  hosts it); every rank reaches it at master_addr:master_port and waits until all world_size ranks
 *  have joined. Then the communicator on `device`: cuda:N -> c10d's ProcessGroupNCCL on that GPU;
 *  cpu -> a simple all-reduce through the store itself (for tests and the CPU fallback: correct,
 *  not fast). A watchdog thread then beats a heartbeat through the store and watches the others'.
 *  Liveness across nodes: rank 0 also listens on a free port of its own (every address), and every
 *  other rank keeps one TCP connection to it, carrying a byte each heartbeat both ways (a thread on
 *  each rank). A process that ends, however it ends, has that connection closed by its kernel: the
 *  others name it within a second or two on any node ("rank 1 is lost: its process on host n2 ended
 *  without leaving the group: ..."), whatever timeout_s is. A process alive but silent (frozen, or
 *  its node cut off by a network partition) is named after timeout_s, on both sides of a partition
 *  ("rank 0 is lost: nothing heard from it for 60.0 s ..."). Every call to the store is bounded by
 *  timeout_s as well (c10d's own receive after a wait is not). A rank that cannot reach rank 0's port
 *  says so once on stderr and goes on, a death on another node then named after the timeout.
 *  timeout_s (> 0, at most 1e7) bounds every wait: the store not reachable within it -> LTC_ERR_TIMEOUT
 *  naming the address; a rank missing at the rendezvous -> LTC_ERR_TIMEOUT naming it; the port
 *  already in use on rank 0 -> LTC_ERR_DISTRIBUTED naming it. At the rendezvous the ranks exchange
 *  their world size, device, host name and GPU identity (the GPU's UUID, or its PCI bus id where there
 *  is no UUID) and refuse, with LTC_ERR_DISTRIBUTED naming the ranks: a disagreement on the world
 *  size; a disagreement on the device type (a rank on the CPU among ranks on GPUs, each rank's device
 *  named); two ranks on one physical GPU (its UUID named). Different GPUs are accepted whatever their
 *  ordinals: under Slurm's --gpus-per-task, or one CUDA_VISIBLE_DEVICES per rank, each sees cuda:0.
 *  A CUDA device in a libltc without NCCL -> LTC_ERR_UNSUPPORTED; device errors as at tensor
 *  creation; other bad input -> LTC_ERR_INVALID_ARGUMENT.
 *  While it waits (for the store, the other ranks, or in a collective or ltc_dist_free later), a rank
 *  prints a line to stderr every timeout/5 seconds (1 to 5 s) saying whom it waits for and how long
 *  is left: "ltc: rank 0 waits for rank 1 of 2 to join the rendezvous at 127.0.0.1:29500 (12 s left
 *  of the timeout of 30 s)".
 *  What it does to the process: nothing beyond the threads above (and, with a GPU, c10d's and NCCL's): no
 *  exit hook, no signal handler, no environment variable. NCCL reads its NVLink multicast (NVLS) switch
 *  only from the environment, and where the NVLink fabric lacks multicast NCCL fails to set NVLS up, at the
 *  first collective: run the ranks with NCCL_NVLS_ENABLE=0 there (ltc_launch_local sets it for its ranks;
 *  under torchrun, srun or mpirun export it), and a failure that names NVLS or multicast says so.
 *  LibTorch's log level is left as it is: c10d logs each broken or silent store connection as a warning,
 *  often with a C++ backtrace; ltc_log_level_init(LTC_LOG_ERROR) or ltc_log_level_set keeps those out, as
 *  the example programs do.
 *  A process that ends without ltc_dist_free (an exit() after a failure, a crash, a kill): its liveness
 *  connection closes, and the others name it within a second or two ("ended without leaving the group";
 *  under ltc_launch_local with its exit status or signal); the group's threads keep running while exit()
 *  runs the static destructors, on the group's own heap state and sockets, and the process ends with its
 *  own exit status, its atexit handlers run. Free the group before exit where you can,
 *  after a failure too: the others then read "failed" or "left" at once, and ltc_dist_free waits for the
 *  communicator's abort (within its bound). One last resort: if, after the group failed, the calling
 *  thread stays blocked inside one of its collectives for timeout_s + 10 s (a call the communicator's
 *  abort did not release), the watchdog ends the process with _exit(1), saying why on stderr, rather
 *  than let it hang.
 *  Threads: one group per thread; its calls must come from one thread at a time. */
LTC_API ltc_status ltc_dist_init(ltc_dist **out, const ltc_dist_env *env, ltc_device device, double timeout_s);

/*! Leaves the group: shuts the communicator down, tells the others this rank is done, and on the rank
 *  hosting the store waits until every rank has left, so that no rank loses the store mid-call. After a
 *  failure it aborts the communicator instead (or waits for the abort the failure started). Bounded: the
 *  communicator's shutdown or abort is waited for up to the group's timeout (past it, a line on stderr,
 *  and the work is left to finish on its own), and the store host's wait for the others as long, so it
 *  returns within about 2 x timeout_s + 5 s at worst, at once in the usual case. NULL is a no-op. */
LTC_API void ltc_dist_free(ltc_dist *dist);

/*! This rank, 0..world_size-1; -1 on NULL. */
LTC_API int ltc_dist_rank(const ltc_dist *dist);
/*! Number of ranks; -1 on NULL. */
LTC_API int ltc_dist_world_size(const ltc_dist *dist);

/* Collectives. Every rank must make the same calls in the same order, on tensors of the same dtype and
 * shape. On CPU groups (the store) a call that differs (another collective, op, root, dtype or shape) fails
 * on every rank alike with LTC_ERR_INVALID_ARGUMENT naming both calls, and the group goes on; NCCL cannot
 * tell (as in PyTorch): such calls hang until the timeout or give wrong values. Each call returns as soon
 * as the work is queued on the group's device (NCCL: in stream order, as torch.distributed's) or done
 * (CPU), unless it says it blocks. The tensors are changed in place, outside autograd (as
 * torch.distributed's). Failures, on every call:
 *  - a rank lost (its process ended, or its heartbeat stopped for the timeout) -> LTC_ERR_DISTRIBUTED
 *    naming it ("rank 1 is lost: ..."); the watchdog aborts the communicator as soon as it knows, so
 *    a call blocked on the lost rank returns, and every later call returns the same error;
 *  - the store unreachable, or a peer not arriving within the timeout -> LTC_ERR_TIMEOUT or
 *    LTC_ERR_DISTRIBUTED naming the address or the rank;
 *  - NULL, a tensor (or a parameter) on another device than the group's, a root outside 0..world size-1
 *    -> LTC_ERR_INVALID_ARGUMENT naming it, before the group hears of the call (the group goes on).
 * Threads: as the group (one thread at a time). */

/* How ltc_dist_all_reduce combines the ranks' tensors. Values pinned. */
typedef enum ltc_reduce_op {
    LTC_REDUCE_SUM = 0,
    LTC_REDUCE_AVG = 1, /* the sum divided by the world size; floating-point tensors only */
    LTC_REDUCE_MIN = 2,
    LTC_REDUCE_MAX = 3
} ltc_reduce_op;

/*! Replaces `tensor`, on every rank, by the elementwise `op` of every rank's `tensor` (NCCL's all-reduce,
 *  or on CPU groups the ranks' tensors combined in rank order: a sum, then for LTC_REDUCE_AVG the division,
 *  so every rank holds the same bits). Any dtype and layout (a non-contiguous tensor goes through a
 *  contiguous copy). LTC_REDUCE_AVG on an integer tensor -> LTC_ERR_INVALID_ARGUMENT (its average would be
 *  cut to a whole number: use LTC_REDUCE_SUM and divide); an op not listed -> LTC_ERR_INVALID_ARGUMENT
 *  naming it. */
LTC_API ltc_status ltc_dist_all_reduce(ltc_dist *dist, ltc_tensor *tensor, ltc_reduce_op op);

/*! Overwrites `tensor` on every rank with rank `root`'s (0 <= root < world size). */
LTC_API ltc_status ltc_dist_broadcast(ltc_dist *dist, ltc_tensor *tensor, int root);

/*! Returns once every rank has called it (on GPUs, once the group's device has done this rank's work
 *  queued before it). Blocks. */
LTC_API ltc_status ltc_dist_barrier(ltc_dist *dist);

/*! Overwrites every rank's `params` (any tensor list, e.g. a module's parameters) with rank `root`'s, as
 *  one flat buffer: the entries must share one dtype (else LTC_ERR_INVALID_ARGUMENT naming two that do
 *  not). params empty -> LTC_ERR_INVALID_ARGUMENT. */
LTC_API ltc_status ltc_dist_broadcast_parameters(ltc_dist *dist, const ltc_tensor_list *params, int root);

/*! After backward: averages the gradients of `params` over the ranks as one flat buffer (one all-reduce),
 *  so each rank holds the gradient of the whole global batch (for equal shards), as DDP does. The
 *  gradients then share that buffer (as DDP's gradient_as_bucket_view): a gradient handle taken before
 *  the call still shows the rank's own; take it again. Entries that do not require a gradient (frozen)
 *  are skipped, as DDP skips them. Refused with LTC_ERR_INVALID_ARGUMENT naming the entry: one that
 *  requires a gradient but has none yet (backward not run, or the entry unused by the loss); gradients
 *  of more than one dtype; no entry requiring a gradient; params empty. Works inside a CUDA graph capture
 *  (ltc_cuda_graph_capture_begin), NCCL's all-reduce then recorded in the graph. */
LTC_API ltc_status ltc_dist_average_gradients(ltc_dist *dist, const ltc_tensor_list *params);

/*! Checks that every rank holds the same `params`: a two-number checksum per rank (the sum, and a sum
 *  weighted by position, in float64), all-gathered and compared bit for bit. Blocks until the answer is
 *  known. Replicas that differ -> LTC_ERR_DISTRIBUTED naming the ranks that differ from rank 0 and both
 *  checksums (the group goes on). params empty -> LTC_ERR_INVALID_ARGUMENT. */
LTC_API ltc_status ltc_dist_check_replicas(ltc_dist *dist, const ltc_tensor_list *params);

/* Cross-rank check: is this whole allocation ready for data-parallel training? (check_cuda under a
 * launcher). Every rank diagnoses its own GPU (ltc_diagnose, cuda:<local rank>) and reports to rank 0
 * through the rendezvous store, so the check works where NCCL does not; every rank then holds the same
 * report: one row per rank, findings across ranks (two ranks on one GPU, versions that differ), and, after
 * ltc_cluster_allreduce_proof, an all-reduce proof and a bandwidth sweep. */
typedef struct ltc_cluster_report ltc_cluster_report;

/* What is wrong with one rank, as the cross-rank check sees it. Values pinned. */
typedef enum ltc_rank_state {
    LTC_RANK_OK = 0,              /* its GPU is usable and nothing across ranks is wrong with it */
    LTC_RANK_GPU_UNUSABLE = 1,    /* its own diagnosis found a cause (the row's cause) */
    LTC_RANK_NOT_JOINED = 2,      /* it never reached the store within the timeout */
    LTC_RANK_NO_REPORT = 3,       /* it joined but its report never came: it died or hung */
    LTC_RANK_NO_DEVICE = 4,       /* its local rank has no GPU (cuda:<local rank> does not exist) */
    LTC_RANK_SHARED_GPU = 5,      /* another rank uses the same GPU (same UUID, or same host and cuda:N) */
    LTC_RANK_VERSION_MISMATCH = 6,/* its LibTorch, CUDA or NCCL differs from most ranks' */
    LTC_RANK_COLLECTIVE = 7       /* it did not finish a collective of the proof within the timeout */
} ltc_rank_state;

/*! "ok", "gpu unusable", "did not join", "no report", "no GPU for its local rank", "shares a GPU",
 *  "versions differ", "collective failed"; "unknown" for other values (never NULL). Static. Thread-safe. */
LTC_API const char *ltc_rank_state_name(ltc_rank_state state);

/* One rank's row. Strings are borrowed from the report and live as long as it; "" when unknown. */
typedef struct ltc_cluster_rank {
    int rank, local_rank;
    ltc_rank_state state;
    ltc_cause cause;            /* its diagnosis' primary cause (LTC_CAUSE_NONE when usable or no report) */
    const char *host;           /* its host name */
    const char *gpu_name;       /* cuda:<local rank>'s name, e.g. "NVIDIA H200" */
    const char *gpu_uuid;       /* "GPU-xxxxxxxx-..." */
    const char *torch_version;  /* LibTorch's version */
    int driver_version;         /* the newest CUDA the driver supports (13000 for 13.0); 0 if unknown */
    const char *driver_release; /* the driver's own version, e.g. "580.65.06" (NVML, else the kernel module) */
    int cuda_version;           /* CUDA runtime LibTorch was built with; 0 if none */
    int nccl_version;           /* NCCL loaded (or built with); 0 if none */
    const char *message;        /* what is wrong, one sentence ("" when ok) */
    const char *fix;            /* what to do ("" when ok or unknown) */
} ltc_cluster_rank;

/* One size of the bandwidth sweep, as nccl-tests reports it: time is the mean over the ranks of each
 * rank's mean time per all-reduce; algbw = bytes / time; busbw = algbw * 2(n-1)/n (0 for one rank). */
typedef struct ltc_cluster_bandwidth {
    size_t bytes;        /* the buffer all-reduced (float32 elements * 4) */
    double time_us;      /* microseconds per all-reduce */
    double algbw_gbps;   /* GB/s, 1e9 bytes per second */
    double busbw_gbps;
} ltc_cluster_bandwidth;

/*! Every rank of the job env describes (ltc_dist_env_from) calls this at the same point. Each rank
 *  runs ltc_diagnose(flags) (LTC_DIAGNOSE_* bits; others -> LTC_ERR_INVALID_ARGUMENT) and reads the row
 *  of cuda:<local rank>; rank 0 hosts a store on master_port (or a free port it announces through the
 *  launcher's store), every rank reports its row there, and rank 0 decides which ranks made it: a rank
 *  that never joins or whose report does not come within timeout_s (> 0, at most 1e7) gets its row
 *  (LTC_RANK_NOT_JOINED, LTC_RANK_NO_REPORT); the check never waits longer than about timeout_s plus
 *  the diagnosis. *out is a new report, owned by the caller (ltc_cluster_report_free), the same on
 *  every rank that got rank 0's decision. Errors: env NULL or not valid as for ltc_dist_init ->
 *  LTC_ERR_INVALID_ARGUMENT; this rank cannot reach the store, or rank 0's decision does not come ->
 *  LTC_ERR_TIMEOUT or LTC_ERR_DISTRIBUTED naming the address or rank 0. A GPU problem is a result, not
 *  an error. The report keeps the store open (rank 0: its server) until it is freed: free it before
 *  ltc_dist_init on the same port. Threads: one check per process at a time. */
LTC_API ltc_status ltc_cluster_check(ltc_cluster_report **out, const ltc_dist_env *env, unsigned flags,
                                     double timeout_s);

/*! The collective proof, on every rank of a report whose ranks all reported usable
 *  (ltc_cluster_report_ready): joins a group on `device` (cuda:N -> ProcessGroupNCCL; cpu -> the store,
 *  for tests) over the report's store, all-reduces 1 Mi float32 (or max_bytes, if smaller) and checks
 *  every value, then sweeps all-reduces from 8 B, doubling, to max_bytes (0: no sweep; 5 warm-up and 20
 *  timed calls per size), and records both in the report (its rows, JSON, text, ltc_cluster_report_sweep).
 *  A collective that fails, or that some rank does not finish within timeout_s, names those ranks
 *  (LTC_RANK_COLLECTIVE) and returns LTC_ERR_DISTRIBUTED or LTC_ERR_TIMEOUT; wrong values ->
 *  LTC_ERR_DISTRIBUTED naming the first wrong element. Errors: report NULL, device not valid, max_bytes
 *  above 1 GiB, timeout_s not > 0 -> LTC_ERR_INVALID_ARGUMENT; a report that is not ready ->
 *  LTC_ERR_INVALID_ARGUMENT naming why; a CUDA device without NCCL -> LTC_ERR_UNSUPPORTED. Run it once
 *  per report. Threads: as ltc_dist_init. */
LTC_API ltc_status ltc_cluster_allreduce_proof(ltc_cluster_report *report, ltc_device device, size_t max_bytes,
                                               double timeout_s);

/*! Tells the other ranks this one is done with the store; on rank 0, waits (up to the check's timeout)
 *  until every rank that reported has, then closes the store; on the others, waits (as long) until rank
 *  0 has closed it, so that a later ltc_dist_init on the same port finds a fresh store. NULL is a no-op. */
LTC_API void ltc_cluster_report_free(ltc_cluster_report *report);

/*! 1 when every rank reported a usable GPU of its own, no two share one, their LibTorch, CUDA and NCCL
 *  agree, and the proof (if it ran) passed; else 0 (also for NULL, which sets ltc_last_error()). */
LTC_API int ltc_cluster_report_ready(const ltc_cluster_report *report);
/*! The number of ranks (the world size), one row each; -1 on NULL. */
LTC_API int ltc_cluster_report_rank_count(const ltc_cluster_report *report);
/*! Row `rank` (0 .. count-1) into *out. NULL out or report, a rank out of range ->
 *  LTC_ERR_INVALID_ARGUMENT naming it and the count. */
LTC_API ltc_status ltc_cluster_report_rank(ltc_cluster_rank *out, const ltc_cluster_report *report, int rank);
/*! Sizes in the bandwidth sweep (0 before the proof, or without one; 0 for NULL). */
LTC_API size_t ltc_cluster_report_sweep_count(const ltc_cluster_report *report);
/*! Size `index` (0 .. count-1) of the sweep into *out; out of range -> LTC_ERR_INVALID_ARGUMENT. */
LTC_API ltc_status ltc_cluster_report_sweep(ltc_cluster_bandwidth *out, const ltc_cluster_report *report,
                                            size_t index);
/*! The whole report as one JSON document (verdict, rows, findings, proof, sweep), and as text: one
 *  overall verdict naming the failing ranks and hosts with the fix for each distinct cause, then a table
 *  of the ranks, then the sweep. Borrowed: valid until the report changes (the proof) or is freed;
 *  never NULL ("" for NULL). */
LTC_API const char *ltc_cluster_report_json(const ltc_cluster_report *report);
LTC_API const char *ltc_cluster_report_text(const ltc_cluster_report *report);


#ifdef __cplusplus
}
#endif

#endif /* LTC_DIST_H */
