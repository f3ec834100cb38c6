"""Vector arithmetic on z: concept vectors, a - b + c, and how often it lands on the target.

Radford et al. (2015, section 6.3.2) average the z's of three samples per concept before
doing arithmetic, "smiling woman - neutral woman + neutral man". Here a concept is a set of
factor levels that a classifier reads in G(z) ({"colour": 0, "shape": 0} for a red square);
``sample_and_label`` labels many samples once, ``pick_concept_z`` and ``concept_picks`` choose
z's that show a concept, and ``arithmetic_trials`` / ``arithmetic_success`` measure many
analogies against random baselines. Chapter 9.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .latent import Classifier, Labels
from .models import sample_z


def concept_vector(zs: torch.Tensor) -> torch.Tensor:
    """The mean of the z's that show one concept (the paper averages three): (..., k, nz) -> (..., nz).

    Chapter 9.
    """
    if zs.dim() < 2:
        raise ValueError(f"zs must be (k, nz) or (..., k, nz), got {tuple(zs.shape)}")
    return zs.mean(dim=-2)


def arithmetic(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Vector arithmetic a - b + c, e.g. z(smiling woman) - z(neutral woman) + z(neutral man).

    Chapter 9.
    """
    return a - b + c


def random_like_norm(
    vectors: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Random directions with the same length as each row of `vectors`: the baseline for a - b.

    Chapter 9.
    """
    directions = torch.randn(vectors.shape, generator=generator, dtype=vectors.dtype)
    directions = directions.to(vectors.device)
    return directions * (
        vectors.norm(dim=-1, keepdim=True) / directions.norm(dim=-1, keepdim=True)
    )


def _draw_z(n: int, generator: torch.nn.Module, rng: torch.Generator) -> torch.Tensor:
    """n inputs for `generator` on the CPU: N(0, I) noise, followed by a one-hot category where
    the generator has a categorical code (exactly torch.randn(n, nz) where it has none)."""
    return sample_z(n, generator.nz, generator=rng, categories=getattr(generator, "categories", 0))


# ----------------------------------------------------------------------------- concepts


@torch.no_grad()
def sample_and_label(
    generator: torch.nn.Module,
    classify: Classifier,
    n: int,
    batch_size: int = 256,
    seed: int = 0,
) -> tuple[torch.Tensor, Labels]:
    """Draw n z ~ N(0, I), draw G(z) and label the images with `classify` (images -> Labels).

    A generator with a categorical code (``generator.categories`` = K > 0, chapter 8) gets each
    z followed by the one-hot code of a uniformly drawn category, as ``sample_z`` draws them.
    Returns (z (n, latent size) on the CPU, labels dict of (n,) tensors); deterministic in seed.
    Chapter 9.
    """
    device = next(generator.parameters()).device
    z = _draw_z(n, generator, torch.Generator().manual_seed(seed))
    parts = [classify(generator(chunk.to(device))) for chunk in z.split(batch_size)]
    return z, {name: torch.cat([part[name].cpu() for part in parts]) for name in parts[0]}


def concept_mask(labels: Labels, concept: dict[str, int]) -> torch.Tensor:
    """Boolean (N,) mask of the rows whose labels match every factor level of `concept`."""
    unknown = set(concept) - set(labels)
    if unknown:
        raise KeyError(
            f"concept uses factors {sorted(unknown)} that labels lack; labels have {sorted(labels)}"
        )
    mask = torch.ones_like(next(iter(labels.values())), dtype=torch.bool)
    for name, level in concept.items():
        mask &= labels[name] == level
    return mask


def pick_concept_z(
    z: torch.Tensor,
    labels: Labels,
    concept: dict[str, int],
    k: int = 3,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Pick k random z's (k, nz) whose images show `concept`, e.g. {'shape': 0, 'colour': 0}.

    Chapter 9.
    """
    matches = concept_mask(labels, concept).nonzero().flatten()
    if len(matches) < k:
        raise ValueError(
            f"only {len(matches)} of {len(z)} samples show {concept}, {k} needed; "
            f"sample more z's or ask for a concept the generator draws more often"
        )
    return z[matches[torch.randperm(len(matches), generator=generator)[:k]]]


def concept_picks(
    z: torch.Tensor, labels: Labels, concepts: dict[str, dict[str, int]], k: int = 3, seed: int = 5
) -> dict[str, torch.Tensor]:
    """For each named concept, k z's (k, nz) whose images show it (pick_concept_z).

    ``concepts`` maps a name to its factor levels, e.g. {"red square": {"colour": 0,
    "shape": 0}}; one torch.Generator seeded `seed` draws the picks in that order, so the
    same call gives the same picks. Concepts that fewer than k samples show are left out.
    Chapter 9 (the book's in-browser arithmetic uses the same picks).
    """
    generator = torch.Generator().manual_seed(seed)
    picks = {}
    for name, concept in concepts.items():
        if int(concept_mask(labels, concept).sum()) >= k:
            picks[name] = pick_concept_z(z, labels, concept, k=k, generator=generator)
    return picks


@dataclass
class ArithmeticTrials:
    """Concept triples for a - b + c: a, b, c are (trials, k, nz); target the expected labels."""

    a: torch.Tensor
    b: torch.Tensor
    c: torch.Tensor
    target: Labels

    def __len__(self) -> int:
        return len(self.a)


def _analogies(
    labels: Labels, first: str, second: str, levels: dict[str, int], k: int
) -> list[tuple]:
    """Every (f1, f2, g1, g2) whose three source concepts each have at least k labelled z's."""
    enough = {
        (f, g)
        for f in range(levels[first])
        for g in range(levels[second])
        if concept_mask(labels, {first: f, second: g}).sum() >= k
    }
    return [
        (f1, f2, g1, g2)
        for (f1, g1) in enough
        for (f2, g2) in enough
        if f1 != f2 and g1 != g2 and (f2, g1) in enough
    ]


def arithmetic_trials(
    z: torch.Tensor,
    labels: Labels,
    first: str,
    second: str,
    levels: dict[str, int],
    trials: int = 100,
    k: int = 3,
    seed: int = 0,
) -> ArithmeticTrials:
    """Random analogies over two factors: a = (f1, g1), b = (f2, g1), c = (f2, g2) -> (f1, g2).

    With first='shape', second='colour': red square - red circle + blue circle = blue square.
    Each trial draws f1 != f2 and g1 != g2 among the analogies whose three source concepts
    have at least k z's; `levels` gives each factor's number of levels.
    Chapter 9.
    """
    analogies = _analogies(labels, first, second, levels, k)
    if not analogies:
        raise ValueError(
            f"no analogy over {first} and {second} has {k} z's for each of its three "
            f"concepts; sample more z's or lower k"
        )
    rng = torch.Generator().manual_seed(seed)
    triples = {"a": [], "b": [], "c": []}
    target = {first: [], second: []}
    for choice in torch.randint(len(analogies), (trials,), generator=rng).tolist():
        f1, f2, g1, g2 = analogies[choice]
        for key, (f, g) in zip("abc", ((f1, g1), (f2, g1), (f2, g2))):
            triples[key].append(pick_concept_z(z, labels, {first: f, second: g}, k, rng))
        target[first].append(f1)
        target[second].append(g2)
    return ArithmeticTrials(
        *(torch.stack(triples[key]) for key in "abc"),
        target={name: torch.tensor(v) for name, v in target.items()},
    )


def match_rate(labels: Labels, target: Labels) -> float:
    """Fraction of rows whose labels equal the target on every factor the target names.

    Chapter 9.
    """
    hits = torch.ones_like(next(iter(target.values())), dtype=torch.bool)
    for name, expected in target.items():
        hits &= labels[name].cpu() == expected.cpu()
    return hits.float().mean().item()


@torch.no_grad()
def arithmetic_success(
    generator: torch.nn.Module,
    classify: Classifier,
    trials: ArithmeticTrials,
    seed: int = 0,
) -> dict[str, float]:
    """Share of trials whose result G(z) is classified as the target, for four ways to build z.

    'mean of k': the paper's a - b + c on concept vectors; 'single z': the same on the first z
    of each concept; 'random direction': mean c plus a random vector as long as mean a - mean b;
    'random z': a fresh z ~ N(0, I) (with a uniformly drawn category for a generator with a
    code), the chance of drawing the target concept at all.
    Chapter 9.
    """
    rng = torch.Generator().manual_seed(seed)
    a, b, c = (concept_vector(zs) for zs in (trials.a, trials.b, trials.c))
    queries = {
        f"mean of {trials.a.shape[1]}": arithmetic(a, b, c),
        "single z": arithmetic(trials.a[:, 0], trials.b[:, 0], trials.c[:, 0]),
        "random direction": c + random_like_norm(a - b, rng),
        "random z": _draw_z(len(a), generator, rng),
    }
    device = next(generator.parameters()).device
    return {
        name: match_rate(classify(generator(z.to(device))), trials.target)
        for name, z in queries.items()
    }
