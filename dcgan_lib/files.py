"""Datasets that live in files: any folder of images, torchvision's MNIST, Fashion-MNIST and
CIFAR-10 (downloaded on request), CelebA's aligned faces and LSUN. Every image becomes a
tensor in [-1, 1] of the requested size; a dataset that is missing, or whose download is
refused, raises a DatasetError that says what to do. data.load_dataset is the entry point.
Chapter 4.
"""

from __future__ import annotations

from pathlib import Path

from torch.utils.data import Dataset

from .errors import DatasetError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif")


class ImageFiles(Dataset):
    """Every image file under a folder (recursively), as RGB tensors in [-1, 1]; label 0."""

    def __init__(self, root: str | Path, image_size: int, fix: str = ""):
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise DatasetError(f"image folder {self.root} does not exist. {fix}".strip())
        self.files = sorted(p for p in self.root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.files:
            raise DatasetError(
                f"no images ({', '.join(IMAGE_SUFFIXES)}) found under {self.root}. {fix}".strip()
            )
        self.transform = image_transform(image_size, nc=3)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int):
        from PIL import Image

        try:
            with Image.open(self.files[index]) as image:
                return self.transform(image.convert("RGB")), 0
        except OSError as error:  # not an image, truncated, unreadable
            raise DatasetError(
                f"{self.files[index]} cannot be read as an image ({error}); remove or replace it"
            ) from error


def image_transform(image_size: int, nc: int):
    """Resize the short side, centre-crop to a square, scale to [-1, 1] (Tanh's range)."""
    from torchvision import transforms

    return transforms.Compose(
        [
            transforms.Resize(image_size),
            transforms.CenterCrop(image_size),
            transforms.ToTensor(),
            transforms.Normalize([0.5] * nc, [0.5] * nc),
        ]
    )


TORCHVISION_DATASETS = {  # name: (torchvision class, channels, folder torchvision expects under root)
    "mnist": ("MNIST", 1, "MNIST/raw"),
    "fashion-mnist": ("FashionMNIST", 1, "FashionMNIST/raw"),
    "cifar10": ("CIFAR10", 3, "cifar-10-batches-py"),
}


def load_torchvision(name: str, root: Path, image_size: int, download: bool, train: bool):
    from torchvision import datasets

    class_name, nc, folder = TORCHVISION_DATASETS[name]
    try:
        return getattr(datasets, class_name)(
            root, train=train, download=download, transform=image_transform(image_size, nc)
        )
    except (RuntimeError, OSError) as error:  # not found, or a refused or broken download
        detail = " ".join(str(error).split())[:200]  # torchvision's message spans lines
        if download:
            raise DatasetError(
                f"{name} could not be downloaded to {root / folder} ({detail}); check the "
                f"internet connection and run again, or put the files there by hand"
            ) from error
        raise DatasetError(
            f"{name} not found under {root / folder} ({detail}). Run "
            f"load_dataset({name!r}, root={str(root)!r}, download=True) once, or "
            f"`python -m dcgan_lib download {name} --root {root}`"
        ) from error


def load_celeba(root: Path, image_size: int, download: bool):
    folder = root / "celeba" / "img_align_celeba"
    by_hand = (
        f"download img_align_celeba.zip (e.g. from Kaggle's 'celeba-dataset') and "
        f"unzip it to {folder}"
    )
    if download and not folder.is_dir():
        from torchvision import datasets

        try:
            datasets.CelebA(root, split="all", download=True)
        except Exception as error:  # noqa: BLE001 - Google Drive refuses in many ways (quota, HTML)
            raise DatasetError(
                f"CelebA could not be downloaded ({type(error).__name__}: "
                f"{str(error)[:200]}); {by_hand}"
            ) from error
    return ImageFiles(
        folder,
        image_size,
        fix=(f"Run load_dataset('celeba', root={str(root)!r}, download=True), or {by_hand}"),
    )


def load_lsun(root: Path, image_size: int, category: str):
    lmdb_dir = root / "lsun" / f"{category}_train_lmdb"
    if lmdb_dir.is_dir():
        from torchvision import datasets

        return datasets.LSUN(
            str(root / "lsun"),
            classes=[f"{category}_train"],
            transform=image_transform(image_size, 3),
        )
    return ImageFiles(
        root / "lsun" / category,
        image_size,
        fix=(
            f"LSUN cannot be downloaded automatically. Fetch '{category}' with the LSUN "
            f"download script (github.com/fyu/lsun) and either keep {lmdb_dir} "
            f"(needs `pip install lmdb`) or export the images into {root / 'lsun' / category}"
        ),
    )
