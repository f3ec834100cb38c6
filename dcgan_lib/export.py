"""Generators for the reader's browser: BatchNorm folded away, exported to ONNX.

The rendered book runs the shipped generators in the page itself with onnxruntime-web
(chapter 9 and the intro page; tools/generator_widget.py exports them during the book
build). In eval mode a BatchNorm layer is an affine map per channel, y = a x + b with
a = gamma / sqrt(running_var + eps) and b = beta - a running_mean, so it can be folded
into the transposed convolution before it: the exported graph is only ConvTranspose,
ReLU and Tanh, and computes the same images. Chapter 9.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch
from torch import nn

from .models import Generator


class FoldedGenerator(nn.Module):
    """An eval-mode generator whose BatchNorm layers are folded into its convolutions."""

    def __init__(self, latent_size: int, layers: list[nn.Module]):
        super().__init__()
        self.latent_size = latent_size  # nz, plus the categories of a code (chapter 8)
        self.layers = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Return images in [-1, 1] for z of shape (N, latent_size), like the Generator it
        came from."""
        return self.layers(z.reshape(z.shape[0], self.latent_size, 1, 1))


@torch.no_grad()
def fold_conv_batchnorm(conv: nn.ConvTranspose2d, norm: nn.BatchNorm2d) -> nn.ConvTranspose2d:
    """Return a copy of conv that computes norm(conv(x)) with norm in eval mode."""
    folded = copy.deepcopy(conv)
    scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)  # a, one per output channel
    # a ConvTranspose2d weight is (in, out, k, k): output channels are dimension 1
    folded.weight.mul_(scale[None, :, None, None])
    bias = conv.bias if conv.bias is not None else torch.zeros_like(norm.running_mean)
    folded.bias = nn.Parameter((bias - norm.running_mean) * scale + norm.bias)
    return folded


def fold_batchnorm(generator: Generator) -> FoldedGenerator:
    """Return an eval-mode copy of G with every BatchNorm folded into the convolution before it.

    The copy gives the same images as ``generator.eval()`` up to float rounding. Chapter 9.
    """
    layers = []
    for block in generator.blocks:
        modules = list(block)
        conv, rest = modules[0], modules[1:]
        if rest and isinstance(rest[0], nn.BatchNorm2d):
            conv, rest = fold_conv_batchnorm(conv, rest[0]), rest[1:]
        else:
            conv = copy.deepcopy(conv)
        layers += [conv] + [copy.deepcopy(m) for m in rest if not isinstance(m, nn.Identity)]
    return FoldedGenerator(generator.latent_size, layers).eval()


def export_generator_onnx(generator: Generator, path: str | Path) -> Path:
    """Write G (BatchNorm folded, eval mode) as one ONNX file: input "z" (N, latent size: nz,
    plus the one-hot code of a G with categories), output "images" (N, nc, S, S) in [-1, 1],
    N free. Chapter 9."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    folded = fold_batchnorm(generator).cpu().float()  # a copy: the caller's G stays put
    z = torch.zeros(2, generator.latent_size)
    torch.onnx.export(
        folded, (z,), path, input_names=["z"], output_names=["images"],
        dynamic_shapes={"z": {0: torch.export.Dim("n")}}, dynamo=True, external_data=False,
        verbose=False,
    )  # fmt: skip
    return path
