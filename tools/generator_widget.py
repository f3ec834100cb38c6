"""Sphinx extension: the shipped generators run in the reader's browser (widget/dcgan-widget.js).

After an HTML build this writes _build/html/_static/dcgan-widget/:

* ``dcgan-widget.js`` and ``.css`` from widget/ (every page loads them; they do nothing
  on a page without a ``<div class="dcgan-widget" ...>``);
* ``models/NAME.onnx``: each shipped generator with BatchNorm folded, in eval mode
  (dcgan_lib.export), and ``models/NAME.json`` with its nz, categorical code (chapter 8), nc
  and image size;
* ``models/shapes-32-code.concepts.json``: the concept vectors of chapter 9 (the same samples,
  classifier and seeds as the chapter in quick mode) for every colour and shape;
* ``ort/``: onnxruntime-web's WebAssembly build, from widget/node_modules (``npm ci
  --prefix widget``, which ``make book`` runs). Nothing is fetched from a CDN.

_config.yml loads it with ``local_extensions: {generator_widget: tools}``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WIDGET = ROOT / "widget"
ORT_DIST = WIDGET / "node_modules" / "onnxruntime-web" / "dist"
# what ort.wasm.min.js loads: the WebAssembly runtime and its JavaScript glue
ORT_FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
GENERATORS = ("mnist5k-32-code", "shapes-32-code")
CONCEPT_MODEL = "shapes-32-code"  # the generator of chapter 9's arithmetic
# chapter 9: concepts read with confidence 0.9 on 1,500 samples (20,000 in full mode), seed 0,
# k = 3 z's per concept picked with seed 5; its a - b + c example comes first, in its order
CONCEPT_SAMPLES, CONCEPT_SAMPLES_FULL, CONCEPT_SEED, CONCEPT_K, PICK_SEED = 1500, 20000, 0, 3, 5
EXAMPLE = ("red square", "red circle", "blue circle")


def ort_version() -> str:
    """The installed onnxruntime-web version (widget/package.json pins it)."""
    return json.loads((ORT_DIST.parent / "package.json").read_text())["version"]


def copy_runtime(target: Path) -> None:
    """Copy onnxruntime-web's WebAssembly files and licence into target; explain if missing."""
    from sphinx.errors import ExtensionError

    missing = [name for name in ORT_FILES if not (ORT_DIST / name).exists()]
    if missing:
        raise ExtensionError(
            f"onnxruntime-web is not installed ({', '.join(missing)} missing in {ORT_DIST}); "
            f"run `npm ci --prefix widget` (make book does)"
        )
    target.mkdir(parents=True, exist_ok=True)
    for name in ORT_FILES:
        shutil.copy2(ORT_DIST / name, target / name)
    # the package ships no licence file: its package.json says MIT (Microsoft Corporation)
    notice = f"onnxruntime-web {ort_version()}, (c) Microsoft Corporation, MIT licence\n"
    (target / "LICENSE.txt").write_text(notice)


def export_models(target: Path) -> None:
    """Write each shipped generator as ONNX plus a JSON of its shape."""
    from dcgan_lib import load_generator, pretrained_path
    from dcgan_lib.export import export_generator_onnx

    for old in target.glob("*.onnx"):  # a generator an earlier build shipped, and its JSON
        if old.stem not in GENERATORS:
            old.unlink()
            old.with_suffix(".json").unlink(missing_ok=True)
    for name in GENERATORS:
        generator = load_generator(pretrained_path(name))
        export_generator_onnx(generator, target / f"{name}.onnx")
        meta = {"name": name, "nz": generator.nz, "categories": generator.categories,
                "nc": generator.nc, "image_size": generator.image_size}  # fmt: skip
        (target / f"{name}.json").write_text(json.dumps(meta))


def concept_vectors() -> dict:
    """Chapter 9's concept vectors (mean of k z's) for every colour-and-shape the G draws,
    from as many samples as the chapter draws in the mode the book is built in."""
    import torch

    from dcgan_lib import (
        load_factor_classifier,
        load_generator,
        parse_concept,
        predict_factors,  # fmt: skip
        pretrained_path,
        sample_and_label,
    )
    from dcgan_lib.arithmetic import concept_picks
    from dcgan_lib.notebook import quick_mode
    from dcgan_lib.shapes import COLOURS, SHAPES

    generator = load_generator(pretrained_path(CONCEPT_MODEL))
    classifier = load_factor_classifier()
    with torch.no_grad():
        z, labels = sample_and_label(
            generator, lambda images: predict_factors(images, classifier, min_confidence=0.9),
            n=CONCEPT_SAMPLES if quick_mode() else CONCEPT_SAMPLES_FULL, seed=CONCEPT_SEED,
        )  # fmt: skip
    names = list(EXAMPLE) + [f"{colour} {shape}" for colour in COLOURS for shape in SHAPES
                             if f"{colour} {shape}" not in EXAMPLE]  # fmt: skip
    picks = concept_picks(z, labels, {name: parse_concept(name) for name in names},
                          k=CONCEPT_K, seed=PICK_SEED)  # fmt: skip
    return {"k": CONCEPT_K, "example": list(EXAMPLE),
            "vectors": {name: zs.mean(dim=0).tolist() for name, zs in picks.items()}}  # fmt: skip


def write_widget(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "dcgan-widget"
    target.mkdir(parents=True, exist_ok=True)
    for name in ("dcgan-widget.js", "dcgan-widget.css"):
        shutil.copy2(WIDGET / name, target / name)
    copy_runtime(target / "ort")
    export_models(target / "models")
    concepts = json.dumps(concept_vectors())
    (target / "models" / f"{CONCEPT_MODEL}.concepts.json").write_text(concepts)


def setup(app):
    app.add_js_file("dcgan-widget/dcgan-widget.js")
    app.add_css_file("dcgan-widget/dcgan-widget.css")
    app.connect("build-finished", write_widget)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
