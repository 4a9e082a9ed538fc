"""The CLI shell: usage errors and user errors are one `error:` line with exit code 2, in-process and as a process."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from disagg_pipelines.cli import COMMANDS, cli


@pytest.mark.parametrize("args, needle", [
    (["plan", "--model", "meta-llama/Llama-3.1-8B", "--gpu", "h100-sxm", "--isl", "1", "--osl", "1",
      "--ttft-ms", "1", "--itl-ms", "1"], "exactly one of --gpus"),
    (["estimate", "--model", "meta-llama/Llama-3.1-8B", "--gpu", "h100-sxm", "--isl", "10", "--osl", "10",
      "--concurrency", "4", "--rate", "3"], "exactly one of --concurrency"),
    (["profile", "--model", "meta-llama/Llama-3.1-8B", "--gpu", "h100-sxm", "--tp", "0"], "--tp"),
    (["no-such-command"], "no-such-command"),
])
def test_usage_errors_are_one_line_with_exit_2(args: list[str], needle: str) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], result.output
    assert "--help" in lines[0]


def test_user_error_as_a_process_is_one_line_without_traceback() -> None:
    proc = subprocess.run([sys.executable, "-m", "disagg_pipelines", "profile", "--model", "nope/nope",
                           "--gpu", "h100-sxm"], capture_output=True, text=True, timeout=60,
                          env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: ") and "nope/nope" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_debug_shows_the_traceback() -> None:
    proc = subprocess.run([sys.executable, "-m", "disagg_pipelines", "--debug", "profile", "--model", "x",
                           "--gpu", "h100-sxm"], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "Traceback" in proc.stderr and "UnknownModel" in proc.stderr


def test_every_registered_command_loads_and_has_help() -> None:
    for name in COMMANDS:
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert "Usage: " in result.output
