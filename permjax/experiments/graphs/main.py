"""Graph algorithms executed exactly by message passing whose update is a
template-trained ensemble: flooding validated on graphs up to 10^5 nodes,
union bounds per readout, ensembles grown over seeds, a bound-size finite
ensemble on a 10^4-node graph, the ablations; BFS, DFS and Bellman–Ford on
the authors' random graph family.

``python -m permjax.experiments.graphs [--config
smoke|default|bfs|sequential] [--workdir DIR] [--field value ...]`` writes ``results.jsonl`` (one record per unit,
with provenance), ``summary.csv``, ``graphs.md``, ``members_vs_degree.png``
and ``config.json`` into DIR (default ``runs/graphs/<preset>``); a rerun
resumes.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from permjax.experiments import config as config_lib
from permjax.experiments import cpu
from permjax.experiments.graphs import configs
from permjax.experiments.graphs import run
from permjax.experiments.units import ExperimentError


def main(argv: Sequence[str] | None = None) -> int:
  config, args = config_lib.parse(
      list(sys.argv[1:] if argv is None else argv), configs.Config,
      configs.PRESETS, __doc__.split("\n")[0])
  cpu.use_all_cpu_cores()
  workdir = args.workdir or os.path.join("runs", "graphs", config.name)
  try:
    paths = run.run(config, workdir, overwrite=args.overwrite)
  except (ValueError, ExperimentError) as err:
    print(f"error: {err}", file=sys.stderr)
    return 2
  with open(paths["table"]) as f:
    print(f.read())
  for name, path in paths.items():
    print(f"{name}: {os.path.abspath(path)}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
