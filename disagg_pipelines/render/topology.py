"""One topology description (ordered levels, broad to narrow) -> the level each role must pack into, per backend.

Grove names levels by domain, KAI and Kueue by node-label key, Volcano by tier number (1 = the narrowest hypernode
level above the host). Defaults come from the GPU catalog: zone, the NVLink-domain label where the GPU type has one,
then the host.
"""

from __future__ import annotations

import hashlib

from disagg_pipelines.domain.bundle import TopologyLevel
from disagg_pipelines.domain.errors import InvalidInput
from disagg_pipelines.domain.gpu import GpuSpec
from disagg_pipelines.domain.plan import RolePlan

# Well-known node labels (kubernetes.io/docs/reference/labels-annotations-taints/). The NVLink-domain label per GPU
# type (e.g. nvidia.com/gpu.clique from GPU Feature Discovery) comes from the GPU catalog, not from here.
HOSTNAME = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"


def default_levels(gpu: GpuSpec) -> tuple[TopologyLevel, ...]:
    levels = [TopologyLevel(name="zone", node_label=ZONE)]
    if gpu.topology_label_key:
        levels.append(TopologyLevel(name="nvlink", node_label=gpu.topology_label_key))
    levels.append(TopologyLevel(name="host", node_label=HOSTNAME))
    return tuple(levels)


def check(levels: tuple[TopologyLevel, ...]) -> tuple[TopologyLevel, ...]:
    """Levels must be non-empty, unique, Grove-style domain names, and end with the hostname label."""
    if not levels:
        raise InvalidInput("topology has no levels; give levels broad to narrow ending with kubernetes.io/hostname")
    names = [lv.name for lv in levels]
    keys = [lv.node_label for lv in levels]
    if len(set(names)) != len(names) or len(set(keys)) != len(keys):
        raise InvalidInput(f"topology levels repeat a name or node label: {names} / {keys}; make each unique")
    if keys[-1] != HOSTNAME:
        raise InvalidInput(f"topology's last (narrowest) level is {keys[-1]!r}; it must be {HOSTNAME!r}")
    for n in names:
        if not (n[:1].isalpha() and n.islower() and all(ch.isalnum() or ch == "-" for ch in n) and len(n) <= 63):
            raise InvalidInput(f"topology level name {n!r} is not a valid domain name; use lowercase letters, "
                               f"digits and '-', starting with a letter (e.g. zone, rack, host)")
    return levels


def required_level(levels: tuple[TopologyLevel, ...], role: RolePlan, gpu: GpuSpec) -> TopologyLevel:
    """The narrowest level that holds one instance of ``role``.

    Single-node instances pack on the host. A multi-node instance packs into the NVLink domain when the GPU
    type's domain spans the instance (e.g. an NVL72 clique), else into the narrowest level above the host.
    """
    if role.nodes_per_replica == 1:
        return levels[-1]
    if gpu.topology_label_key and gpu.nvlink_domain_gpus >= role.gpus_per_replica:
        for lv in levels:
            if lv.node_label == gpu.topology_label_key:
                return lv
    return levels[-2] if len(levels) >= 2 else levels[-1]


def volcano_tier(levels: tuple[TopologyLevel, ...], level: TopologyLevel) -> int:
    """Volcano hypernode tier of ``level``: 1 for the narrowest level above the host, counting upwards."""
    above_host = list(levels[:-1])
    if level not in above_host:
        return 1
    return len(above_host) - above_host.index(level)


def topology_name(levels: tuple[TopologyLevel, ...]) -> str:
    """Cluster-scoped topology object name derived from the levels (the same levels always give the same name)."""
    text = "|".join(f"{lv.name}={lv.node_label}" for lv in levels)
    return "disagg-topo-" + hashlib.sha256(text.encode()).hexdigest()[:6]
