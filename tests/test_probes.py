"""Tests for dcgan_lib.probes: D's pooled features, few-label splits, the SVM and k-means."""

import pytest
import torch

from dcgan_lib.models import Discriminator
from dcgan_lib.probes import (
    discriminator_features,
    few_label_split,
    kmeans_features,
    linear_svm_accuracy,
)


@pytest.mark.parametrize("image_size,ndf", [(32, 4), (64, 2)])
def test_discriminator_features_width_is_channels_times_grid_cells(image_size, ndf):
    model = Discriminator(nc=3, ndf=ndf, image_size=image_size)
    images = torch.zeros(5, 3, image_size, image_size)
    features = discriminator_features(model, images, grid=4, batch_size=2)
    expected = sum(m.shape[1] for m in model.feature_maps(images)) * 16
    assert features.shape == (5, expected)


def test_discriminator_features_rejects_bad_arguments(tiny_d, images):
    with pytest.raises(ValueError, match="grid"):
        discriminator_features(tiny_d, images, grid=0)
    with pytest.raises(ValueError, match="shape"):
        discriminator_features(tiny_d, images[0])


def test_few_label_split_is_stratified_disjoint_and_deterministic():
    labels = torch.arange(100) % 4
    train, test = few_label_split(labels, per_class=3, test_size=20, seed=1)
    assert len(train) == 12 and len(test) == 20
    assert set(train.tolist()).isdisjoint(test.tolist())
    assert torch.bincount(labels[train]).tolist() == [3, 3, 3, 3]
    assert torch.bincount(labels[test]).tolist() == [5, 5, 5, 5]
    again = few_label_split(labels, per_class=3, test_size=20, seed=1)
    assert torch.equal(train, again[0]) and torch.equal(test, again[1])
    other_draw = few_label_split(labels, per_class=3, test_size=20, seed=2)
    assert torch.equal(other_draw[1], test) and not torch.equal(other_draw[0], train)
    with pytest.raises(ValueError, match="per_class"):
        few_label_split(labels, per_class=50, test_size=20)


def test_linear_svm_separates_separable_features():
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(60) % 2
    features = torch.randn(60, 5, generator=generator) + labels[:, None] * 4.0
    accuracy = linear_svm_accuracy(features[:40], labels[:40], features[40:], labels[40:], C=1.0)
    assert accuracy == 1.0


def test_kmeans_features_have_one_code_per_centroid_and_grid_cell():
    images = torch.rand(6, 1, 12, 12, generator=torch.Generator().manual_seed(0))
    features = kmeans_features(images, images[:4], centroids=5, patch=4, grid=2)
    assert features.shape == (4, 5 * 4)
    strided = kmeans_features(images, images[:4], centroids=5, patch=4, stride=2, grid=3)
    assert strided.shape == (4, 5 * 9)
    assert (features >= 0).all()
