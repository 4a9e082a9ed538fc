"""Step 2, plan: (model, GPU, engine, workload, SLO, GPUs or load) -> Plan.

``search`` owns the candidate search (instance shapes, their SLO-bound rates, agg and xPyD layouts, the Pareto
frontier) on the analytic serving model (``serving``: ``estimate``); ``planner`` composes search, scoring, the
simulator check (``simulator``: ``simulate``, a discrete-event model built on ``engine_sim``, ``arrivals`` and
``kv_transfer``) and the explanation into a ``Plan``; ``plot`` draws its Pareto frontier.
"""

from disagg_pipelines.plan.planner import plan
from disagg_pipelines.plan.serving import estimate
from disagg_pipelines.plan.simulator import simulate

__all__ = ["estimate", "plan", "simulate"]
