#!/usr/bin/env python3
"""export_model.py: export a small model from Python into a .pt2 package that C runs with ltc_model_load.

The two steps of every export:
  1. torch.export.export(model, example_inputs, dynamic_shapes=...)   the model as a graph, batch size dynamic
  2. torch._inductor.aoti_compile_and_package(program, ...)           the graph compiled to C++ and a .so
and what ltc reads besides: the package's metadata records the torch and CUDA versions and each input's
and output's name, dtype and shape (-1: a dynamic size), under the keys docs/model.md lists.
Then run it from C:  run_exported_model mlp_cpu.pt2
"""
import argparse
import os
import subprocess
import sys
import time

EXIT_ERROR, EXIT_USAGE, EXIT_STATIC_LIBSTDCXX, EXIT_NO_GPU = 1, 2, 3, 4


def make_model(kind):
    """A small model with fixed weights (seed 0) and an example input of batch 8."""
    import torch
    torch.manual_seed(0)
    if kind == "mlp":
        model = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
        return model.eval(), torch.randn(8, 64)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(16 * 7 * 7, 10))
    return model.eval(), torch.randn(8, 1, 28, 28)


def spec(name, value):
    """'name:dtype:[d0,d1,...]' for ltc.inputs / ltc.outputs; -1 for a size that is not a fixed number."""
    dims = ",".join(str(d) if isinstance(d, int) else "-1" for d in value.shape)
    return f"{name}:{str(value.dtype).replace('torch.', '')}:[{dims}]"


def io_specs(program):
    """The exported program's user inputs and outputs, as ltc.inputs and ltc.outputs record them."""
    sig = program.graph_signature
    nodes = {n.name: n for n in program.graph.nodes}
    inputs = ";".join(spec(n, nodes[n].meta["val"]) for n in sig.user_inputs)
    outputs = ";".join(spec(n, nodes[n].meta["val"]) for n in sig.user_outputs)
    return inputs, outputs


def links_libstdcxx_statically(cxx):
    """True when cxx cannot find libstdc++.so: what it links, it links statically (docs/model.md)."""
    found = subprocess.run([cxx, "-print-file-name=libstdc++.so"], capture_output=True, text=True, check=True)
    return os.path.basename(found.stdout.strip()) == found.stdout.strip()


def main():
    p = argparse.ArgumentParser(
        description="Exports a small model into a .pt2 package (AOTInductor) that ltc_model_load runs from C.",
        epilog="exit codes: 0 exported; 1 an error; 2 bad usage; 3 the C++ compiler links libstdc++ statically "
               "(its packages crash every LibTorch process: pick another with --cxx); 4 --device cuda without a "
               "usable GPU")
    p.add_argument("--model", choices=["mlp", "convnet"], default="mlp",
                   help="mlp: Linear(64, 256), ReLU, Linear(256, 10); convnet: two 3x3 convolutions and a Linear "
                        "on 1x28x28 images (default mlp)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="compile for the CPU or the GPU (default cpu)")
    p.add_argument("--out", help="the package to write (default MODEL_DEVICE.pt2 in this folder)")
    p.add_argument("--max-batch", type=int, default=65536, metavar="N",
                   help="the largest batch the package takes, 2 to 2^20 (default 65536)")
    p.add_argument("--cxx", help="the C++ compiler AOTInductor uses (default: $CXX, else g++)")
    args = p.parse_args()
    if not 2 <= args.max_batch <= 1 << 20:
        p.error(f"--max-batch {args.max_batch} is out of range: use 2 to 1048576")
    out = os.path.abspath(args.out or f"{args.model}_{args.device}.pt2")

    import torch
    import torch._inductor.config as inductor_config
    if args.cxx:
        inductor_config.cpp.cxx = (None, args.cxx)
    cxx = inductor_config.cpp.cxx[1]
    try:
        if links_libstdcxx_statically(cxx):
            print(f"error: the C++ compiler {cxx} finds no libstdc++.so, so it links libstdc++ statically, and its "
                  "packages crash in every process that runs LibTorch (docs/model.md says why). Pick one that "
                  "links libstdc++.so.6: --cxx /usr/bin/g++, or CXX=/usr/bin/g++", file=sys.stderr)
            return EXIT_STATIC_LIBSTDCXX
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"error: cannot run the C++ compiler {cxx}: {e} (name one with --cxx)", file=sys.stderr)
        return EXIT_ERROR
    if args.device == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda, but torch sees no usable GPU here (check_cuda says why)", file=sys.stderr)
        return EXIT_NO_GPU

    model, x = make_model(args.model)
    model, x = model.to(args.device), x.to(args.device)
    batch = torch.export.Dim("batch", min=1, max=args.max_batch)
    program = torch.export.export(model, (x,), dynamic_shapes=({0: batch},))
    inputs, outputs = io_specs(program)
    metadata = {"ltc.torch_version": torch.__version__, "ltc.cuda_version": torch.version.cuda if args.device == "cuda" else "",
                "ltc.inputs": inputs, "ltc.outputs": outputs}
    t0 = time.perf_counter()
    torch._inductor.aoti_compile_and_package(program, package_path=out,
                                             inductor_configs={"aot_inductor.metadata": metadata})
    print(f"exported {out}: {args.model} for {args.device}, inputs {inputs}, outputs {outputs}; torch "
          f"{torch.__version__}, compiled by {cxx} in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
