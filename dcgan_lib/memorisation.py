"""Is G copying its training set? Nearest training images of generated samples (chapter 7).

The paper (sections 4.1 and 6.1) argues that DCGAN does not memorise; the course checks it by
showing each sample beside its nearest training images, in pixel space or in the feature
space of the offline MNIST classifier.
"""

from __future__ import annotations

import torch

from .metrics import check_images, extract_features, feature_extractor


@torch.no_grad()
def nearest_neighbours(
    samples: torch.Tensor,
    train_images: torch.Tensor,
    k: int = 3,
    space: str = "pixel",
    batch_size: int = 256,
    device: str | torch.device = "cpu",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (distances, indices), each (N, k): the k training images closest to each sample, nearest first.

    ``space="pixel"`` uses the Euclidean distance between raw pixels in [-1, 1] (shapes must
    match); ``space="feature"`` the distance between the MNIST classifier's 64 features, which
    ignores small shifts and stroke changes that pixels punish.
    Chapter 7.
    """
    check_images(samples, "samples")
    check_images(train_images, "train_images", min_count=k)
    if space == "pixel":
        if samples.shape[1:] != train_images.shape[1:]:
            raise ValueError(
                f"space='pixel' needs samples and train_images of the same (C, H, W), got "
                f"{tuple(samples.shape[1:])} and {tuple(train_images.shape[1:])}; use space='feature'"
            )
        queries, references = samples.flatten(1).double(), train_images.flatten(1).double()
    elif space == "feature":
        module = feature_extractor("mnist", device)
        queries = extract_features(samples, module, device=device)
        references = extract_features(train_images, module, device=device)
    else:
        raise ValueError(f"space must be 'pixel' or 'feature', got {space!r}")
    references = references.to(device)
    distances, indices = [], []
    for batch in queries.split(batch_size):
        batch_distances, batch_indices = _exact_nearest(batch.to(device), references, k)
        distances.append(batch_distances.cpu())
        indices.append(batch_indices.cpu())
    return torch.cat(distances).float(), torch.cat(indices)


def _exact_nearest(
    queries: torch.Tensor, references: torch.Tensor, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """k nearest references of each query (B, D): ranked by the fast matrix-product distance, then re-ranked
    on exact differences, so that an image's distance to itself is exactly 0 (the fast form leaves ~1e-3)."""
    candidates = min(k + 8, len(references))
    shortlist = torch.cdist(queries, references).topk(candidates, dim=1, largest=False).indices
    exact = (queries[:, None, :] - references[shortlist]).norm(dim=-1)
    nearest = exact.topk(k, dim=1, largest=False)
    return nearest.values, shortlist.gather(1, nearest.indices)
