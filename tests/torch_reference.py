#!/usr/bin/env python3
"""tests/torch_reference.py: PyTorch's own numbers for the core tests, computed at test time by the Python
beside LibTorch. Each command prints lines "NAME v1 v2 ..." (values with 9 significant digits) that the C
test compares with ltc's.

  optim sgd|adam|adamw STEPS key=value...   the optimizer (fused=True) over p0 [3, 4] = randn(seed 1) and
                                            p1 [3] = randn(seed 2), gradients of step s randn(seed 100 s + 1,
                                            100 s + 2); prints the parameters and the optimizer's state
  read-ltc PATH sgd|adam|adamw              torch.load(weights_only=True) of an ltc checkpoint: checks its
                                            layout and digest, loads "model" into the MLP and "optimizer"
                                            into the optimizer (load_state_dict), takes one step on the
                                            batch of seed 22; prints step, settings, digest and parameters
  write-state-dict PATH                     torch.save(model.state_dict()) of the MLP (torch.manual_seed(5));
                                            prints its output on x = randn([2, 4], seed 31)
  write-ltc PATH digest|none|bad            an ltc checkpoint written by Python: the MLP after one Adam step
                                            (lr 0.01) on the batch of seed 21, step 7, settings; with the
                                            digest ltc_checkpoint_save documents, without one, or a wrong
                                            one; prints the parameters after one more step on seed 22

The MLP is Linear(4, 16), ReLU, Linear(16, 3); a batch of seed s is 8 points randn([8, 4], seed s), their
classes the largest of x W for tests/mlp_helper.h's W.
"""
import sys
import zlib

import torch

W = torch.tensor([[1, -1, 0], [0.5, 1, -1], [-1, 0, 1], [0, 0.5, 0.5]], dtype=torch.float32)


def randn(shape, seed, dtype=torch.float32):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def show(name, t):
    vals = t.detach().double().reshape(-1).tolist()
    print(name, " ".join("%.9g" % v for v in vals))


def batch(seed):
    x = randn([8, 4], seed)
    return x, (x @ W).argmax(1)


def mlp():
    return torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))


def make_optimizer(kind, params, **kw):
    cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[kind]
    return cls(params, fused=True, **kw)


def train_step(model, opt, seed):
    x, y = batch(seed)
    opt.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()


def tensor_bytes(t):
    return bytes(t.detach().cpu().contiguous().clone().untyped_storage())


def digest(ck):
    """The digest ltc_checkpoint_save documents: zlib's CRC-32 over the model's entries, the optimizer's
    state tensors, the step and the settings."""
    crc = 0
    for name, t in ck["model"].items():
        crc = zlib.crc32(tensor_bytes(t), zlib.crc32(name.encode() + b"\0", crc))
    opt = ck.get("optimizer")
    if opt:
        for i in sorted(opt["state"]):
            for k, v in opt["state"][i].items():
                if torch.is_tensor(v):
                    crc = zlib.crc32(tensor_bytes(v), zlib.crc32(f"state.{i}.{k}".encode() + b"\0", crc))
    crc = zlib.crc32(f"step={ck['step']}".encode() + b"\0", crc)
    for k in sorted(ck["settings"]):
        crc = zlib.crc32(f"{k}={ck['settings'][k]}".encode() + b"\0", crc)
    return "crc32:%08x" % crc


def cmd_optim(kind, steps, *settings):
    kw = {}
    for s in settings:
        k, v = s.split("=")
        kw[k] = bool(int(v)) if k in ("nesterov", "amsgrad") else float(v)
    if "beta1" in kw:
        kw["betas"] = (kw.pop("beta1"), kw.pop("beta2"))
    p = [randn([3, 4], 1).requires_grad_(), randn([3], 2).requires_grad_()]
    opt = make_optimizer(kind, p, **kw)
    for s in range(1, int(steps) + 1):
        for k, t in enumerate(p):
            t.grad = randn(t.shape, 100 * s + k + 1)
        opt.step()
    for k, t in enumerate(p):
        show(f"p{k}", t)
    for i, st in opt.state_dict()["state"].items():
        for name, v in st.items():
            show(f"state.{i}.{name}", v)


def cmd_read_ltc(path, kind):
    ck = torch.load(path, weights_only=True)
    assert ck["format"] == "ltc.checkpoint.2", ck["format"]
    model = mlp()
    model.load_state_dict(ck["model"])  # strict: the names match model.state_dict()
    group = ck["optimizer"]["param_groups"][0]
    opt = make_optimizer(kind, model.parameters(), lr=group["lr"])
    opt.load_state_dict(ck["optimizer"])
    print("step", ck["step"])
    for k, v in ck["settings"].items():
        print("setting", f"{k}={v}")
    print("digest", "ok" if ck["digest"] == digest(ck) else f"differs: file {ck['digest']}, computed {digest(ck)}")
    train_step(model, opt, 22)
    for name, t in model.state_dict().items():
        show(name, t)


def cmd_write_state_dict(path):
    torch.manual_seed(5)
    model = mlp()
    torch.save(model.state_dict(), path)
    show("out", model(randn([2, 4], 31)))


def cmd_write_ltc(path, how):
    torch.manual_seed(5)
    model = mlp()
    opt = make_optimizer("adam", model.parameters(), lr=0.01)
    train_step(model, opt, 21)
    ck = {"format": "ltc.checkpoint.2", "step": 7, "model": model.state_dict(), "optimizer": opt.state_dict(),
          "settings": {"seed": "5", "note": "written by Python"}}
    if how != "none":
        ck["digest"] = digest(ck) if how == "digest" else "crc32:00000000"
    torch.save(ck, path)
    train_step(model, opt, 22)
    for name, t in model.state_dict().items():
        show(name, t)


if __name__ == "__main__":
    commands = {"optim": cmd_optim, "read-ltc": cmd_read_ltc, "write-state-dict": cmd_write_state_dict,
                "write-ltc": cmd_write_ltc}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit("usage: torch_reference.py optim|read-ltc|write-state-dict|write-ltc ... (see its docstring)")
    commands[sys.argv[1]](*sys.argv[2:])
