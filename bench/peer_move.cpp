// Peer for bench_transfer: the move written directly against LibTorch C++ (no ltc):
// x = at::randn({100, 100}); y = x.to(device), synced.
//
// usage: peer_move_cpp [DEVICE]   (default cuda:0)
// Speaks the peer protocol of bench/harness.h on stdin/stdout: after a warm-up it prints
// "ready LibTorch <version>"; to "run <min_time_s>" it answers "<runs> <median_s> <min_s> <max_s> <p25_s> <p75_s>";
// "quit" or end of input ends it.
#include <ATen/ATen.h>
#include <torch/cuda.h>
#include <torch/headeronly/version.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

int main(int argc, char **argv) {
    try {
        c10::Device device(argc > 1 ? argv[1] : "cuda:0");
        at::Tensor x = at::randn({100, 100});
        at::Tensor y;
        auto once = [&] {
            auto t0 = std::chrono::steady_clock::now();
            y = x.to(device);
            torch::cuda::synchronize(device.has_index() ? device.index() : -1);
            return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        };
        for (int i = 0; i < 50; i++)
            once();
        std::printf("ready LibTorch %s\n", TORCH_VERSION);
        std::fflush(stdout);
        std::string line;
        while (std::getline(std::cin, line)) {
            std::istringstream in(line);
            std::string cmd;
            double min_time = 0;
            in >> cmd >> min_time;
            if (cmd != "run")
                break;
            std::vector<double> t;
            double total = 0;
            while (total < min_time || t.size() < 5) {
                t.push_back(once());
                total += t.back();
            }
            std::sort(t.begin(), t.end());
            size_t n = t.size();
            double median = n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
            auto quantile = [&](double q) {
                double h = (n - 1) * q;
                size_t i = (size_t)h;
                return i + 1 < n ? t[i] + (h - i) * (t[i + 1] - t[i]) : t[n - 1];
            };
            std::printf("%zu %.9g %.9g %.9g %.9g %.9g\n", n, median, t.front(), t.back(), quantile(0.25), quantile(0.75));
            std::fflush(stdout);
        }
        return 0;
    } catch (const std::exception &e) {
        std::printf("error: %s\n", e.what());
        return 1;
    }
}
