#!/usr/bin/env python3
"""The .pt2 packages the model tests load, made once per test run into a scratch folder.

  model_fixtures.py fakes DIR --cxx CXX
      packages made by hand (Python's zipfile and tiny .so files built with CXX): one per refusal of
      ltc_model_load (not a zip, no model, a private static libstdc++, another torch, another machine or
      CPU, CUDA, sources only) and one whose .so crashes while loading (for check_in_child)
  model_fixtures.py export DIR --device cpu|cuda --cxx CXX     (run with a Python that has torch)
      the MLP of examples/export_model.py, exported for real, with inputs and the outputs Python's
      torch._inductor.aoti_load_package gives for them, as raw little-endian float32 files:
      mlp_DEVICE.pt2, io_DEVICE_bBATCH.in/.out, and mlp_DEVICE_nometa.pt2 (the same without ltc.* keys);
      on the CPU also mlp_cpu_static.pt2, compiled through a wrapper that links libstdc++ statically

Each mode writes DIR/<mode>.ok when done, or DIR/<mode>.skip with the reason (no torch, no GPU, no
compiler) and exits 0: the C tests read those and skip naming the reason. Any other failure exits 1.
"""
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(HERE, "..", "examples")
BATCHES = (1, 8, 37)

# The container C API a model .so exports (torch/csrc/inductor/aoti_runtime/interface.h, 2.11).
CONTAINER_API = """AOTInductorModelContainerCreate AOTInductorModelContainerDelete AOTInductorModelContainerRun
AOTInductorModelContainerRunSingleThreaded AOTInductorModelContainerGetNumConstants AOTInductorModelContainerGetConstantName
AOTInductorModelContainerGetConstantOriginalFQN AOTInductorModelContainerGetConstantFromFolded
AOTInductorModelContainerGetConstantType AOTInductorModelContainerGetConstantDtype AOTInductorModelContainerGetConstantDataSize
AOTInductorModelContainerExtractConstantsMap AOTInductorModelContainerUpdateUserManagedConstantBuffer
AOTInductorModelContainerUpdateConstantBuffer AOTInductorModelContainerUpdateInactiveConstantBuffer
AOTInductorModelContainerFreeInactiveConstantBuffer AOTInductorModelContainerRunConstantFolding
AOTInductorModelContainerSwapConstantBuffer AOTInductorModelContainerGetNumInputs AOTInductorModelContainerGetInputName
AOTInductorModelContainerGetNumOutputs AOTInductorModelContainerGetOutputName AOTInductorModelContainerGetCallSpec
AOTInductorModelContainerGetConstantsBlobSize AOTInductorModelUpdateConstantsFromBlob""".split()

SOURCES = {
    # a model .so as far as the checks can see: it links libstdc++.so.6 and calls nothing of torch
    "plain": '#include <string>\nextern "C" int fake_model(const char *s) { return (int)std::string(s).size(); }\n',
    # std::regex, as the real model's parse_device_str; linked with -static-libstdc++
    "static": '#include <regex>\n#include <string>\nextern "C" int fake_model(const char *s) '
              '{ return std::regex_match(std::string(s), std::regex("(cpu|cuda)(:([0-9]+))?")); }\n',
    # calls a function of LibTorch's AOTI C shim that no torch has
    "future": 'extern "C" int aoti_torch_from_a_future_torch(void);\n'
              'extern "C" int fake_model(void) { return aoti_torch_from_a_future_torch(); }\n',
    # the whole container API; creating the container crashes, as a broken model does
    "crash": '#include <csignal>\n'
             + "".join(f'extern "C" int {f}() {{ return 0; }}\n' for f in CONTAINER_API)
             + 'extern "C" int AOTInductorModelContainerCreateWithDevice() { std::raise(SIGSEGV); return 1; }\n',
}


def build_so(cxx, work, kind):
    src, so = os.path.join(work, kind + ".cpp"), os.path.join(work, kind + ".so")
    with open(src, "w") as f:
        f.write(SOURCES[kind])
    flags = ["-static-libstdc++"] if kind == "static" else []
    subprocess.run([cxx, "-shared", "-fPIC", "-o", so, src] + flags, check=True)
    with open(so, "rb") as f:
        return f.read()


def other_machine(elf):
    """The same .so, marked for another architecture (e_machine): AArch64, or x86-64 on an ARM host."""
    machine = 183 if platform.machine() in ("x86_64", "AMD64") else 62
    return elf[:18] + machine.to_bytes(2, "little") + elf[20:]


def write_zip(path, files):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for name, data in files:
            z.writestr(name, data)


def fake_package(path, so, meta=None, models=("model",), cpp=True, raw_meta=None):
    """The layout aoti_compile_and_package writes, with a .so of our own and AOTInductor's metadata."""
    metadata = {"AOTI_DEVICE_KEY": "cpu", "AOTI_PLATFORM": "linux", "AOTI_MACHINE": platform.machine(),
                "AOTI_CPU_ISA": "", "AOTI_COMPUTE_CAPABILITY": ""}
    metadata.update(meta or {})
    files = []
    for m in models:
        d = f"fake/data/aotinductor/{m}/cfake."
        if cpp:
            files.append((d + "wrapper.cpp", "// a fake model\n// Compile cmd\n// /opt/gcc/bin/g++ cfake.wrapper.cpp "
                                             "-I/opt/py/site-packages/torch/include -c -o cfake.wrapper.o\n"))
        files.append((d + "wrapper_metadata.json", raw_meta if raw_meta is not None else json.dumps(metadata)))
        if so is not None:
            files.append((d + "wrapper.so", so))
    files += [("fake/archive_format", "pt2"), ("fake/archive_version", "0"), ("fake/.data/version", "6"),
              ("fake/byteorder", "little")]
    write_zip(path, files)


def fakes(out, cxx):
    work = tempfile.mkdtemp(prefix="ltc-model-fixtures-")
    try:
        so = {k: build_so(cxx, work, k) for k in SOURCES}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    with open(os.path.join(out, "not_a_zip.pt2"), "w") as f:
        f.write("not a zip archive\n")
    write_zip(os.path.join(out, "empty.pt2"), [])
    write_zip(os.path.join(out, "one_entry.pt2"), [("m/archive_format", "pt2")])
    p = lambda name: os.path.join(out, name + ".pt2")
    fake_package(p("two_models"), so["plain"], models=("alpha", "beta"))
    fake_package(p("sources_only"), None)
    fake_package(p("no_cpp"), so["plain"], cpp=False)
    fake_package(p("bad_metadata"), so["plain"], raw_meta="not json")
    fake_package(p("static_libstdcxx"), so["static"])
    fake_package(p("future_torch"), so["future"])
    fake_package(p("old_torch"), so["plain"], {"ltc.torch_version": "2.9.0+cu126"})
    fake_package(p("other_machine"), other_machine(so["plain"]))
    x86 = platform.machine() in ("x86_64", "AMD64")
    fake_package(p("other_isa"), so["plain"], {"AOTI_CPU_ISA": "NEON" if x86 else "AVX2"})
    fake_package(p("xpu"), so["plain"], {"AOTI_DEVICE_KEY": "xpu"})
    fake_package(p("cuda_cc10"), so["plain"], {"AOTI_DEVICE_KEY": "cuda", "AOTI_COMPUTE_CAPABILITY": "10"})
    fake_package(p("cuda_driver99"), so["plain"], {"AOTI_DEVICE_KEY": "cuda", "AOTI_COMPUTE_CAPABILITY": "10",
                                                   "ltc.cuda_version": "99.0"})
    fake_package(p("crash"), so["crash"])


def read_zip(path):
    with zipfile.ZipFile(path) as z:
        return [(i.filename, z.read(i.filename)) for i in z.infolist()]


def without_ltc_keys(src, dst):
    """The package with the exporter's ltc.* metadata removed, as a package made without it."""
    files = []
    for name, data in read_zip(src):
        if name.endswith("_metadata.json"):
            data = json.dumps({k: v for k, v in json.loads(data).items() if not k.startswith("ltc.")})
        files.append((name, data))
    write_zip(dst, files)


def export(out, device, cxx):
    try:
        import torch
    except ImportError:
        return f"{sys.executable} has no torch"
    if device == "cuda" and not torch.cuda.is_available():
        return "torch sees no usable GPU"
    package = os.path.join(out, f"mlp_{device}.pt2")
    rc = subprocess.run([sys.executable, os.path.join(EXAMPLES, "export_model.py"), "--device", device, "--out",
                         package, "--cxx", cxx, "--max-batch", "4096"]).returncode
    if rc != 0:
        raise SystemExit(f"model_fixtures.py: export_model.py exited {rc}")
    compiled = torch._inductor.aoti_load_package(package)
    g = torch.Generator().manual_seed(1)
    for b in BATCHES:
        x = torch.randn(b, 64, generator=g)
        y = compiled(x.to(device)).cpu()
        for ext, t in (("in", x), ("out", y)):  # the bytes, through a uint8 view (numpy may be absent)
            with open(os.path.join(out, f"io_{device}_b{b}.{ext}"), "wb") as f:
                f.write(bytes(t.contiguous().view(torch.uint8).flatten().tolist()))
    del compiled  # its loader removes the folder it extracted to; left to the interpreter's exit, it stays
    without_ltc_keys(package, os.path.join(out, f"mlp_{device}_nometa.pt2"))
    if device == "cpu":
        export_static(out, cxx)
    return None


def export_static(out, cxx):
    """The MLP exported for real through a compiler that links libstdc++ statically into shared libraries
    (as a toolchain wrapper whose lib folder holds only libstdc++.a does): mlp_cpu_static.pt2, or
    mlp_cpu_static.skip saying why it could not be made."""
    wrapper = os.path.join(out, "static-libstdcxx-g++")
    with open(wrapper, "w") as f:
        f.write(f'#!/bin/sh\ncase " $* " in *" -shared "*) exec "{cxx}" "$@" -static-libstdc++;; esac\nexec "{cxx}" "$@"\n')
    os.chmod(wrapper, 0o755)
    package = os.path.join(out, "mlp_cpu_static.pt2")
    rc = subprocess.run([sys.executable, os.path.join(EXAMPLES, "export_model.py"), "--out", package, "--cxx",
                         wrapper, "--max-batch", "4096"]).returncode
    if rc != 0:
        with open(os.path.join(out, "mlp_cpu_static.skip"), "w") as f:
            f.write(f"export_model.py --cxx {wrapper} exited {rc} (no libstdc++.a for -static-libstdc++?)\n")


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("fakes", "export"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, out, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
    opts = dict(zip(rest[::2], rest[1::2]))
    cxx, device = opts.get("--cxx", "g++"), opts.get("--device", "cpu")
    tag = mode if mode == "fakes" else f"export_{device}"
    os.makedirs(out, exist_ok=True)
    stale = (tag + ".ok", tag + ".skip") + (("mlp_cpu_static.pt2", "mlp_cpu_static.skip") if tag == "export_cpu" else ())
    for f in stale:
        if os.path.exists(os.path.join(out, f)):
            os.remove(os.path.join(out, f))
    if not shutil.which(cxx):
        skip = f"no C++ compiler {cxx}"
    else:
        skip = fakes(out, cxx) if mode == "fakes" else export(out, device, cxx)
    with open(os.path.join(out, tag + (".skip" if skip else ".ok")), "w") as f:
        f.write((skip or "ok") + "\n")
    print(f"model_fixtures.py {tag}: {'SKIP: ' + skip if skip else 'made in ' + out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
