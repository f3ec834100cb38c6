"""The pretrained checkpoints shipped in data/checkpoints/: they load, generate, and beat an untrained G.

The quality checks compare each shipped generator with an untrained one of the same
architecture (weights drawn with seed 0), on a fixed batch of noise:

* mnist5k-32: FID and classifier score of dcgan_lib.metrics (the offline MNIST classifier),
  against the 1,000 held-out digits of mnist5k;
* shapes-32: the share of "clean shapes", images that show one connected blob of one of the
  four palette colours on a black background (``clean_shape_mask`` below). Real
  synthetic-shapes images score 1.0 by construction.

``python tests/test_pretrained.py`` prints the numbers recorded in data/README.md.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

from dcgan_lib.data import COLOURS, SyntheticShapes, load_mnist5k, render_shape
from dcgan_lib.train import (build_models, config_from_checkpoint, load_checkpoint, load_discriminator,
                             load_generator, pretrained_path, sample_z)

CHECKPOINTS = {"mnist5k-32": {"nc": 1, "image_size": 32, "dataset": "mnist5k"},
               "shapes-32": {"nc": 3, "image_size": 32, "dataset": "synthetic-shapes"}}
MAX_FILE_BYTES = 3_000_000
NOISE_SEED = 1234  # the noise every quality check draws its samples from
PALETTE = torch.tensor(list(COLOURS.values()), dtype=torch.float32) / 255  # (4, 3) in [0, 1]
PALETTE_HUE = PALETTE / PALETTE.amax(dim=1, keepdim=True)  # each colour divided by its brightest channel


@torch.no_grad()
def generate(name: str, n: int, trained: bool = True) -> torch.Tensor:
    """Return n samples (n, C, 32, 32) from a shipped generator, or from an untrained one like it."""
    path = pretrained_path(name)
    if trained:
        generator = load_generator(path)
    else:
        state = load_checkpoint(path)
        torch.manual_seed(0)
        generator = build_models(config_from_checkpoint(state), state["nc"])[0].eval()
    z = sample_z(n, generator.nz, generator=torch.Generator().manual_seed(NOISE_SEED))
    return generator(z)


# ----------------------------------------------------------------------------- the shapes measure

def clean_shape_mask(images: torch.Tensor, foreground: float = 0.35, purity: float = 0.9,
                     dark_background: float = 0.1) -> torch.Tensor:
    """Return a bool (N,) that is True where an RGB image in [-1, 1] (N, 3, H, W) shows one clean shape.

    Clean: the foreground (pixels whose brightest channel exceeds `foreground`, in [0, 1]) is
    one connected blob (the largest component holds 95% of it); at least `purity` of its pixels
    have the hue of the same palette colour (compared after dividing by the brightest channel,
    so that dim antialiased edges keep their hue); and the background away from the blob is
    dark (mean brightness below `dark_background`).
    """
    pixels = images.detach().float().cpu().add(1).div(2).clamp(0, 1)
    brightness = pixels.amax(dim=1)                                            # (N, H, W)
    hue = pixels / brightness.clamp_min(1e-6)[:, None]
    distance = (hue[:, None] - PALETTE_HUE[None, :, :, None, None]).norm(dim=2)  # (N, 4, H, W)
    nearest, close = distance.argmin(dim=1), distance.amin(dim=1) < 0.35
    clean = []
    for mask, colours, near, bright in zip((brightness > foreground).numpy(), nearest, close, brightness):
        clean.append(_one_blob(mask) and _one_colour(colours[mask], near[mask], purity)
                     and _dark_outside(mask, bright, dark_background))
    return torch.tensor(clean)


def _one_blob(mask: np.ndarray) -> bool:
    if mask.sum() < 4:
        return False
    components, _ = ndimage.label(mask)
    return np.bincount(components.ravel())[1:].max() >= 0.95 * mask.sum()


def _one_colour(colours: torch.Tensor, near: torch.Tensor, purity: float) -> bool:
    dominant = colours.mode().values
    return ((colours == dominant) & near).float().mean().item() >= purity


def _dark_outside(mask: np.ndarray, brightness: torch.Tensor, limit: float) -> bool:
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


def shapes_scores(n: int = 512) -> dict[str, float]:
    """Clean-shape share of the shipped shapes G, an untrained G and real images; the rarest colour's share."""
    trained = generate("shapes-32", n)
    clean = clean_shape_mask(trained)
    colours = torch.bincount(dominant_colours(trained), minlength=len(PALETTE))
    return {"trained": clean.float().mean().item(),
            "untrained": clean_shape_mask(generate("shapes-32", n, trained=False)).float().mean().item(),
            "real": clean_shape_mask(SyntheticShapes(n, 32, seed=7).images).float().mean().item(),
            "least_common_colour_share": (colours.min() / colours.sum().clamp_min(1)).item()}


def mnist_scores(n: int = 1000) -> dict[str, dict[str, float]]:
    """FID/KID against the held-out digits and classifier scores, for the shipped and an untrained G."""
    from dcgan_lib.metrics import classifier_score, extract_features, fid_kid, mnist_split
    real = load_mnist5k(32).images[mnist_split()[1]]
    real_features = extract_features(real)
    scores = {}
    for label, trained in (("trained", True), ("untrained", False)):
        fake = generate("mnist5k-32", n, trained)
        distances = fid_kid(real_features, fake, kid_subsets=50, kid_subset_size=500)
        judged = classifier_score(fake)
        scores[label] = {"fid": distances["fid"], "kid": distances["kid"],
                         "confident_share": judged["confident_share"],
                         "class_entropy": judged["class_entropy"], "score": judged["score"]}
    return scores


# ----------------------------------------------------------------------------- tests

@pytest.mark.parametrize("name", CHECKPOINTS)
def test_checkpoint_is_small_and_loads_with_weights_only(name):
    path = pretrained_path(name)
    assert path.stat().st_size < MAX_FILE_BYTES
    state = torch.load(path, map_location="cpu", weights_only=True)
    expected = CHECKPOINTS[name]
    assert state["nc"] == expected["nc"]
    assert state["config"]["dataset"] == expected["dataset"]
    assert state["config"]["image_size"] == expected["image_size"]
    assert all(len(values) == state["step"] for values in state["history"].values())


@pytest.mark.parametrize("name", CHECKPOINTS)
def test_generator_makes_varied_images_in_tanh_range(name):
    images = generate(name, 16)
    expected = CHECKPOINTS[name]
    assert images.shape == (16, expected["nc"], expected["image_size"], expected["image_size"])
    assert images.dtype == torch.float32
    assert images.min() >= -1 and images.max() <= 1
    assert images.std(dim=0).mean() > 0.1  # different z, different images


@pytest.mark.parametrize("name", CHECKPOINTS)
def test_discriminator_returns_one_finite_logit_per_image(name):
    discriminator = load_discriminator(pretrained_path(name))
    with torch.no_grad():
        logits = discriminator(generate(name, 8))
    assert logits.shape == (8,) and torch.isfinite(logits).all()


def test_mnist_generator_beats_an_untrained_one_on_fid_and_classifier():
    scores = mnist_scores()
    trained, untrained = scores["trained"], scores["untrained"]
    assert trained["fid"] < 0.2 * untrained["fid"]
    assert trained["kid"] < 0.2 * untrained["kid"]
    assert trained["confident_share"] > untrained["confident_share"] + 0.3
    assert trained["class_entropy"] > 2.0  # log 10 = 2.30 when every digit is equally common


def test_shapes_generator_draws_clean_shapes_in_every_colour():
    scores = shapes_scores()
    assert scores["real"] == 1.0  # the measure accepts every real image
    assert scores["untrained"] < 0.05
    assert scores["trained"] > 0.15
    assert scores["least_common_colour_share"] > 0.1  # all four colours, none rare (0.25 each in the data)


def test_clean_shape_mask_rejects_two_shapes_grey_and_mixed_colours():
    def draw(*shapes):  # (shape, colour, radius, x, y) each; overlapping pixels add up
        pixels = sum(render_shape(*shape).astype(np.int32) for shape in shapes)
        return torch.from_numpy(np.clip(pixels, 0, 255)).float()[None] / 127.5 - 1
    one = draw((0, 0, 0.2, 0.5, 0.5))
    two_blobs = draw((0, 0, 0.12, 0.25, 0.25), (1, 0, 0.12, 0.75, 0.75))
    two_colours = draw((0, 0, 0.2, 0.4, 0.5), (0, 1, 0.2, 0.6, 0.5))
    grey = one.mean(dim=1, keepdim=True).expand(-1, 3, -1, -1)
    assert clean_shape_mask(one).all()
    assert not clean_shape_mask(torch.cat([two_blobs, two_colours, grey])).any()


def test_dominant_colour_reads_the_true_colour_of_real_shapes():
    shapes = SyntheticShapes(200, 32, seed=5)
    assert torch.equal(dominant_colours(shapes.images), shapes.labels[:, 1])


if __name__ == "__main__":
    torch.set_num_threads(1)
    print("mnist5k-32:", mnist_scores())
    print("shapes-32: ", shapes_scores())
