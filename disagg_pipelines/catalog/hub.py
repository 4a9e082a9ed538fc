"""Hugging Face Hub adapter: a model id -> its ``config.json`` as a dict, over HTTP with ``requests``.

``hub_from_env`` builds the ``hub`` callable that ``catalog.load_model`` accepts from the usual Hugging Face
environment variables; every failure becomes a one-line ``HubUnavailable`` or ``UnknownModel``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from disagg_pipelines.domain.errors import (
    HubUnavailable,
    InvalidModelConfig,
    UnknownModel,
)

DEFAULT_ENDPOINT = "https://huggingface.co"
_TRUE = {"1", "true", "yes", "on"}


def fetch_config(hf_id: str, *, token: str | None = None, endpoint: str | None = None, offline: bool = False,
                 timeout_s: float = 10) -> dict[str, Any]:
    """GET ``{endpoint}/{hf_id}/resolve/main/config.json`` and return the parsed JSON object."""
    if offline:
        raise HubUnavailable(f"cannot fetch {hf_id!r}: Hugging Face offline mode is on (HF_HUB_OFFLINE or "
                             f"TRANSFORMERS_OFFLINE); unset it or give a local config.json")
    import requests

    base = (endpoint or DEFAULT_ENDPOINT).rstrip("/")
    url = f"{base}/{hf_id}/resolve/main/config.json"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = requests.get(url, headers=headers, timeout=timeout_s)
    except requests.RequestException as err:
        raise HubUnavailable(f"cannot reach {base} for {hf_id!r} ({type(err).__name__}); check the network or "
                             f"HF_ENDPOINT, or give a local config.json") from err
    if response.status_code in (401, 403):
        hint = "the token was refused; check HF_TOKEN and that it has access" if token else "set HF_TOKEN"
        raise HubUnavailable(f"{hf_id!r} is gated or private (HTTP {response.status_code} from {base}); "
                             f"accept its license on the Hub and {hint}")
    if response.status_code == 404:
        raise UnknownModel(f"model {hf_id!r} has no config.json on {base} (HTTP 404); check the id "
                           f"(owner/name, case-sensitive)")
    if response.status_code != 200:
        raise HubUnavailable(f"{base} answered HTTP {response.status_code} for {hf_id!r}; retry later or give a "
                             f"local config.json")
    try:
        data = response.json()
    except ValueError as err:
        raise InvalidModelConfig(f"config.json of {hf_id!r} from {base} is not valid JSON") from err
    if not isinstance(data, dict):
        raise InvalidModelConfig(f"config.json of {hf_id!r} from {base} holds a {type(data).__name__}, "
                                 f"not a JSON object")
    return data


def hub_from_env(environ: Mapping[str, str]) -> Callable[[str], dict[str, Any]] | None:
    """``fetch_config`` bound to HF_TOKEN and HF_ENDPOINT; None in offline mode (HF_HUB_OFFLINE/TRANSFORMERS_OFFLINE).

    With None, ``load_model`` of a non-bundled id raises UnknownModel; ``offline_note(environ)`` says why.
    """
    if offline_note(environ):
        return None
    return partial(fetch_config, token=environ.get("HF_TOKEN") or None,
                   endpoint=environ.get("HF_ENDPOINT") or None)


def offline_note(environ: Mapping[str, str]) -> str:
    """A sentence naming the variable that switched offline mode on, or '' when it is off."""
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if environ.get(var, "").strip().lower() in _TRUE:
            return f"Hugging Face offline mode is on ({var}={environ[var]}); only bundled models and local files load"
    return ""
