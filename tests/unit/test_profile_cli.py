"""`disagg profile`: table and JSON output, -o file, and one-line exit-2 errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from disagg_pipelines.cli import main
from disagg_pipelines.domain.profile import Profile

MODEL = "meta-llama/Llama-3.1-8B"


def run(args: list[str]) -> tuple[int, str, str]:
    """Run ``disagg`` through its real entry point (``main``: user errors -> one line, exit 2) in click's runner."""
    runner = CliRunner()
    with runner.isolation() as (out, err, *_):
        try:
            main(args)
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        return code, out.getvalue().decode(), (err.getvalue().decode() if err is not None else "")


def test_table_has_default_grid() -> None:
    code, out, _ = run(["profile", "--model", MODEL, "--gpu", "h100-sxm"])
    assert code == 0
    assert "meta-llama/Llama-3.1-8B on h100-sxm (bf16, tp=1" in out
    for isl in ("512", "2048", "8192"):
        assert f"\n  {isl} " in out
    assert out.count("yes") + out.count(" no") == 6           # batch 1,16,64 x context 1024,4096


def test_json_grid_and_profile() -> None:
    code, out, _ = run(["profile", "--model", MODEL, "--gpu", "h100-sxm", "--isl", "1024,4096", "--batch", "1,512",
                        "--context", "4096", "--json"])
    assert code == 0
    data = json.loads(out)
    assert [(p["batch"], p["isl"]) for p in data["prefill"]] == [(1, 1024), (1, 4096)]
    assert [(d["batch"], d["context"], d["fits"]) for d in data["decode"]] == [(1, 4096, True), (512, 4096, False)]
    assert data["decode"][1]["ms"] > data["decode"][0]["ms"] > 0
    profile = Profile.model_validate(data["profile"])
    assert profile.prefill_ms(1, 1024) == pytest.approx(data["prefill"][0]["ms"], abs=1e-3)
    assert data["memory"]["kv_tokens_capacity"] == profile.memory.kv_tokens_capacity


def test_output_file_is_the_profile(tmp_path: Path) -> None:
    target = tmp_path / "p.json"
    code, out, _ = run(["profile", "--model", MODEL, "--gpu", "h100-sxm", "--precision", "fp8", "--tp", "2",
                        "-o", str(target)])
    assert code == 0 and f"wrote {target}" in out
    profile = Profile.model_validate_json(target.read_text())
    assert (profile.tp, profile.precision.weights) == (2, "fp8")
    assert [p.name for p in tmp_path.iterdir()] == ["p.json"]


@pytest.mark.parametrize("args,needle", [
    (["--model", "no-such-model", "--gpu", "h100-sxm"], "unknown model 'no-such-model'"),
    (["--model", MODEL, "--gpu", "tpu-v9"], "unknown GPU 'tpu-v9'"),
    (["--model", MODEL, "--gpu", "h100-sxm", "--tp", "3"], "tp=3 does not divide the 32 attention heads"),
    (["--model", MODEL, "--gpu", "h100-sxm", "--tp", "16"], "tp=16 exceeds the NVLink domain"),
    (["--model", MODEL, "--gpu", "h100-sxm", "--isl", "512,0"], "--isl: 0 in '512,0' is not a positive size"),
    (["--model", MODEL, "--gpu", "h100-sxm", "--batch", "-4"], "--batch: -4 in '-4' is not a positive size"),
    (["--model", MODEL, "--gpu", "h100-sxm", "--context", "1k"], "--context: '1k' in '1k' is not a whole number"),
    (["--model", MODEL, "--gpu", "h100-sxm", "--precision", "int3"], "unknown precision 'int3'"),
])
def test_bad_input_exits_2_with_one_line(args: list[str], needle: str, tmp_path: Path) -> None:
    target = tmp_path / "p.json"
    code, out, err = run(["profile", *args, "-o", str(target)])
    assert code == 2
    assert needle in err
    assert len(err.strip().splitlines()) == 1
    assert not target.exists()


def test_malformed_config_and_does_not_fit(tmp_path: Path) -> None:
    bad = tmp_path / "config.json"
    bad.write_text('{"num_attention_heads": 32')
    code, _, err = run(["profile", "--model", str(bad), "--gpu", "h100-sxm"])
    assert code == 2 and "cannot read model config" in err and len(err.strip().splitlines()) == 1
    big = tmp_path / "big"
    big.mkdir()
    (big / "config.json").write_text(json.dumps({
        "architectures": ["LlamaForCausalLM"], "hidden_size": 16384, "intermediate_size": 53248,
        "num_attention_heads": 128, "num_key_value_heads": 8, "num_hidden_layers": 126, "vocab_size": 128256}))
    code, _, err = run(["profile", "--model", str(big), "--gpu", "h100-sxm"])
    assert code == 2 and "does not fit h100-sxm" in err and "GiB" in err


def test_subprocess_entry_point() -> None:
    ok = subprocess.run([sys.executable, "-m", "disagg_pipelines", "profile", "--model", MODEL, "--gpu", "h100-sxm",
                         "--json", "--isl", "512", "--batch", "8", "--context", "1024"],
                        capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["decode"][0]["batch"] == 8
    bad = subprocess.run([sys.executable, "-m", "disagg_pipelines", "profile", "--model", MODEL, "--gpu", "h100-sxm",
                          "--tp", "5"], capture_output=True, text=True, timeout=60,
                         cwd=Path(__file__).resolve().parents[2])
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [bad.stderr.strip()] and "tp=5" in bad.stderr
