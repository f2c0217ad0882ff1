#!/usr/bin/python3
"""Python PyTorch 1.13 side of bench/train_throughput.

The same architectures as worker/models/nb201_model.cc and worker/models/mobilenet_model.cc,
layer for layer (the bench asserts equal parameter counts), trained with the
same step as worker/trainer.cc: per-step cosine learning rate, gradients set
to None, forward, cross entropy (label smoothing), backward, SGD (momentum,
Nesterov, weight decay), loss accumulated on the device and read once.

Run by the C++ bench as a child process (Debian's /usr/bin/python3 with
python3-torch): one JSON request per stdin line, one JSON answer per stdout
line. Request fields: space ("nb201" | "mobilenet"), choices (list of int),
nb201 {channels, cells_per_stage} or mobilenet {width_multiplier,
channel_divisor, stem_channels, stem_stride, stage_channels, stage_strides,
head_channels}, batch, warmup_steps, steps, threads, seed, learning_rate,
momentum, nesterov, weight_decay, label_smoothing, channels_last (optional,
default false: model and batches in torch.channels_last), device (optional,
default "cpu": "cpu", "cuda", "cuda:N"; the images are moved there once, the
batch order is drawn there, as the worker does), autocast (optional, default
"": fp32; "bf16": torch.autocast with bfloat16 on the device; "fp16":
float16 autocast with torch.cuda.amp.GradScaler, CUDA only),
cudnn_benchmark (optional, default false). Answer: params,
images_per_second (wall clock; on CUDA between torch.cuda.synchronize()
calls), images_per_cpu_second (process CPU time: robust to other load on a
shared machine at 1 thread), seconds, cpu_seconds, loss,
max_memory_allocated and max_memory_reserved (bytes, CUDA: the peak of the
measurement after emptying the cache; 0 on the CPU). The first line, before
any request, is {"ready": true, "torch": VERSION, "cuda": BOOL, "devices":
[GPU names]}. A request {"quit": true} ends the process.
"""

import gzip
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA_DIR = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530  # worker/data/fashion_mnist.h


def read_idx_images(path):
    with gzip.open(path, "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        assert magic == 0x803, path
        data = np.frombuffer(f.read(n * rows * cols), dtype=np.uint8)
    return data.reshape(n, 1, rows, cols)


def read_idx_labels(path):
    with gzip.open(path, "rb") as f:
        magic, n = struct.unpack(">II", f.read(8))
        assert magic == 0x801, path
        return np.frombuffer(f.read(n), dtype=np.uint8)


def load_train(data_dir):
    x = read_idx_images(os.path.join(data_dir, "train-images-idx3-ubyte.gz"))
    y = read_idx_labels(os.path.join(data_dir, "train-labels-idx1-ubyte.gz"))
    xt = (torch.from_numpy(x.astype(np.float32)) / 255.0 - MEAN) / STD
    return xt.contiguous(), torch.from_numpy(y.astype(np.int64))


# --- nb201 (worker/models/nb201_model.cc) -------------------------------------------
NONE, SKIP, CONV1, CONV3, POOL = range(5)
EDGE_NODES = [(1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2)]


class ReluConvBn(nn.Module):
    def __init__(self, cin, cout, k, stride):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.bn(self.conv(F.relu(x)))


class Nb201Cell(nn.Module):
    def __init__(self, ops, c):
        super().__init__()
        self.ops = list(ops)
        self.convs = nn.ModuleDict()
        for e, op in enumerate(self.ops):
            if op in (CONV1, CONV3):
                self.convs[str(e)] = ReluConvBn(c, c, 1 if op == CONV1 else 3, 1)
        if POOL in self.ops:
            self.register_buffer("box_weight", torch.ones(c, 1, 3, 3))
        self.inv_count = None
        needed = [False, False, False, True]
        for to in (3, 2, 1):
            if not needed[to]:
                continue
            for e, (t, f) in enumerate(EDGE_NODES):
                if t == to and self.ops[e] != NONE:
                    needed[f] = True
        self.needed = needed

    def avg_pool(self, x):
        h, w = x.shape[2], x.shape[3]
        if self.inv_count is None or self.inv_count.shape[2:] != (h, w):
            def counts(n):
                c = [3.0] * n
                c[0] = c[-1] = 2.0 if n > 1 else 1.0
                return torch.tensor(c)
            self.inv_count = (1.0 / torch.outer(counts(h), counts(w))).reshape(
                1, 1, h, w).to(x)
        return F.conv2d(x, self.box_weight, padding=1,
                        groups=x.shape[1]) * self.inv_count

    def forward(self, x):
        node = [x, None, None, None]
        for to in (1, 2, 3):
            if not self.needed[to]:
                continue
            s = None
            for e, (t, f) in enumerate(EDGE_NODES):
                op = self.ops[e]
                if t != to or op == NONE:
                    continue
                inp = node[f]
                if op == SKIP:
                    y = inp
                elif op == POOL:
                    y = self.avg_pool(inp)
                else:
                    y = self.convs[str(e)](inp)
                s = y if s is None else s + y
            node[to] = s if s is not None else torch.zeros_like(x)
        return node[3]


class Nb201Reduction(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.a = ReluConvBn(cin, cout, 3, 2)
        self.b = ReluConvBn(cout, cout, 3, 1)
        self.pool = nn.AvgPool2d(2, 2)
        self.shortcut = nn.Conv2d(cin, cout, 1, 1, 0, bias=False)

    def forward(self, x):
        return self.b(self.a(x)) + self.shortcut(self.pool(x))


class Nb201Network(nn.Module):
    def __init__(self, ops, channels, cells, in_ch=1, classes=10):
        super().__init__()
        c = channels
        self.stem_conv = nn.Conv2d(in_ch, c, 3, 1, 1, bias=False)
        self.stem_bn = nn.BatchNorm2d(c)
        body = []
        for stage in range(3):
            if stage > 0:
                body.append(Nb201Reduction(c, 2 * c))
                c *= 2
            body.extend(Nb201Cell(ops, c) for _ in range(cells))
        self.body = nn.Sequential(*body)
        self.head_bn = nn.BatchNorm2d(c)
        self.classifier = nn.Linear(c, classes)

    def forward(self, x):
        h = self.stem_bn(self.stem_conv(x))
        h = self.body(h)
        h = F.relu(self.head_bn(h))
        return self.classifier(h.mean((2, 3)))


# --- mobilenet (worker/models/mobilenet_model.cc, common/spaces/mobilenet_space.h) ---------
KERNELS, EXPANSIONS, DEPTHS = (3, 5, 7), (3, 4, 6), (2, 3, 4)


def make_divisible(v, divisor):
    out = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if out < 0.9 * v:
        out += divisor
    return out


def relu6(x):
    return F.hardtanh(x, 0, 6)


class MBConvBlock(nn.Module):
    def __init__(self, cin, cout, k, e, stride, se):
        super().__init__()
        hidden = cin * e
        self.residual = stride == 1 and cin == cout
        self.expand = nn.Conv2d(cin, hidden, 1, bias=False)
        self.expand_bn = nn.BatchNorm2d(hidden)
        self.depthwise = nn.Conv2d(hidden, hidden, k, stride, k // 2,
                                   groups=hidden, bias=False)
        self.depthwise_bn = nn.BatchNorm2d(hidden)
        self.se = se > 0
        if self.se:
            self.se_reduce = nn.Conv2d(hidden, se, 1, bias=True)
            self.se_expand = nn.Conv2d(se, hidden, 1, bias=True)
        self.project = nn.Conv2d(hidden, cout, 1, bias=False)
        self.project_bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        h = relu6(self.expand_bn(self.expand(x)))
        h = relu6(self.depthwise_bn(self.depthwise(h)))
        if self.se:
            s = h.mean((2, 3), keepdim=True)
            s = torch.sigmoid(self.se_expand(F.relu(self.se_reduce(s))))
            h = h * s
        h = self.project_bn(self.project(h))
        return h + x if self.residual else h


class MobileNetNetwork(nn.Module):
    def __init__(self, choices, o, in_ch=1, classes=10):
        super().__init__()
        wm, div = o["width_multiplier"], o["channel_divisor"]

        def scaled(c):
            return make_divisible(c * wm, div)

        c = scaled(o["stem_channels"])
        self.stem_conv = nn.Conv2d(in_ch, c, 3, o["stem_stride"], 1, bias=False)
        self.stem_bn = nn.BatchNorm2d(c)
        blocks = []
        for s in range(4):
            k, e, d, se = choices[4 * s:4 * s + 4]
            k, e, d = KERNELS[k], EXPANSIONS[e], DEPTHS[d]
            cout = scaled(o["stage_channels"][s])
            for j in range(d):
                stride = o["stage_strides"][s] if j == 0 else 1
                hidden = c * e
                se_ch = make_divisible(hidden // 4, div) if se else 0
                blocks.append(MBConvBlock(c, cout, k, e, stride, se_ch))
                c = cout
        self.body = nn.Sequential(*blocks)
        head = scaled(o["head_channels"])
        self.head_conv = nn.Conv2d(c, head, 1, bias=False)
        self.head_bn = nn.BatchNorm2d(head)
        self.classifier = nn.Linear(head, classes)

    def forward(self, x):
        h = relu6(self.stem_bn(self.stem_conv(x)))
        h = self.body(h)
        h = relu6(self.head_bn(self.head_conv(h)))
        return self.classifier(h.mean((2, 3), keepdim=True).flatten(1))


def build(req):
    if req["space"] == "nb201":
        o = req["nb201"]
        return Nb201Network(req["choices"], o["channels"], o["cells_per_stage"])
    return MobileNetNetwork(req["choices"], req["mobilenet"])


_device_data = {}


def on_device(x_all, y_all, device):
    """The images on `device`, moved once."""
    if device not in _device_data:
        _device_data[device] = (x_all.to(device), y_all.to(device))
    return _device_data[device]


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(req, x_all, y_all):
    if req["threads"] > 0:
        torch.set_num_threads(req["threads"])
    device = torch.device(req.get("device", "cpu"))
    cuda = device.type == "cuda"
    if cuda:
        torch.backends.cudnn.benchmark = req.get("cudnn_benchmark", False)
    x_all, y_all = on_device(x_all, y_all, device)
    autocast = req.get("autocast", "")
    amp_dtype = {"": None, "bf16": torch.bfloat16, "fp16": torch.float16}[autocast]
    assert autocast != "fp16" or cuda, "fp16 autocast is CUDA only"
    scaler = torch.cuda.amp.GradScaler(enabled=autocast == "fp16")
    torch.manual_seed(req["seed"])
    model = build(req).to(device)
    params = sum(p.numel() for p in model.parameters())
    channels_last = req.get("channels_last", False)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    batch, warmup, steps = req["batch"], req["warmup_steps"], req["steps"]
    lr0 = req["learning_rate"]
    total = warmup + steps
    opt = torch.optim.SGD(model.parameters(), lr=lr0,
                          momentum=req["momentum"],
                          nesterov=req["nesterov"],
                          weight_decay=req["weight_decay"])
    smoothing = req["label_smoothing"]
    step = 0

    def epoch(x, y):
        # worker/trainer.cc Trainer::RunEpoch + Trainer::Step
        nonlocal step
        model.train()
        n = x.shape[0]
        perm = torch.randperm(n, device=device)
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        for b in range(0, n, batch):
            idx = perm[b:b + batch]
            xb, yb = x.index_select(0, idx), y.index_select(0, idx)
            if channels_last:
                xb = xb.contiguous(memory_format=torch.channels_last)
            lr = 0.5 * lr0 * (1 + math.cos(math.pi * step / total))
            for g in opt.param_groups:
                g["lr"] = lr
            opt.zero_grad(set_to_none=True)
            with torch.autocast(device.type, dtype=amp_dtype,
                                enabled=amp_dtype is not None):
                loss = F.cross_entropy(model(xb), yb,
                                       label_smoothing=smoothing)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            step += 1
            loss_sum.add_(loss.detach(), alpha=idx.shape[0])
        return loss_sum.item() / n

    if cuda:
        synchronize(device)
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    epoch(x_all[:warmup * batch], y_all[:warmup * batch])
    n = steps * batch
    synchronize(device)
    t0, c0 = time.perf_counter(), time.process_time()
    loss = epoch(x_all[:n], y_all[:n])  # .item() at its end waits too
    synchronize(device)
    seconds = time.perf_counter() - t0
    cpu_seconds = time.process_time() - c0
    assert math.isfinite(loss), loss
    peak = torch.cuda.max_memory_allocated(device) if cuda else 0
    reserved = torch.cuda.max_memory_reserved(device) if cuda else 0
    return {"params": params, "images_per_second": n / seconds,
            "images_per_cpu_second": n / cpu_seconds, "seconds": seconds,
            "cpu_seconds": cpu_seconds, "loss": loss,
            "max_memory_allocated": peak, "max_memory_reserved": reserved}


def main():
    data_dir = os.environ.get("NAS_BENCH_DATA_DIR", DATA_DIR)
    x_all, y_all = load_train(data_dir)
    cuda = torch.cuda.is_available()
    devices = [torch.cuda.get_device_name(i)
               for i in range(torch.cuda.device_count())] if cuda else []
    print(json.dumps({"ready": True, "torch": torch.__version__,
                      "cuda": cuda, "devices": devices}), flush=True)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        req = json.loads(line)
        if req.get("quit"):
            break
        print(json.dumps(measure(req, x_all, y_all)), flush=True)


if __name__ == "__main__":
    main()
