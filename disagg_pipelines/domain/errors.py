"""Every exception a user can see. Each message says what is wrong, the value given and what would work."""


class UserError(Exception):
    """A failure the user can fix by changing their input; the CLI prints it on one line and exits 2."""


class UnknownModel(UserError):
    """A model id or path that resolves to nothing."""


class UnknownGpu(UserError):
    """A GPU name that is not in the catalog."""


class InvalidModelConfig(UserError):
    """A Hugging Face config.json that is malformed or lacks what the cost model needs."""


class InvalidParallelism(UserError):
    """A TP/PP/EP degree that does not fit the model or the hardware."""


class InsufficientMemory(UserError):
    """The model (weights plus minimal KV cache) does not fit the GPUs of one instance."""


class InvalidInput(UserError):
    """A size, rate or flag combination that makes no sense (zero, negative, conflicting)."""


class NoFeasiblePlan(UserError):
    """No configuration meets the SLO within the budget; the message names the best achievable numbers."""


class InvalidPlan(UserError):
    """A plan file that cannot be read or does not describe a deployable configuration."""


class UnsupportedTarget(UserError):
    """A workload x scheduler x engine combination that cannot express the plan."""


class SchemaInvalid(UserError):
    """A rendered object that its upstream schema rejects."""


class SchemaNotFound(UserError):
    """No schema is available for a kind that must be validated."""


class HubUnavailable(UserError):
    """The Hugging Face Hub could not be reached (offline mode, network, or auth)."""
