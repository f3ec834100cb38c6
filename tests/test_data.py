"""Every dataset name loads, from files fabricated in tmp_path; nothing touches the network."""

import pickle
import struct

import numpy as np
import pytest
import torch
from PIL import Image

from dcgan_lib.data import (
    SyntheticShapes,
    load_dataset,
    stack_dataset,
    to_uint8,
    uint8_to_unit_range,
)
from dcgan_lib.shapes import FACTOR_NAMES


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    import urllib.request

    def refuse(*args, **kwargs):
        raise AssertionError("a test tried to download")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(urllib.request, "urlretrieve", refuse)


def write_idx(folder, prefix, n=12):
    """Write MNIST-format IDX image and label files (big-endian headers, uint8 payload)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    for split in ("train", "t10k"):
        (folder / f"{split}-images-idx3-ubyte").write_bytes(
            struct.pack(">IIII", 2051, n, 28, 28) + images.tobytes()
        )
        (folder / f"{split}-labels-idx1-ubyte").write_bytes(
            struct.pack(">II", 2049, n) + labels.tobytes()
        )
    return images


def write_pngs(folder, n=5, size=(40, 30)):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.new("RGB", size, (i * 40, 100, 200)).save(folder / f"img_{i}.png")


def test_mnist5k_is_the_embedded_offline_default():
    dataset = load_dataset("mnist5k", image_size=32)
    images, labels = stack_dataset(dataset)
    assert images.shape == (5000, 1, 32, 32) and images.dtype == torch.float32
    assert images.min() >= -1 and images.max() <= 1 and images.min() == -1
    assert torch.bincount(labels).tolist() == [500] * 10


def test_mnist5k_at_native_size_round_trips_to_uint8():
    images, _ = stack_dataset(load_dataset("mnist5k", image_size=16))
    assert images.shape[-1] == 16
    raw = np.load("data/mnist5k.npz")["images"][:10]
    assert torch.equal(to_uint8(uint8_to_unit_range(raw)), torch.as_tensor(raw))


@pytest.mark.parametrize(
    "name,folder", [("mnist", "MNIST/raw"), ("fashion-mnist", "FashionMNIST/raw")]
)
def test_idx_datasets_load_from_local_files(tmp_path, name, folder):
    raw = write_idx(tmp_path / folder, "train")
    dataset = load_dataset(name, root=tmp_path, image_size=32)
    image, label = dataset[3]
    assert len(dataset) == 12 and image.shape == (1, 32, 32) and label == 3
    assert image.min() >= -1 and image.max() <= 1
    assert load_dataset(name, root=tmp_path, image_size=16)[0][0].shape == (1, 16, 16)
    assert raw.shape == (12, 28, 28)


def test_cifar10_loads_from_local_batches(tmp_path, monkeypatch):
    import torchvision.datasets.cifar as cifar

    monkeypatch.setattr(
        cifar, "check_integrity", lambda *args, **kwargs: True
    )  # fabricated files: no md5
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8), "labels": [0, 1, 2, 3]}
        (folder / name).write_bytes(pickle.dumps(batch))
    (folder / "batches.meta").write_bytes(
        pickle.dumps({"label_names": [f"c{i}" for i in range(10)]})
    )
    dataset = load_dataset("cifar10", root=tmp_path, image_size=32)
    assert len(dataset) == 20 and dataset[5][0].shape == (3, 32, 32) and dataset[5][1] == 1
    assert len(load_dataset("cifar10", root=tmp_path, image_size=32, train=False)) == 4


def test_celeba_loads_from_the_aligned_image_folder(tmp_path):
    write_pngs(tmp_path / "celeba" / "img_align_celeba", n=3, size=(178, 218))
    dataset = load_dataset("celeba", root=tmp_path, image_size=64)
    assert len(dataset) == 3 and dataset[0][0].shape == (3, 64, 64)


def test_lsun_loads_from_an_exported_image_folder(tmp_path):
    write_pngs(tmp_path / "lsun" / "bedroom" / "sub", n=4)
    dataset = load_dataset("lsun", root=tmp_path, image_size=32, category="bedroom")
    assert len(dataset) == 4 and dataset[0][0].shape == (3, 32, 32)


def test_any_folder_loads_recursively_and_scales_to_unit_range(tmp_path):
    write_pngs(tmp_path / "pics" / "a", n=2)
    write_pngs(tmp_path / "pics" / "b", n=3)
    (tmp_path / "pics" / "notes.txt").write_text("not an image")
    dataset = load_dataset(f"folder:{tmp_path / 'pics'}", image_size=16)
    images, _ = stack_dataset(dataset)
    assert images.shape == (5, 3, 16, 16)
    # the (200) blue channel maps to 200/127.5 - 1
    assert torch.allclose(images[:, 2], torch.full_like(images[:, 2], 200 / 127.5 - 1), atol=1e-6)


@pytest.mark.parametrize(
    "name,hint",
    [
        ("mnist", "download=True"),
        ("fashion-mnist", "download=True"),
        ("cifar10", "download=True"),
        ("celeba", "download=True"),
        ("lsun", "LSUN download script"),
    ],
)
def test_missing_data_says_exactly_what_to_do(tmp_path, name, hint):
    with pytest.raises(FileNotFoundError, match=hint) as error:
        load_dataset(name, root=tmp_path / "empty", image_size=32)
    assert str(tmp_path / "empty") in str(error.value)


def test_missing_or_empty_folder_is_explained(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_dataset(f"folder:{tmp_path / 'nope'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no images"):
        load_dataset(f"folder:{tmp_path / 'empty'}")


def test_unknown_name_and_bad_size_are_refused():
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'.*mnist5k"):
        load_dataset("imagenet")
    with pytest.raises(ValueError, match="power of two"):
        load_dataset("mnist5k", image_size=28)


def test_synthetic_shapes_are_deterministic_and_labelled():
    a, b, c = (SyntheticShapes(n=50, image_size=32, seed=s) for s in (3, 3, 4))
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.images, c.images)
    assert a.images.shape == (50, 3, 32, 32) and a.labels.shape == (50, len(FACTOR_NAMES))
    assert a.images.min() == -1 and a.images.max() <= 1


def test_synthetic_shapes_draw_the_labelled_colour_and_position():
    dataset = SyntheticShapes(n=200, image_size=32, seed=0)
    pixels = to_uint8(dataset.images).float()
    colour, x_level = dataset.labels[:, 1], dataset.labels[:, 3]
    channel_means = pixels.mean(dim=(2, 3))
    red, blue = channel_means[colour == 0], channel_means[colour == 2]
    assert (red[:, 0] > red[:, 2]).all() and (blue[:, 2] > blue[:, 0]).all()
    # the centre of mass moves right with the x level
    columns = torch.arange(32).float()
    mass = pixels.sum(dim=(1, 2))
    centre_x = (mass * columns).sum(1) / mass.sum(1)
    assert centre_x[x_level == 0].max() < centre_x[x_level == 2].min()
