// Peer for bench_train: the Linear(100, 10) SGD step written directly against LibTorch C++ (no ltc), the
// way a C++ user writes it: torch::nn::Linear, torch::optim::SGD, torch::mse_loss, backward.
//
// usage: peer_train_cpp --mode eager|graph --batches 64,256,... --out FILE
//                       [--device cuda|cpu] [--threads N] [--min-time S] [--lr X] [--momentum X]
//   eager  each step: opt.zero_grad(); loss = mse_loss(model->forward(x), y); loss.backward(); opt.step()
//   graph  the same step (after zero_grad) captured once as a CUDA graph on a side stream after three
//          warm-up steps, then replayed (x and y are the graph's static inputs: nothing is copied)
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

}  // namespace

int main(int argc, char **argv) {
    std::string mode, out_path, device_name = "cuda";
    std::vector<int64_t> batches;
    double min_time = 0.2, lr = 0.1, momentum = 0.9;
    int threads = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (!std::strcmp(a, "--mode"))
            mode = v;
        else if (!std::strcmp(a, "--batches"))
            batches = parse_batches(v);
        else if (!std::strcmp(a, "--out"))
            out_path = v;
        else if (!std::strcmp(a, "--device"))
            device_name = v;
        else if (!std::strcmp(a, "--threads"))
            threads = std::atoi(v);
        else if (!std::strcmp(a, "--min-time"))
            min_time = std::atof(v);
        else if (!std::strcmp(a, "--lr"))
            lr = std::atof(v);
        else if (!std::strcmp(a, "--momentum"))
            momentum = std::atof(v);
        else
            mode = "?";
    }
    if ((mode != "eager" && mode != "graph") || batches.empty() || out_path.empty() ||
        (device_name != "cuda" && device_name != "cpu") || (mode == "graph" && device_name != "cuda") || argc % 2 == 0) {
        std::fprintf(stderr, "usage: peer_train_cpp --mode eager|graph --batches LIST --out FILE [--device cuda|cpu] "
                             "[--threads N] [--min-time S] [--lr X] [--momentum X] (graph needs cuda)\n");
        return 2;
    }
    try {
        if (threads > 0)
            at::set_num_threads(threads);
        const bool cuda = device_name == "cuda";
        const torch::Device device = cuda ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
        auto sync = [&] {
            if (cuda)
                torch::cuda::synchronize(0);
        };
        for (int64_t batch : batches) {
            torch::manual_seed(1);
            torch::nn::Linear model(100, 10);
            model->to(device);
            torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(lr).momentum(momentum));
            at::Tensor x = torch::randn({batch, 100}, device), y = torch::randn({batch, 10}, device);
            auto body = [&] {
                auto loss = torch::mse_loss(model->forward(x), y);
                loss.backward();
                opt.step();
            };
#if LTC_PEER_HAS_CUDA
            std::unique_ptr<at::cuda::CUDAGraph> graph;
            if (mode == "graph") {
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
            if (mode == "graph")
                throw std::runtime_error("graph mode needs a LibTorch with CUDA");
#endif
            auto step = [&] {
                if (graph) {
                    graph->replay();
                } else {
                    opt.zero_grad();
                    body();
                }
                sync();
            };
            for (int i = 0; i < 3; i++)
                step();
            double t0 = now_s();
            step();
            double once = now_s() - t0;
            int n = (int)std::max(5.0, std::min(100000.0, min_time / std::max(once, 1e-7) + 1));
            std::vector<double> t(n);
            for (auto &s : t) {
                t0 = now_s();
                step();
                s = now_s() - t0;
            }
            std::sort(t.begin(), t.end());
            double median = n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
            auto quantile = [&](double q) {
                double h = (n - 1) * q;
                int i = (int)h;
                return i + 1 < n ? t[i] + (h - i) * (t[i + 1] - t[i]) : t[n - 1];
            };
            FILE *f = std::fopen(out_path.c_str(), "a");
            if (!f) {
                std::fprintf(stderr, "peer_train_cpp: cannot open %s: %s\n", out_path.c_str(), std::strerror(errno));
                return 1;
            }
            std::fprintf(f, "result %s %lld 1 %d %.9g %.9g %.9g %.9g %.9g %s\n", mode.c_str(), (long long)batch, n, median,
                         t.front(), t.back(), quantile(0.25), quantile(0.75), TORCH_VERSION);
            bool bad = std::ferror(f) != 0;
            if (std::fclose(f) != 0 || bad) {
                std::fprintf(stderr, "peer_train_cpp: cannot write %s: %s\n", out_path.c_str(), std::strerror(errno));
                return 1;
            }
        }
        return 0;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "peer_train_cpp: %s\n", e.what());
        return 1;
    }
}
