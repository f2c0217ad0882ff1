#!/usr/bin/python3
"""Independent zero-cost proxies for zero_cost_test.cc, in PyTorch.

Usage: zero_cost_reference.py TENSORS.pt
TENSORS.pt (torch::pickle_save of a list): conv weight (3x1x3x3), batch-norm
weight and bias (3), linear weight (4 x 3*6*6) and bias (4), images
(N x 1 x 6 x 6) and int64 labels (N). Builds the same net
(conv 3x3 pad 1 no bias, BN, ReLU, flatten, linear) and prints synflow,
jacob_cov, snip and grad_norm, one per line, the way the zero-cost-nas
reference code computes them (forward hooks on nn.ReLU, a weight mask for
snip, net.double() for synflow).
"""
import copy
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def build(t):
    net = nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1, bias=False),
        nn.BatchNorm2d(3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(3 * 6 * 6, 4),
    )
    with torch.no_grad():
        net[0].weight.copy_(t[0])
        net[1].weight.copy_(t[1])
        net[1].bias.copy_(t[2])
        net[4].weight.copy_(t[3])
        net[4].bias.copy_(t[4])
    return net


def layers(net):
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def synflow(net, x):
    net = copy.deepcopy(net)
    with torch.no_grad():
        for _, p in net.state_dict().items():
            p.abs_()
    net.eval()  # batch norm on its running statistics
    net.double()
    net.zero_grad()
    out = net(torch.ones([1] + list(x.shape[1:]), dtype=torch.float64))
    torch.sum(out).backward()
    return sum(float((m.weight * m.weight.grad).abs().sum()) for m in layers(net))


def naswot(net, x):
    net = copy.deepcopy(net)
    net.train()
    k = np.zeros((x.shape[0], x.shape[0]))

    def hook(module, inp, out):
        c = (inp[0].view(inp[0].size(0), -1) > 0).double()
        k[:] += (c @ c.t() + (1. - c) @ (1. - c).t()).numpy()

    for m in net.modules():
        if 'ReLU' in str(type(m)):
            m.register_forward_hook(hook)
    with torch.no_grad():
        net(x)
    return np.linalg.slogdet(k)[1]


def snip(net, x, y):
    net = copy.deepcopy(net)
    net.train()
    masks = []
    for m in layers(net):
        m.weight_mask = nn.Parameter(torch.ones_like(m.weight))
        m.weight.requires_grad = False
        masks.append(m)

    def masked_forward(h):
        for m in net:
            if isinstance(m, nn.Conv2d):
                h = F.conv2d(h, m.weight * m.weight_mask, m.bias, m.stride,
                             m.padding, m.dilation, m.groups)
            elif isinstance(m, nn.Linear):
                h = F.linear(h, m.weight * m.weight_mask, m.bias)
            else:
                h = m(h)
        return h

    F.cross_entropy(masked_forward(x), y).backward()
    return sum(float(m.weight_mask.grad.double().abs().sum()) for m in masks)


def grad_norm(net, x, y):
    net = copy.deepcopy(net)
    net.train()
    net.zero_grad()
    F.cross_entropy(net(x), y).backward()
    return sum(float(m.weight.grad.double().norm()) for m in layers(net))


def main():
    t = torch.load(sys.argv[1])
    net = build(t)
    x, y = t[5], t[6]
    for v in (synflow(net, x), naswot(net, x), snip(net, x, y),
              grad_norm(net, x, y)):
        print('%.17g' % v)


if __name__ == '__main__':
    main()
