// Peer for bench_train: the Linear(100, 10) SGD step written directly against LibTorch C++ (no ltc), the
// way a C++ user writes it: torch::nn::Linear, torch::optim::SGD, torch::mse_loss, backward.
//
// usage: peer_train_cpp --mode eager|graph|ddp --batches 64,256,... --out FILE
//                       [--device cuda|cpu] [--threads N] [--min-time S] [--lr X] [--momentum X]
//   eager  each step: opt.zero_grad(); loss = mse_loss(model->forward(x), y); loss.backward(); opt.step()
//   graph  the same step (after zero_grad) captured once as a CUDA graph on a side stream after three
//          warm-up steps, then replayed (x and y are the graph's static inputs: nothing is copied)
//   ddp    one rank of a data-parallel run (GPUs only): the eager step with the gradients averaged
//          between backward and step over c10d's ProcessGroupNCCL (flattened into one buffer, one
//          all-reduce with NCCL's average, copied back), each rank on cuda:LOCAL_RANK with BATCH / WORLD
//          samples. Started once per rank by a launcher that sets RANK, WORLD_SIZE, LOCAL_RANK,
//          MASTER_ADDR and MASTER_PORT (bench_train, torchrun --no-python); rank 0 hosts the
//          TCPStore and writes FILE; the ranks time the same number of steps.
// Then the device is synchronized. Per batch: 3 warm-up steps, then timed steps until --min-time (at
// least 5). Appends one line per batch to FILE, as bench/peer_train.py does:
// result MODE BATCH WORLD RUNS MEDIAN_S MIN_S MAX_S P25_S P75_S TORCH_VERSION
// (quartiles interpolated between samples, as bench/harness.c does).
// Exit codes: 0 done; 1 an error (message on stderr); 2 bad usage.
#include <ATen/Parallel.h>
#include <torch/cuda.h>
#if LTC_PEER_HAS_CUDA
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif
#if LTC_PEER_HAS_NCCL
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#include <torch/headeronly/version.h>
#include <torch/torch.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

double now_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::vector<int64_t> parse_batches(const char *text) {
    std::vector<int64_t> out;
    for (const char *p = text; *p;) {
        char *end;
        long long v = std::strtoll(p, &end, 10);
        if (end == p || v < 1)
            return {};
        out.push_back(v);
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return {};
    }
    return out;
}

// Times `step` (which ends with a device synchronize): 3 warm-up steps, then steps until min_time (at
// least 5); agree(n) turns this process's count into the one every rank uses (identity alone).
template <class Step, class Agree>
std::vector<double> time_steps(Step &&step, double min_time, Agree &&agree) {
    for (int i = 0; i < 3; i++)
        step();
    double t0 = now_s();
    step();
    double once = now_s() - t0;
    int n = agree((int)std::max(5.0, std::min(100000.0, min_time / std::max(once, 1e-7) + 1)));
    std::vector<double> t(n);
    for (auto &s : t) {
        t0 = now_s();
        step();
        s = now_s() - t0;
    }
    std::sort(t.begin(), t.end());
    return t;
}

// Appends "result MODE BATCH WORLD RUNS MEDIAN MIN MAX P25 P75 VERSION" for the sorted samples t.
bool write_result(const std::string &path, const std::string &mode, int64_t batch, int world, const std::vector<double> &t) {
    const size_t n = t.size();
    double median = n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
    auto quantile = [&](double q) {
        double h = (double)(n - 1) * q;
        size_t i = (size_t)h;
        return i + 1 < n ? t[i] + (h - (double)i) * (t[i + 1] - t[i]) : t[n - 1];
    };
    FILE *f = std::fopen(path.c_str(), "a");
    if (!f) {
        std::fprintf(stderr, "peer_train_cpp: cannot open %s: %s\n", path.c_str(), std::strerror(errno));
        return false;
    }
    std::fprintf(f, "result %s %lld %d %zu %.9g %.9g %.9g %.9g %.9g %s\n", mode.c_str(), (long long)batch, world, n, median,
                 t.front(), t.back(), quantile(0.25), quantile(0.75), TORCH_VERSION);
    bool bad = std::ferror(f) != 0;
    if (std::fclose(f) != 0 || bad) {
        std::fprintf(stderr, "peer_train_cpp: cannot write %s: %s\n", path.c_str(), std::strerror(errno));
        return false;
    }
    return true;
}

struct Options {
    std::string mode, out_path, device_name = "cuda";
    std::vector<int64_t> batches;
    double min_time = 0.2, lr = 0.1, momentum = 0.9;
};

// One process, eager or graph, on cuda:0 or the CPU. Returns the exit code.
int run_single(const Options &o) {
    const bool cuda = o.device_name == "cuda";
    const torch::Device device = cuda ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
    for (int64_t batch : o.batches) {
        torch::manual_seed(1);
        torch::nn::Linear model(100, 10);
        model->to(device);
        torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(o.lr).momentum(o.momentum));
        at::Tensor x = torch::randn({batch, 100}, device), y = torch::randn({batch, 10}, device);
        auto body = [&] {
            auto loss = torch::mse_loss(model->forward(x), y);
            loss.backward();
            opt.step();
        };
#if LTC_PEER_HAS_CUDA
        std::unique_ptr<at::cuda::CUDAGraph> graph;
        if (o.mode == "graph") {
            c10::cuda::CUDAGuard guard(device);
            auto side = c10::cuda::getStreamFromPool(false, 0);
            {
                c10::cuda::CUDAStreamGuard on_side(side);
                for (int i = 0; i < 3; i++) {
                    opt.zero_grad();
                    body();
                }
                side.synchronize();
                opt.zero_grad();
                graph = std::make_unique<at::cuda::CUDAGraph>();
                graph->capture_begin();
                body();
                graph->capture_end();
            }
            side.synchronize();
        }
#else
        struct NoGraph {
            void replay() {}
        };
        std::unique_ptr<NoGraph> graph;
        if (o.mode == "graph")
            throw std::runtime_error("graph mode needs a LibTorch with CUDA");
#endif
        auto step = [&] {
            if (graph) {
                graph->replay();
            } else {
                opt.zero_grad();
                body();
            }
            if (cuda)
                torch::cuda::synchronize(0);
        };
        if (!write_result(o.out_path, o.mode, batch, 1, time_steps(step, o.min_time, [](int n) { return n; })))
            return 1;
    }
    return 0;
}

// A launcher's variable as a number in [lo, hi]; throws naming it otherwise.
int env_int(const char *name, int lo, int hi) {
    const char *v = std::getenv(name);
    char *end = nullptr;
    long x = v ? std::strtol(v, &end, 10) : 0;
    if (!v || end == v || *end || x < lo || x > hi)
        throw std::runtime_error(std::string("ddp mode: ") + name + " is " + (v ? "\"" + std::string(v) + "\"" : "not set") +
                                 ": start one process per rank with a launcher that sets RANK, WORLD_SIZE, LOCAL_RANK, "
                                 "MASTER_ADDR and MASTER_PORT (torchrun --no-python, or bench_train itself)");
    return (int)x;
}

// One rank of the data-parallel run (see the usage above). Returns the exit code.
int run_ddp(const Options &o) {
#if LTC_PEER_HAS_NCCL
    const int world = env_int("WORLD_SIZE", 1, 1 << 20), rank = env_int("RANK", 0, world - 1);
    const int local = env_int("LOCAL_RANK", 0, 1 << 20), port = env_int("MASTER_PORT", 1, 65535);
    const char *addr = std::getenv("MASTER_ADDR");
    if (local >= (int)torch::cuda::device_count())
        throw std::runtime_error("ddp mode: LOCAL_RANK " + std::to_string(local) + " has no GPU: " +
                                 std::to_string(torch::cuda::device_count()) + " visible");
    const torch::Device device(torch::kCUDA, (c10::DeviceIndex)local);
    c10::cuda::CUDAGuard guard(device);
    c10d::TCPStoreOptions so;
    so.port = (uint16_t)port;
    // Under torchrun's c10d rendezvous its agent already hosts the store on MASTER_PORT.
    const char *agent_store = std::getenv("TORCHELASTIC_USE_AGENT_STORE");
    so.isServer = rank == 0 && !(agent_store && std::strcmp(agent_store, "True") == 0);
    so.numWorkers = world;
    so.waitWorkers = true;
    so.timeout = std::chrono::seconds(120);
    auto store = c10::make_intrusive<c10d::TCPStore>(addr && *addr ? addr : "127.0.0.1", so);
    auto pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(c10::make_intrusive<c10d::PrefixStore>("peer", store), rank, world,
                                                          c10d::ProcessGroupNCCL::Options::create());
    pg->setBoundDeviceId(device);
    // The same number of timed steps on every rank (each step all-reduces): rank 0's count.
    auto agree = [&](int n) {
        std::vector<at::Tensor> v{torch::full({1}, n, torch::TensorOptions().dtype(torch::kLong).device(device))};
        pg->broadcast(v)->wait();
        return (int)v[0].item<int64_t>();
    };
    int rc = 0;
    for (int64_t batch : o.batches) {
        if (batch % world != 0)
            continue;
        torch::manual_seed(1);  // the same parameters on every rank
        torch::nn::Linear model(100, 10);
        model->to(device);
        auto params = model->parameters();
        torch::optim::SGD opt(params, torch::optim::SGDOptions(o.lr).momentum(o.momentum));
        torch::manual_seed(2 + rank);  // each rank its own samples
        at::Tensor x = torch::randn({batch / world, 100}, device), y = torch::randn({batch / world, 10}, device);
        auto step = [&] {
            opt.zero_grad();
            auto loss = torch::mse_loss(model->forward(x), y);
            loss.backward();
            {
                torch::NoGradGuard no_grad;
                std::vector<at::Tensor> parts;
                for (auto &p : params)
                    parts.push_back(p.grad().reshape(-1));
                std::vector<at::Tensor> flat{torch::cat(parts)};
                c10d::AllreduceOptions ao;
                ao.reduceOp = c10d::ReduceOp(c10d::ReduceOp::AVG);
                pg->allreduce(flat, ao)->wait();
                int64_t off = 0;
                for (auto &p : params) {
                    p.mutable_grad().copy_(flat[0].narrow(0, off, p.numel()).view_as(p));
                    off += p.numel();
                }
            }
            opt.step();
            torch::cuda::synchronize(local);
        };
        auto t = time_steps(step, o.min_time, agree);
        if (rank == 0 && !write_result(o.out_path, "ddp", batch, world, t)) {
            rc = 1;
            break;
        }
    }
    pg->shutdown();
    return rc;
#else
    (void)o;
    throw std::runtime_error("ddp mode needs a LibTorch with CUDA and NCCL (c10d's ProcessGroupNCCL)");
#endif
}

}  // namespace

int main(int argc, char **argv) {
    Options o;
    int threads = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (!std::strcmp(a, "--mode"))
            o.mode = v;
        else if (!std::strcmp(a, "--batches"))
            o.batches = parse_batches(v);
        else if (!std::strcmp(a, "--out"))
            o.out_path = v;
        else if (!std::strcmp(a, "--device"))
            o.device_name = v;
        else if (!std::strcmp(a, "--threads"))
            threads = std::atoi(v);
        else if (!std::strcmp(a, "--min-time"))
            o.min_time = std::atof(v);
        else if (!std::strcmp(a, "--lr"))
            o.lr = std::atof(v);
        else if (!std::strcmp(a, "--momentum"))
            o.momentum = std::atof(v);
        else
            o.mode = "?";
    }
    const bool cuda = o.device_name == "cuda";
    if ((o.mode != "eager" && o.mode != "graph" && o.mode != "ddp") || o.batches.empty() || o.out_path.empty() ||
        (!cuda && o.device_name != "cpu") || (o.mode != "eager" && !cuda) || argc % 2 == 0) {
        std::fprintf(stderr, "usage: peer_train_cpp --mode eager|graph|ddp --batches LIST --out FILE [--device cuda|cpu] "
                             "[--threads N] [--min-time S] [--lr X] [--momentum X] (graph and ddp need cuda)\n");
        return 2;
    }
    try {
        if (threads > 0)
            at::set_num_threads(threads);
        return o.mode == "ddp" ? run_ddp(o) : run_single(o);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "peer_train_cpp: %s\n", e.what());
        return 1;
    }
}
