"""Score the shipped generators the way data/README.md reports them.

``python tools/score_checkpoints.py`` prints, for each checkpoint in data/checkpoints/, the
numbers data/README.md records; tests/test_pretrained.py asserts bars on the same scores.
Each shipped generator is compared with an untrained one of the same architecture (weights
drawn with seed 0), on samples from fixed noise (seed NOISE_SEED):

* mnist5k-32: FID, KID and classifier score of dcgan_lib.metrics (the offline MNIST
  classifier), against the 1,000 held-out digits of mnist5k;
* shapes-32: the share of clean shapes (dcgan_lib.shapes_classifier.clean_shape_mask) and
  the share of the rarest palette colour.
"""

from __future__ import annotations

import torch

from dcgan_lib import SyntheticShapes, build_models, load_generator, pretrained_path, sample_z
from dcgan_lib.checkpoints import config_from_checkpoint, load_checkpoint
from dcgan_lib.data import load_mnist5k
from dcgan_lib.metrics import classifier_score, extract_features, fid_kid, mnist_split
from dcgan_lib.shapes import COLOURS
from dcgan_lib.shapes_classifier import clean_shape_mask, dominant_colours

NOISE_SEED = 1234  # the noise every score draws its samples from


@torch.no_grad()
def generate(name: str, n: int, trained: bool = True) -> torch.Tensor:
    """Return n samples (n, C, S, S) from a shipped generator, or from an untrained one like it."""
    path = pretrained_path(name)
    if trained:
        generator = load_generator(path)
    else:
        state = load_checkpoint(path)
        torch.manual_seed(0)
        generator = build_models(config_from_checkpoint(state), state["nc"])[0].eval()
    z = sample_z(n, generator.nz, generator=torch.Generator().manual_seed(NOISE_SEED))
    return generator(z)


def shapes_scores(n: int = 512) -> dict[str, float]:
    """Clean-shape share of the shipped shapes G, an untrained G and real images; the rarest
    colour's share of the shipped G's samples."""
    trained = generate("shapes-32", n)
    colours = torch.bincount(dominant_colours(trained), minlength=len(COLOURS))
    untrained = generate("shapes-32", n, trained=False)
    return {
        "trained": clean_shape_mask(trained).float().mean().item(),
        "untrained": clean_shape_mask(untrained).float().mean().item(),
        "real": clean_shape_mask(SyntheticShapes(n, 32, seed=7).images).float().mean().item(),
        "least_common_colour_share": (colours.min() / colours.sum().clamp_min(1)).item(),
    }


def mnist_scores(n: int = 1000) -> dict[str, dict[str, float]]:
    """FID/KID against the held-out digits and classifier scores, shipped and untrained G."""
    real = load_mnist5k(32).images[mnist_split()[1]]
    real_features = extract_features(real)
    scores = {}
    for label, trained in (("trained", True), ("untrained", False)):
        fake = generate("mnist5k-32", n, trained)
        distances = fid_kid(real_features, fake, kid_subsets=50, kid_subset_size=500)
        judged = classifier_score(fake)
        scores[label] = {
            "fid": distances["fid"],
            "kid": distances["kid"],
            "confident_share": judged["confident_share"],
            "class_entropy": judged["class_entropy"],
            "score": judged["score"],
        }
    return scores


if __name__ == "__main__":
    torch.set_num_threads(1)
    print("mnist5k-32:", mnist_scores())
    print("shapes-32: ", shapes_scores())
