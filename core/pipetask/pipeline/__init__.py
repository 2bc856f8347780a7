"""Pipelines: tasks connected by the datasets they read and write, and their quantum graph.

- :mod:`.connections`: how a task declares its inputs, outputs and prerequisites;
- :mod:`.pipeline_file`: TOML pipeline files (labels, config, renames, parameters,
  subsets, imports, contracts);
- :mod:`.pipeline`: a pipeline resolved for a camera, checked before anything runs;
- :mod:`.graph`: the quantum graph built from the registry; :mod:`.graph_io` stores it.
"""

from .connections import Connections, Input, Output, PrerequisiteInput
from .graph import GraphError, QuantumGraph, buildGraph
from .graph_io import loadGraph, saveGraph
from .pipeline import Override, Pipeline
from .pipeline_file import PipelineError

__all__ = [
    "Connections",
    "GraphError",
    "Input",
    "Output",
    "Override",
    "Pipeline",
    "PipelineError",
    "PrerequisiteInput",
    "QuantumGraph",
    "buildGraph",
    "loadGraph",
    "saveGraph",
]
