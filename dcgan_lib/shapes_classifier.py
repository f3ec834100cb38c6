"""Reading synthetic-shapes images: a CNN for their factors, and a pixel test for one clean shape.

The factors of synthetic-shapes are known, so a classifier trained on real shapes tells us
what a generated image shows. Chapter 9 uses it to measure what a walk in z-space changes
and whether vector arithmetic lands on the intended concept. One shared convolutional
trunk, one linear head per factor. data/train_factor_classifier.py trains the shipped
weights in data/shapes_factor_classifier.pt (test accuracy in data/README.md).

``clean_shape_mask`` needs no network: it asks whether an image shows one connected blob of
one palette colour on black, as every real image does. tests/test_pretrained.py scores the
shipped shapes generator with it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from .checkpoints import read_shipped_weights, rebuild_hint, restore_module
from .data import DATA_DIR
from .shapes import COLOURS, FACTOR_LEVELS, FACTOR_NAMES, SHAPES

CLASSIFIER_FORMAT = 1
CLASSIFIER_PATH = DATA_DIR / "shapes_factor_classifier.pt"
SCRIPT = "train_factor_classifier.py"  # in data/: rebuilds CLASSIFIER_PATH
LEVEL_NAMES = {
    "shape": SHAPES,
    "colour": tuple(COLOURS),
    "size": ("small", "medium", "large"),
    "x": ("left", "centre", "right"),
    "y": ("top", "middle", "bottom"),
}


class FactorClassifier(nn.Module):
    """Images (N, 3, 32, 32) in [-1, 1] -> dict factor -> logits (N, levels of that factor).

    Chapter 9.
    """

    def __init__(self, width: int = 16, image_size: int = 32):
        super().__init__()
        self.width, self.image_size = width, image_size
        layers, channels = [], 3
        for out in (width, 2 * width, 4 * width):  # 32 -> 16 -> 8 -> 4 pixels
            layers += [
                nn.Conv2d(channels, out, 3, padding=1),
                nn.BatchNorm2d(out),
                nn.ReLU(),
                nn.MaxPool2d(2),
            ]
            channels = out
        side = image_size // 8
        self.trunk = nn.Sequential(
            *layers, nn.Flatten(), nn.Linear(channels * side * side, 64), nn.ReLU()
        )
        self.heads = nn.ModuleDict(
            {name: nn.Linear(64, FACTOR_LEVELS[name]) for name in FACTOR_NAMES}
        )

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        expected = (3, self.image_size, self.image_size)
        if images.dim() != 4 or tuple(images.shape[1:]) != expected:
            raise ValueError(
                f"the factor classifier reads synthetic-shapes RGB images of shape "
                f"(N, {', '.join(map(str, expected))}), got {tuple(images.shape)}; "
                f"use a generator trained with --dataset synthetic-shapes --image-size "
                f"{self.image_size}"
            )
        features = self.trunk(images)
        return {name: head(features) for name, head in self.heads.items()}


def save_factor_classifier(
    model: FactorClassifier, path: str | Path, test_accuracy: dict[str, float] | None = None
) -> Path:
    """Write the weights (float32) and architecture as plain tensors and numbers (weights_only)."""
    state = {
        "format": CLASSIFIER_FORMAT,
        "width": model.width,
        "image_size": model.image_size,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "test_accuracy": dict(test_accuracy or {}),
    }
    torch.save(state, path)
    return Path(path)


def load_factor_classifier(
    path: str | Path | None = None, device: str | torch.device = "cpu"
) -> FactorClassifier:
    """Return the shipped (or given) factor classifier in eval mode on device. Chapter 9."""
    path = Path(path or CLASSIFIER_PATH)
    required = {"format": CLASSIFIER_FORMAT, "width": None, "image_size": None, "state_dict": None}
    kind = f"factor classifier (format {CLASSIFIER_FORMAT})"
    state = read_shipped_weights(path, kind, SCRIPT, required)
    model = FactorClassifier(state["width"], state["image_size"])
    restore_module(model, state["state_dict"], path, "factor classifier", rebuild_hint(SCRIPT))
    return model.to(device).eval()


_DEFAULT: dict[str, FactorClassifier] = {}  # the shipped model, loaded once per device


def _default_classifier(device: torch.device) -> FactorClassifier:
    key = str(device)
    if key not in _DEFAULT:
        _DEFAULT[key] = load_factor_classifier(device=device)
    return _DEFAULT[key]


@torch.no_grad()
def factor_probabilities(
    images: torch.Tensor, classifier: FactorClassifier | None = None, batch_size: int = 512
) -> dict[str, torch.Tensor]:
    """Return factor -> probabilities (N, levels) for images (N, 3, 32, 32) in [-1, 1].

    Chapter 9.
    """
    model = classifier or _default_classifier(images.device)
    was_training = model.training
    model.eval()
    parts = [model(chunk) for chunk in images.split(batch_size)]
    model.train(was_training)
    return {name: torch.cat([p[name] for p in parts]).softmax(dim=1) for name in FACTOR_NAMES}


def predict_factors(
    images: torch.Tensor, classifier: FactorClassifier | None = None, min_confidence: float = 0.0
) -> dict[str, torch.Tensor]:
    """Return factor -> predicted level (N,) long, for images (N, 3, 32, 32) in [-1, 1]. Chapter 9.

    Predictions whose probability is below `min_confidence` are set to -1 (unsure), so
    that concept search can keep only images the classifier reads clearly.
    """
    predictions = {}
    for name, probabilities in factor_probabilities(images, classifier).items():
        confidence, level = probabilities.max(dim=1)
        predictions[name] = torch.where(
            confidence >= min_confidence, level, torch.full_like(level, -1)
        )
    return predictions


def factor_accuracy(
    images: torch.Tensor, labels: torch.Tensor, classifier: FactorClassifier | None = None
) -> dict[str, float]:
    """Accuracy per factor against true labels (N, 5) in FACTOR_NAMES order (SyntheticShapes.labels).

    Chapter 9.
    """
    predictions = predict_factors(images, classifier)
    return {
        name: (predictions[name].cpu() == labels[:, i].cpu()).float().mean().item()
        for i, name in enumerate(FACTOR_NAMES)
    }


def parse_concept(text: str) -> dict[str, int]:
    """Turn words into factor levels: 'red square' -> {'colour': 0, 'shape': 0}. Chapter 9."""
    concept = {}
    for word in text.lower().split():
        owners = [name for name, levels in LEVEL_NAMES.items() if word in levels]
        if not owners:
            known = ", ".join(level for levels in LEVEL_NAMES.values() for level in levels)
            raise ValueError(f"unknown factor level {word!r} in {text!r}; known: {known}")
        concept[owners[0]] = LEVEL_NAMES[owners[0]].index(word)
    return concept


def describe(labels: dict[str, torch.Tensor], index: int, factors=("colour", "shape")) -> str:
    """Words for one labelled image, e.g. 'red square' ('?' where the label is -1, unsure).

    Chapter 9.
    """
    words = []
    for name in factors:
        level = int(labels[name][index])
        words.append(LEVEL_NAMES[name][level] if level >= 0 else "?")
    return " ".join(words)


# ----------------------------------------------------------------------------- clean shapes

PALETTE = torch.tensor(list(COLOURS.values()), dtype=torch.float32) / 255  # (4, 3) in [0, 1]
PALETTE_HUE = PALETTE / PALETTE.amax(dim=1, keepdim=True)  # each colour / its brightest channel


def clean_shape_mask(
    images: torch.Tensor,
    foreground: float = 0.35,
    purity: float = 0.9,
    dark_background: float = 0.1,
) -> torch.Tensor:
    """Return a bool (N,), True where an RGB image in [-1, 1] (N, 3, H, W) shows one clean shape.

    Clean: the foreground (pixels whose brightest channel exceeds `foreground`, in [0, 1]) is
    one connected blob (the largest component holds 95% of it); at least `purity` of its pixels
    have the hue of the same palette colour (compared after dividing by the brightest channel,
    so that dim antialiased edges keep their hue); and the background away from the blob is
    dark (mean brightness below `dark_background`). Real synthetic-shapes images all pass.
    Chapter 7.
    """
    pixels = images.detach().float().cpu().add(1).div(2).clamp(0, 1)
    brightness = pixels.amax(dim=1)  # (N, H, W)
    hue = pixels / brightness.clamp_min(1e-6)[:, None]
    distance = (hue[:, None] - PALETTE_HUE[None, :, :, None, None]).norm(dim=2)  # (N, 4, H, W)
    nearest, close = distance.argmin(dim=1), distance.amin(dim=1) < 0.35
    clean = []
    for mask, colours, near, bright in zip(
        (brightness > foreground).numpy(), nearest, close, brightness
    ):
        clean.append(
            _one_blob(mask)
            and _one_colour(colours[mask], near[mask], purity)
            and _dark_outside(mask, bright, dark_background)
        )
    return torch.tensor(clean)


def _one_blob(mask: np.ndarray) -> bool:
    from scipy import ndimage

    if mask.sum() < 4:
        return False
    components, _ = ndimage.label(mask)
    return np.bincount(components.ravel())[1:].max() >= 0.95 * mask.sum()


def _one_colour(colours: torch.Tensor, near: torch.Tensor, purity: float) -> bool:
    dominant = colours.mode().values
    return ((colours == dominant) & near).float().mean().item() >= purity


def _dark_outside(mask: np.ndarray, brightness: torch.Tensor, limit: float) -> bool:
    from scipy import ndimage

    outside = ~torch.from_numpy(ndimage.binary_dilation(mask, iterations=2))
    return not outside.any() or brightness[outside].mean().item() < limit


def dominant_colours(images: torch.Tensor) -> torch.Tensor:
    """Return the palette index (N,) nearest to the mean hue of each image's bright pixels."""
    pixels = images.detach().float().cpu().add(1).div(2).clamp(0, 1)
    brightness = pixels.amax(dim=1, keepdim=True)
    weights = (brightness > 0.35).float()
    mean_rgb = (pixels * weights).sum(dim=(2, 3)) / weights.sum(dim=(2, 3)).clamp_min(1)
    hue = mean_rgb / mean_rgb.amax(dim=1, keepdim=True).clamp_min(1e-6)
    return torch.cdist(hue, PALETTE_HUE).argmin(dim=1)
