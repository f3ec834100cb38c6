"""The throughput benchmark: table shape, baseline ratio and the FLOP count."""

import json

import pytest
import torch
from torch import nn

from dcgan_lib import TrainConfig
from dcgan_lib.__main__ import main
from dcgan_lib.models import Discriminator, Generator
from dcgan_lib.perf import TABLE_COLUMNS, count_step_flops, format_table, run_bench, variant_config


def conv_flops(module: nn.Module, input_shape: tuple[int, ...]) -> tuple[float, tuple[int, ...]]:
    """Forward FLOPs (2 per multiply-add) of one conv layer and its output shape, by hand."""
    n, c_in, h, w = input_shape
    k = module.kernel_size[0]
    if isinstance(module, nn.ConvTranspose2d):
        out = (h - 1) * module.stride[0] - 2 * module.padding[0] + k
        # every input pixel is scattered through the whole kernel to every output channel
        return 2 * n * c_in * h * w * module.out_channels * k * k, (
            n,
            module.out_channels,
            out,
            out,
        )
    out = (h + 2 * module.padding[0] - k) // module.stride[0] + 1
    return 2 * n * module.out_channels * out * out * c_in * k * k, (
        n,
        module.out_channels,
        out,
        out,
    )


def forward_flops(model: nn.Module, input_shape) -> tuple[float, float]:
    """(total forward FLOPs, FLOPs of the first conv) of a model's conv layers in order."""
    convs = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    total, shape, first = 0.0, input_shape, None
    for conv in convs:
        flops, shape = conv_flops(conv, shape)
        first = flops if first is None else first
        total += flops
    return total, first


def test_step_flop_count_matches_an_analytic_count_for_a_tiny_model():
    config = TrainConfig(image_size=16, nz=8, ngf=4, ndf=4, batch_size=6)
    g_total, g_first = forward_flops(Generator(8, 4, 16, 1), (6, 8, 1, 1))
    d_total, d_first = forward_flops(Discriminator(1, 4, 16), (6, 1, 16, 16))
    # forward: G once, D three times (real, detached fake, fake for the G loss). Backward costs
    # twice the forward (input and weight gradients) except where no input gradient is needed:
    # D's first layer on real and on detached fakes, and G's first layer (z needs no gradient);
    # in the G step D is frozen, so D's backward there computes input gradients only.
    expected = (
        g_total
        + 3 * d_total  # forwards
        + 2 * (2 * d_total - d_first)  # D step: real and detached fake
        + d_total
        + 2 * g_total
        - g_first
    )  # G step: through frozen D into G
    assert count_step_flops(config, nc=1, batch=3) == pytest.approx(expected, rel=1e-9)


def test_tiny_bench_gives_every_column_and_ratio_one_for_the_baseline():
    variants = ("baseline", "resident", "channels_last", "bf16", "cudagraphs")
    result = run_bench(
        sizes=(16,),
        batch_sizes=(16,),
        variants=variants,
        steps=2,
        repeats=1,
        warmup=1,
        device="cpu",
        workers=0,
        width=4,
        peak_gflops=100.0,
    )
    rows = {row["variant"]: row for row in result["rows"]}
    assert list(rows) == list(variants)
    assert all(set(row) == set(TABLE_COLUMNS) for row in rows.values())
    assert rows["baseline"]["ratio"] == 1.0
    for name in ("resident", "channels_last"):
        row = rows[name]
        assert row["images_per_s"] > 0 and row["gflops_per_s"] > 0
        assert row["ratio"] == pytest.approx(
            row["images_per_s"] / rows["baseline"]["images_per_s"]
        )
        assert row["peak_fraction"] == pytest.approx(row["gflops_per_s"] / 100.0)
    assert rows["bf16"]["images_per_s"] is None and "needs CUDA" in rows["bf16"]["note"]
    table = format_table(result)
    assert table.splitlines()[0] == "| " + " | ".join(TABLE_COLUMNS) + " |"
    assert "1.00x" in table and "needs CUDA" in table


def test_bench_command_writes_json(tmp_path, capsys):
    path = tmp_path / "bench.json"
    main(
        [
            "bench",
            "--device",
            "cpu",
            "--sizes",
            "16",
            "--batch-size",
            "16",
            "--steps",
            "1",
            "--repeats",
            "1",
            "--warmup",
            "1",
            "--width",
            "4",
            "--variants",
            "baseline",
            "resident",
            "--baseline-workers",
            "0",
            "--json",
            str(path),
        ]
    )
    result = json.loads(path.read_text())
    assert [row["variant"] for row in result["rows"]] == ["baseline", "resident"]
    assert (
        result["meta"]["peak_gflops"] is None
        and "| 16 | 16 | baseline |" in capsys.readouterr().out
    )


def test_combined_variant_switches_on_every_feature_that_composes_on_the_device():
    cpu, graphs = variant_config("combined", 32, 128, torch.device("cpu"))
    assert (cpu.channels_last, cpu.compile, cpu.precision, graphs) == (True, True, "fp32", False)
    cuda, graphs = variant_config("combined", 64, 128, torch.device("cuda"))
    # on CUDA, compile picks the channels-last layout itself (check_layout refuses both)
    assert (cuda.channels_last, cuda.compile, cuda.precision, graphs) == (
        False,
        True,
        "bf16",
        True,
    )
    assert cuda.data_on_device and (cuda.ngf, cuda.ndf) == (64, 64)


def test_quality_check_scores_every_variant_and_seed_and_skips_cuda_only_ones():
    from dcgan_lib.perf import quality_check

    rows = quality_check(
        ("resident", "channels_last", "bf16"),
        seeds=(0, 1),
        steps=2,
        width=8,
        batch=16,
        samples=100,
        device="cpu",
    )
    assert [(row["variant"], row["seed"]) for row in rows] == [
        ("resident", 0),
        ("resident", 1),
        ("channels_last", 0),
        ("channels_last", 1),
    ]
    assert all(
        row["steps"] == 2 and row["fid"] > 0 and 0 <= row["confident_share"] <= 1 for row in rows
    )
    assert rows[0]["fid"] != rows[1]["fid"]  # two seeds are two different runs


def test_quality_command_passes_the_number_of_seeds_and_writes_json(tmp_path, monkeypatch, capsys):
    import dcgan_lib.perf.quality as quality

    calls = []

    def fake_quality_check(variants, seeds, steps, device):
        calls.append((variants, seeds, steps))
        return [{"variant": v, "seed": s, "fid": 1.0} for v in variants for s in seeds]

    monkeypatch.setattr(quality, "quality_check", fake_quality_check)
    path = tmp_path / "quality.json"
    assert (
        main(
            [
                "bench",
                "--quality",
                "--quality-seeds",
                "3",
                "--quality-steps",
                "7",
                "--device",
                "cpu",
                "--json",
                str(path),
            ]
        )
        == 0
    )
    assert calls == [(("resident", "channels_last", "compile"), (0, 1, 2), 7)]
    assert len(json.loads(path.read_text())["quality"]) == 9
    assert "'variant': 'compile', 'seed': 2" in capsys.readouterr().out


def test_gpu_check_reports_failed_phases_and_a_markdown_table():
    from dcgan_lib.perf.gpu_check import failed_phases, markdown_report

    bench = {"rows": [{"size": 16, "batch": 16, "variant": "baseline", "images_per_s": 10.0,
                       "ratio": 1.0, "gflops_per_s": 1.0, "peak_fraction": None,
                       "peak_mem_mb": 1.0, "warmup_s": 0.1, "note": ""}]}  # fmt: skip
    report = {"date": "today", "plan_name": "dry", "facts": {"device": "cpu", "torch": "2"},
              "bench": bench, "quality": {"error": "ValueError: boom"},
              "ddp": {"returncode": 1}, "full_mode": {"images_per_s": 5.0}}  # fmt: skip
    assert failed_phases(report) == ["quality", "ddp"]
    text = markdown_report(report)
    assert "| 16 | 16 | baseline | 10.0 | 1.00x |" in text and "ValueError: boom" in text
    assert failed_phases({"bench": bench, "ddp": {"returncode": 0}}) == []


def test_a_variant_that_fails_is_a_note_and_the_table_goes_on(monkeypatch):
    # on torch 2.11 with an H200, compile + channels_last failed in convolution_backward and
    # took the whole table with it; now the failure is that row's note
    from dcgan_lib.perf import bench

    real_build = bench.build_runner

    def build(variant, *args):
        if variant == "channels_last":
            raise AssertionError("expected size 512==512, stride 16==1 at dim=1\nmore")
        return real_build(variant, *args)

    monkeypatch.setattr(bench, "build_runner", build)
    result = run_bench(sizes=(16,), batch_sizes=(16,), variants=("baseline", "channels_last",
                       "resident"), steps=1, repeats=1, warmup=1, device="cpu", workers=0,
                       width=4)  # fmt: skip
    rows = {row["variant"]: row for row in result["rows"]}
    failed = rows["channels_last"]
    assert failed["images_per_s"] is None and failed["ratio"] is None
    assert (
        failed["note"] == "failed: AssertionError: expected size 512==512, stride 16==1 at dim=1"
    )
    assert rows["resident"]["images_per_s"] > 0 and rows["baseline"]["ratio"] == 1.0


def test_compile_with_channels_last_is_refused_on_cuda_only():
    from dcgan_lib.errors import ConfigError
    from dcgan_lib.runtime import check_layout

    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    with pytest.raises(ConfigError, match="compile already picks .*; drop channels_last"):
        check_layout(cuda, compile=True, channels_last=True)
    for device, compile, channels_last in [(cpu, True, True), (cuda, True, False),
                                           (cuda, False, True)]:  # fmt: skip
        check_layout(device, compile, channels_last)


def test_gpu_check_runs_the_phases_asked_for_and_names_the_choices(tmp_path, capsys):
    from dcgan_lib.perf.gpu_check import PHASES, gpu_check

    report = gpu_check(tmp_path, dry=True, phases=("full_mode",))
    assert [name for name in PHASES if name in report] == ["full_mode"]
    assert report["full_mode"]["images_per_s"] > 0
    markdown = (tmp_path / "report.md").read_text()
    assert "## full_mode" in markdown and "## ddp" not in markdown
    assert main(["gpu-check", "--dry", "--out", str(tmp_path), "--phases", "bench,nope"]) == 2
    error = capsys.readouterr().err.strip()
    assert error == ("error: unknown phase nope; choose from "
                     "bench,quality,full_mode,ddp,batch_scan")  # fmt: skip
