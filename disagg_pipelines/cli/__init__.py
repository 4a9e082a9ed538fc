"""The `disagg` command line: parse flags -> domain models -> one step -> print.

Subcommands live in their own modules and are imported only when invoked, so `disagg --help` stays fast and
imports none of mlflow, kubernetes, hera or torch.
"""

from __future__ import annotations

import importlib
import sys

import click

from disagg_pipelines import __version__

# command name -> "module:attribute" of its click command
COMMANDS: dict[str, tuple[str, str]] = {
    "catalog": ("disagg_pipelines.cli.catalog_cmd:catalog", "List bundled models and GPUs."),
    "profile": ("disagg_pipelines.cli.profile_cmd:profile_cmd", "Predict prefill and decode cost of a model on a GPU."),
    "estimate": ("disagg_pipelines.cli.estimate_cmd:estimate_cmd", "Predict TTFT, ITL and throughput of one configuration."),
    "plan": ("disagg_pipelines.cli.plan_cmd:plan_cmd", "Choose agg vs disagg, xPyD and parallelism under SLOs."),
    "simulate": ("disagg_pipelines.cli.simulate_cmd:simulate_cmd", "Simulate requests through a plan, event by event."),
    "render": ("disagg_pipelines.cli.render_cmd:render_cmd", "Render a plan into Kubernetes manifests."),
    "validate": ("disagg_pipelines.cli.validate_cmd:validate_cmd", "Validate rendered manifests against their schemas."),
    "run": ("disagg_pipelines.cli.run_cmd:run_cmd", "Profile, plan and render in one go (the main job)."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, (target, _) in COMMANDS.items() if _module_exists(target))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module_name, attr = COMMANDS[name][0].split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name == module_name:
                return None
            raise
        return getattr(module, attr)

    def main(self, *args, standalone_mode: bool = True, **kwargs):  # noqa: ANN002, ANN003, ANN201
        """Like click's standalone mode, but a usage error is one line too: ``error: ... (see 'CMD --help')``."""
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)
        except click.UsageError as err:
            where = err.ctx.command_path if err.ctx is not None else "disagg"
            click.echo(f"error: {err.format_message()} (see '{where} --help')", err=True)
            sys.exit(err.exit_code)
        except click.ClickException as err:
            err.show()
            sys.exit(err.exit_code)
        except click.exceptions.Abort:
            click.echo("aborted", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)

    def invoke(self, ctx: click.Context):  # noqa: ANN201 - click's signature
        try:
            return super().invoke(ctx)
        except click.ClickException:
            raise
        except Exception as err:  # only UserError / ValidationError are converted; the rest re-raised as is
            _as_user_error(err, bool(ctx.obj and ctx.obj.get("debug")))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _module_exists(target: str) -> bool:
    from importlib.util import find_spec

    return find_spec(target.split(":")[0]) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "DISAGG"})
@click.version_option(__version__, prog_name="disagg")
@click.option("--debug", is_flag=True, help="Show tracebacks for user errors too.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Plan, render and roll out disaggregated (prefill/decode) LLM serving on Kubernetes."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


class UserFacingError(click.ClickException):
    """A user error as click reports it: ``error: <one line>`` on stderr, exit code 2."""

    exit_code = 2

    def show(self, file=None) -> None:  # noqa: ANN001 - click's signature
        click.echo(f"error: {self.format_message()}", err=True, file=file)


def _as_user_error(err: Exception, debug: bool) -> None:
    """Re-raise a UserError or pydantic ValidationError as a one-line click error (unless --debug)."""
    from pydantic import ValidationError

    from disagg_pipelines.domain.errors import UserError

    if isinstance(err, (UserError, ValidationError)) and not debug:
        raise UserFacingError(one_line(err)) from err
    raise err


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``disagg`` console script."""
    cli.main(args=sys.argv[1:] if argv is None else argv, prog_name="disagg")


def load_model_ref(ref: str):  # noqa: ANN201 - returns a ModelSpec; typed lazily to keep start-up light
    """A ModelSpec for a CLI ``--model``: bundled id, local config.json, else the Hugging Face Hub (HF_TOKEN,
    HF_ENDPOINT; not consulted under HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE)."""
    import os

    from disagg_pipelines import catalog
    from disagg_pipelines.catalog import hub as hf_hub

    return catalog.load_model(ref, hub=hf_hub.hub_from_env(os.environ))


def one_line(err: Exception) -> str:
    """A pydantic error as 'field: message (got value)'; any other error as its message, on one line."""
    from pydantic import ValidationError

    if isinstance(err, ValidationError):
        parts = []
        for e in err.errors()[:3]:
            loc = ".".join(str(p) for p in e["loc"]) or err.title
            msg = e["msg"].removeprefix("Value error, ")
            got = f" (got {e['input']!r})" if "input" in e and not isinstance(e["input"], dict) else ""
            parts.append(f"{loc}: {msg}{got}")
        return "; ".join(parts)
    return " ".join(str(err).split())
