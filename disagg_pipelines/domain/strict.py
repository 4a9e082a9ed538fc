"""The base of every domain model: frozen, unknown fields rejected."""

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Immutable model that rejects fields it does not know (a typo in user YAML fails loudly)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
