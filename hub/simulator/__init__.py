"""A simulator of the retailer's four operational systems (see shared/reference-systems.md).

`generate` writes a deterministic world (ERP database, webshop and email-platform stores,
loyalty CSV drops, ground truth), `advance` lets simulated days pass in it, and `create_app`,
`running_simulator` and `serve` put the two HTTP systems on the network (with `strict=True`
speaking only what the contract page names). `writes_log.received_writes` reads back the writes
they received.
"""

from hub.simulator.evolve import advance
from hub.simulator.generate import generate
from hub.simulator.meta import SimulatorMeta, load_meta
from hub.simulator.runner import SimulatorEndpoints, running_simulator, serve
from hub.simulator.server import create_app

__all__ = [
    "SimulatorEndpoints",
    "SimulatorMeta",
    "advance",
    "create_app",
    "generate",
    "load_meta",
    "running_simulator",
    "serve",
]
