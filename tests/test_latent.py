import math

import pytest
import torch

from dcgan_lib.arithmetic import (
    arithmetic,
    arithmetic_success,
    arithmetic_trials,
    concept_mask,
    concept_vector,
    match_rate,
    pick_concept_z,
    random_like_norm,
    sample_and_label,
)
from dcgan_lib.latent import (
    interpolate,
    interpolation_grid,
    interpolation_path,
    label_changes,
    largest_step_share,
    lerp,
    slerp,
    step_changes,
)
from dcgan_lib.models import Generator, code_of, sample_z

NZ = 100


def gaussian_pair(seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(NZ, generator=g), torch.randn(NZ, generator=g)


def test_slerp_starts_and_ends_at_the_anchors():
    z0, z1 = gaussian_pair()
    path = slerp(z0, z1, 7)
    assert path.shape == (7, NZ)
    torch.testing.assert_close(path[0], z0)
    torch.testing.assert_close(path[-1], z1)


def test_slerp_keeps_the_norm_of_equal_length_vectors():
    z0, z1 = gaussian_pair()
    z1 = z1 / z1.norm() * z0.norm()
    norms = slerp(z0, z1, 11).norm(dim=1)
    torch.testing.assert_close(norms, torch.full_like(norms, z0.norm().item()))


def test_lerp_dips_in_norm_at_the_midpoint_while_slerp_does_not():
    z0, z1 = gaussian_pair()
    # independent Gaussians are nearly orthogonal: the midpoint of the chord has ~1/sqrt(2) the norm
    lerp_mid = lerp(z0, z1, 3)[1].norm()
    slerp_mid = slerp(z0, z1, 3)[1].norm()
    assert lerp_mid < 0.8 * math.sqrt(NZ)
    assert abs(slerp_mid - math.sqrt(NZ)) < 0.2 * math.sqrt(NZ)


def test_lerp_is_linear_in_t():
    z0, z1 = gaussian_pair()
    path = lerp(z0, z1, 5)
    torch.testing.assert_close(path[1:] - path[:-1], ((z1 - z0) / 4).expand(4, NZ))
    torch.testing.assert_close(lerp(z0, z1, torch.tensor([0.3]))[0], 0.7 * z0 + 0.3 * z1)


def test_slerp_of_parallel_vectors_falls_back_to_lerp():
    z0 = torch.ones(NZ)
    torch.testing.assert_close(slerp(z0, 2 * z0, 3), lerp(z0, 2 * z0, 3))


def test_interpolate_rejects_unknown_method_and_batches():
    z0, z1 = gaussian_pair()
    with pytest.raises(ValueError, match="method"):
        interpolate(z0, z1, 5, "cubic")
    with pytest.raises(ValueError, match="single vectors"):
        interpolate(z0[None], z1[None], 5)
    with pytest.raises(ValueError, match="steps >= 2"):
        interpolate(z0, z1, 1)


def test_interpolation_path_passes_through_every_anchor():
    anchors = torch.randn(4, NZ)
    path = interpolation_path(anchors, steps=5, method="lerp")
    assert path.shape == (3 * 4 + 1, NZ)
    torch.testing.assert_close(path[::4], anchors)


def test_interpolation_grid_has_corners_in_place_and_bilinear_centre():
    corners = torch.randn(4, NZ)
    grid = interpolation_grid(corners, rows=3, cols=5, method="lerp")
    assert grid.shape == (15, NZ)
    cells = grid.view(3, 5, NZ)
    torch.testing.assert_close(
        torch.stack([cells[0, 0], cells[0, -1], cells[-1, 0], cells[-1, -1]]), corners
    )
    torch.testing.assert_close(cells[1, 2], corners.mean(dim=0))
    with pytest.raises(ValueError, match="corners must be"):
        interpolation_grid(corners[:3])


def test_arithmetic_of_known_vectors():
    a, b, c = torch.tensor([3.0, 1.0]), torch.tensor([1.0, 1.0]), torch.tensor([0.0, 5.0])
    torch.testing.assert_close(arithmetic(a, b, c), torch.tensor([2.0, 5.0]))
    zs = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]])  # (1 concept, 3 z's, nz 2)
    torch.testing.assert_close(concept_vector(zs), torch.tensor([[3.0, 4.0]]))


def test_random_like_norm_keeps_lengths_and_changes_direction():
    vectors = torch.randn(6, NZ) * torch.arange(1, 7)[:, None]
    random = random_like_norm(vectors, torch.Generator().manual_seed(0))
    torch.testing.assert_close(random.norm(dim=1), vectors.norm(dim=1))
    cosine = torch.nn.functional.cosine_similarity(random, vectors, dim=1)
    assert cosine.abs().max() < 0.5


def toy_labels():
    # 24 points: shape = i % 3, colour = i % 4 -> every (shape, colour) pair appears twice
    index = torch.arange(24)
    return torch.randn(24, NZ), {"shape": index % 3, "colour": index % 4}


def test_concept_mask_and_pick_select_matching_rows():
    z, labels = toy_labels()
    mask = concept_mask(labels, {"shape": 1, "colour": 1})
    assert mask.nonzero().flatten().tolist() == [1, 13]
    picked = pick_concept_z(z, labels, {"shape": 1, "colour": 1}, k=2)
    assert {tuple(row.tolist()) for row in picked} == {tuple(z[1].tolist()), tuple(z[13].tolist())}
    with pytest.raises(ValueError, match="only 2 of 24"):
        pick_concept_z(z, labels, {"shape": 1, "colour": 1}, k=3)
    with pytest.raises(KeyError, match="size"):
        concept_mask(labels, {"size": 0})


def test_arithmetic_trials_target_first_of_a_and_second_of_c():
    z, labels = toy_labels()
    row_of = {tuple(row.tolist()): i for i, row in enumerate(z)}
    trials = arithmetic_trials(
        z, labels, "shape", "colour", {"shape": 3, "colour": 4}, trials=5, k=2
    )
    assert trials.a.shape == (5, 2, NZ) and len(trials) == 5
    for t in range(5):
        a_row, b_row, c_row = (
            row_of[tuple(x[t, 0].tolist())] for x in (trials.a, trials.b, trials.c)
        )
        assert labels["shape"][a_row] == trials.target["shape"][t] != labels["shape"][b_row]
        assert labels["colour"][c_row] == trials.target["colour"][t] != labels["colour"][a_row]
        assert labels["colour"][a_row] == labels["colour"][b_row]


def test_match_rate_needs_every_named_factor():
    labels = {"shape": torch.tensor([0, 1, 2, 0]), "colour": torch.tensor([1, 1, 1, 0])}
    target = {"shape": torch.tensor([0, 1, 0, 0]), "colour": torch.tensor([1, 1, 1, 1])}
    assert match_rate(labels, target) == 0.5


def test_sample_and_label_is_deterministic_and_batched():
    generator = Generator(nz=8, ngf=8, image_size=16, nc=3).eval()

    def classify(images):
        return {"bright": (images.mean(dim=(1, 2, 3)) > 0).long()}

    z1, labels1 = sample_and_label(generator, classify, n=10, batch_size=4, seed=3)
    z2, labels2 = sample_and_label(generator, classify, n=10, batch_size=10, seed=3)
    assert z1.shape == (10, 8) and labels1["bright"].shape == (10,)
    torch.testing.assert_close(z1, z2)
    assert torch.equal(labels1["bright"], labels2["bright"])


def test_a_generator_with_a_code_gets_its_category_drawn_after_the_noise():
    """Chapter 9 on a generator with a categorical code (chapter 8): the z's sample_and_label
    labels and the 'random z' baseline are sample_z's, noise then a one-hot category."""
    generator = Generator(nz=8, ngf=8, image_size=16, nc=3, categories=4).eval()
    drawn = []

    def classify(images):  # reads nothing from the images; keeps the batch sizes
        drawn.append(len(images))
        return {name: torch.zeros(len(images), dtype=torch.long) for name in ("shape", "colour")}

    z, _ = sample_and_label(generator, classify, n=30, batch_size=16, seed=3)
    torch.testing.assert_close(z, sample_z(30, 8, generator=torch.Generator().manual_seed(3),
                                           categories=4))  # fmt: skip
    assert set(code_of(z, 4).tolist()) == {0, 1, 2, 3} and drawn == [16, 14]
    labels = {"shape": torch.arange(30) % 3, "colour": torch.arange(30) % 4}
    trials = arithmetic_trials(z, labels, "shape", "colour", {"shape": 3, "colour": 4}, trials=5,
                               k=2)  # fmt: skip
    assert trials.a.shape == (5, 2, 12)
    drawn.clear()
    rates = arithmetic_success(generator, classify, trials)  # G refuses z without its code
    assert set(rates) == {"mean of 2", "single z", "random direction", "random z"}
    assert drawn == [5, 5, 5, 5]


def test_smoothness_measures_tell_an_even_walk_from_a_jump():
    ramp = torch.linspace(-1, 1, 11)[:, None, None, None].expand(11, 1, 4, 4)
    jump = torch.cat([torch.full((5, 1, 4, 4), -1.0), torch.full((6, 1, 4, 4), 1.0)])
    torch.testing.assert_close(step_changes(ramp), torch.full((10,), 0.2))
    assert largest_step_share(ramp) == pytest.approx(0.1)
    assert largest_step_share(jump) == pytest.approx(1.0)
    assert label_changes({"shape": torch.tensor([0, 0, 1, 1, 0])}) == {"shape": 2}


def test_arithmetic_success_scores_every_method_against_the_target():
    z, labels = toy_labels()
    trials = arithmetic_trials(
        z, labels, "shape", "colour", {"shape": 3, "colour": 4}, trials=6, k=2
    )
    generator = Generator(nz=NZ, ngf=8, image_size=16, nc=3).eval()

    def always_target(images):  # a classifier that always reads the first trial's target
        return {name: values[:1].expand(len(images)) for name, values in trials.target.items()}

    rates = arithmetic_success(generator, always_target, trials)
    assert set(rates) == {"mean of 2", "single z", "random direction", "random z"}
    expected = match_rate({n: v[:1].expand(6) for n, v in trials.target.items()}, trials.target)
    assert all(rate == expected for rate in rates.values())
