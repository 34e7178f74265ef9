// CUDA: events (timing on the GPU's clock), peer access between GPUs, the GPU's PCIe link, and the build
// facts of LibTorch's CUDA half. Events use generic c10 headers and build against any LibTorch; the rest
// needs LibTorch's CUDA headers, so a CPU-only LibTorch (LTC_TORCH_HAS_CUDA_HEADERS undefined) gets
// stand-ins that check the arguments the same way and then say "no CUDA in this build".
#include "internal.hpp"

#include <c10/core/Event.h>
#include <c10/core/impl/VirtualGuardImpl.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#ifdef LTC_TORCH_HAS_CUDA_HEADERS
#include <ATen/cuda/CUDAContextLight.h>
#include <ATen/cuda/PeerToPeerAccess.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/cuda/CUDAException.h>
#include <cuda_runtime_api.h>
#include <torch/csrc/cuda/nccl.h>
#endif

using ltc::fail;

struct ltc_event {
    c10::Device device;
    c10::Event event;
    bool recorded;
};

extern "C" {

ltc_status ltc_event_new(ltc_event **out, ltc_device device) {
    LTC_CHECK_OUT(out);
    LTC_TRY {
        int index = -1;  // the type's check; to_c10_device checks the index
        LTC_RETURN_IF_ERROR(ltc::cuda_index(&index, __func__, "device", device));
        c10::Device dev(c10::kCPU);
        LTC_RETURN_IF_ERROR(ltc::to_c10_device(device, &dev));
        if (!dev.has_index()) {
            c10::impl::VirtualGuardImpl impl(c10::DeviceType::CUDA);
            dev = impl.getDevice();
        }
        // BACKEND_DEFAULT: a CUDA event with timing enabled (PYTORCH_DEFAULT disables it).
        *out = new ltc_event{dev, c10::Event(c10::DeviceType::CUDA, c10::EventFlag::BACKEND_DEFAULT), false};
        return LTC_OK;
    }
    LTC_CATCH
}

void ltc_event_free(ltc_event *event) {
    ltc::delete_quietly(event);
}

ltc_status ltc_event_record(ltc_event *event) {
    LTC_CHECK_NOT_NULL(event);
    LTC_TRY {
        c10::impl::VirtualGuardImpl impl(c10::DeviceType::CUDA);
        event->event.record(impl.getStream(event->device));
        event->recorded = true;
        return LTC_OK;
    }
    LTC_CATCH
}

static ltc_status check_recorded(const ltc_event *event, const char *func, const char *name) {
    if (!event->recorded)
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: event '%s' was never recorded: call ltc_event_record first", func,
                    name);
    return LTC_OK;
}

ltc_status ltc_event_synchronize(const ltc_event *event) {
    LTC_CHECK_NOT_NULL(event);
    LTC_TRY {
        LTC_RETURN_IF_ERROR(check_recorded(event, __func__, "event"));
        event->event.synchronize();
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_event_query(int *out, const ltc_event *event) {
    LTC_CHECK_NOT_NULL(out);
    LTC_CHECK_NOT_NULL(event);
    LTC_TRY {
        LTC_RETURN_IF_ERROR(check_recorded(event, __func__, "event"));
        *out = event->event.query() ? 1 : 0;
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_event_elapsed_ms(double *out, const ltc_event *start, const ltc_event *end) {
    LTC_CHECK_NOT_NULL(out);
    LTC_CHECK_NOT_NULL(start);
    LTC_CHECK_NOT_NULL(end);
    LTC_TRY {
        LTC_RETURN_IF_ERROR(check_recorded(start, __func__, "start"));
        LTC_RETURN_IF_ERROR(check_recorded(end, __func__, "end"));
        if (start->device != end->device)
            return fail(LTC_ERR_INVALID_ARGUMENT,
                        "ltc_event_elapsed_ms: start is on %s but end is on %s: both must be on the same device",
                        start->device.str().c_str(), end->device.str().c_str());
        start->event.synchronize();
        end->event.synchronize();
        *out = start->event.elapsedTime(end->event);
        return LTC_OK;
    }
    LTC_CATCH
}

}  // extern "C"

#ifdef LTC_TORCH_HAS_CUDA_HEADERS

namespace {

// Checks a device index the way the entry points below document it: 0 and up (checked first, for every
// index), and present.
ltc_status check_sign(const char *func, const char *name, int index) {
    if (index < 0)
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: %s %d is not valid: use a CUDA device index, 0 and up", func, name,
                    index);
    return LTC_OK;
}

ltc_status check_present(int index) {
    c10::Device dev(c10::kCPU);
    return ltc::to_c10_device(ltc_device{LTC_DEVICE_CUDA, index}, &dev);
}

// The first line of a small sysfs file, "" when it cannot be read.
std::string read_line(const std::string &path) {
    std::string s;
    FILE *f = fopen(path.c_str(), "r");
    if (!f)
        return s;
    char buf[128];
    if (fgets(buf, sizeof buf, f))
        s = buf;
    fclose(f);
    while (!s.empty() && isspace((unsigned char)s.back()))
        s.pop_back();
    return s;
}

// "32.0 GT/s PCIe" -> 5; 0 when unknown.
int pcie_gen_of(const std::string &speed) {
    double gts = atof(speed.c_str());
    static const double rates[] = {2.5, 5.0, 8.0, 16.0, 32.0, 64.0};
    for (int i = 0; i < 6; i++)
        if (gts > rates[i] * 0.9 && gts < rates[i] * 1.1)
            return i + 1;
    return 0;
}

int width_of(const std::string &text) {
    int w = atoi(text.c_str());
    return w > 0 && w <= 32 ? w : 0;
}

// GB/s per direction: transfer rate per lane times lanes, less the line encoding (8b/10b for Gen1-2,
// 128b/130b for Gen3-5, FLIT mode for Gen6, about 242/256).
double pcie_gbps(int gen, int width) {
    static const double gts[] = {2.5, 5.0, 8.0, 16.0, 32.0, 64.0};
    static const double efficiency[] = {0.8, 0.8, 128.0 / 130, 128.0 / 130, 128.0 / 130, 242.0 / 256};
    if (gen < 1 || gen > 6 || width < 1)
        return 0;
    return gts[gen - 1] * efficiency[gen - 1] * width / 8.0;
}

void fill_pcie(ltc_cuda_link_info *out) {
    std::string dir = std::string("/sys/bus/pci/devices/") + out->pci_bus_id;
    out->pcie_gen = pcie_gen_of(read_line(dir + "/current_link_speed"));
    out->pcie_width = width_of(read_line(dir + "/current_link_width"));
    int max_gen = pcie_gen_of(read_line(dir + "/max_link_speed"));
    int max_width = width_of(read_line(dir + "/max_link_width"));
    // The port above the GPU (a root port or a switch) may support less than the GPU does.
    char real[PATH_MAX];
    if (realpath(dir.c_str(), real)) {
        std::string parent(real);
        parent.erase(parent.rfind('/'));
        int up_gen = pcie_gen_of(read_line(parent + "/max_link_speed"));
        int up_width = width_of(read_line(parent + "/max_link_width"));
        if (up_gen > 0 && up_gen < max_gen)
            max_gen = up_gen;
        if (up_width > 0 && up_width < max_width)
            max_width = up_width;
    }
    out->pcie_max_gen = max_gen;
    out->pcie_max_width = max_width;
    out->pcie_max_gbps = pcie_gbps(max_gen, max_width);
}

}  // namespace

extern "C" {

ltc_status ltc_cuda_peer_access(int *out, ltc_device device_value, ltc_device peer_value) {
    LTC_CHECK_NOT_NULL(out);
    LTC_TRY {
        int device = -1, peer = -1;
        LTC_RETURN_IF_ERROR(ltc::cuda_index(&device, __func__, "device", device_value));
        LTC_RETURN_IF_ERROR(ltc::cuda_index(&peer, __func__, "peer", peer_value));
        LTC_RETURN_IF_ERROR(check_sign(__func__, "device", device));
        LTC_RETURN_IF_ERROR(check_sign(__func__, "peer", peer));
        LTC_RETURN_IF_ERROR(check_present(device));
        LTC_RETURN_IF_ERROR(check_present(peer));
        // LibTorch asks cudaDeviceCanAccessPeer, enables the access once and caches the answer; its own
        // copies between the two GPUs then go directly.
        *out = device == peer || at::cuda::get_p2p_access((c10::DeviceIndex)device, (c10::DeviceIndex)peer) ? 1 : 0;
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_cuda_link_info_get(ltc_cuda_link_info *out, ltc_device device_value) {
    LTC_CHECK_NOT_NULL(out);
    LTC_TRY {
        int device = -1;
        LTC_RETURN_IF_ERROR(ltc::cuda_index(&device, __func__, "device", device_value));
        LTC_RETURN_IF_ERROR(check_sign(__func__, "device", device));
        LTC_RETURN_IF_ERROR(check_present(device));
        ltc_cuda_link_info info;
        memset(&info, 0, sizeof info);
        const cudaDeviceProp *prop = at::cuda::getDeviceProperties((c10::DeviceIndex)device);
        snprintf(info.name, sizeof info.name, "%s", prop->name);
        info.total_memory = prop->totalGlobalMem;
        // sysfs names devices in lower-case hex with a 4-digit domain.
        snprintf(info.pci_bus_id, sizeof info.pci_bus_id, "%04x:%02x:%02x.0", (unsigned)prop->pciDomainID,
                 (unsigned)prop->pciBusID, (unsigned)prop->pciDeviceID);
        int driver = 0;
        C10_CUDA_CHECK(cudaDriverGetVersion(&driver));
        info.driver_version = driver;
        fill_pcie(&info);
        *out = info;
        return LTC_OK;
    }
    LTC_CATCH
}

}  // extern "C"

namespace ltc {

void fill_cuda_build_info(ltc_build_info *out) {
    const auto &hooks = at::detail::getCUDAHooks();
    // isBuilt() is true only when libtorch_cuda registered its hooks, i.e. the CUDA half is loaded.
    out->cuda_built = hooks.isBuilt() ? 1 : 0;
    if (!out->cuda_built)
        return;
    try {
        out->cuda_runtime_version = (int)hooks.versionCUDART();
    } catch (...) {
    }
    try {
        out->cudnn_version = (int)hooks.versionCuDNN();
    } catch (...) {
    }
    try {
        // Packed as (major << 32) | (minor << 16) | patch; older releases used NCCL_VERSION_CODE.
        std::uint64_t v = torch::cuda::nccl::version();
        out->nccl_version = v >= (1ull << 32)
                                ? (int)((v >> 32) * 10000 + ((v >> 16) & 0xffff) * 100 + (v & 0xffff))
                                : (int)v;
    } catch (...) {
    }
}

}  // namespace ltc

#else  // a CPU-only LibTorch

namespace {

ltc_status no_cuda(const char *func, const char *name, int index) {
    if (index < 0)
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: %s %d is not valid: use a CUDA device index, 0 and up", func, name,
                    index);
    return fail(LTC_ERR_CUDA_UNAVAILABLE,
                "%s: cuda:%d requested, but this LibTorch was built without CUDA; install the CUDA variant of "
                "LibTorch (cuXXX), or run check_cuda for details",
                func, index);
}

}  // namespace

extern "C" {

ltc_status ltc_cuda_peer_access(int *out, ltc_device device_value, ltc_device peer_value) {
    LTC_CHECK_NOT_NULL(out);
    int device = -1, peer = -1;
    LTC_RETURN_IF_ERROR(ltc::cuda_index(&device, __func__, "device", device_value));
    LTC_RETURN_IF_ERROR(ltc::cuda_index(&peer, __func__, "peer", peer_value));
    if (device >= 0 && peer < 0)
        return no_cuda(__func__, "peer", peer);
    return no_cuda(__func__, "device", device);
}

ltc_status ltc_cuda_link_info_get(ltc_cuda_link_info *out, ltc_device device_value) {
    LTC_CHECK_NOT_NULL(out);
    int device = -1;
    LTC_RETURN_IF_ERROR(ltc::cuda_index(&device, __func__, "device", device_value));
    return no_cuda(__func__, "device", device);
}

}  // extern "C"

namespace ltc {

void fill_cuda_build_info(ltc_build_info *) {}

}  // namespace ltc

#endif
