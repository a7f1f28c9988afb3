"""Figure 1 of arXiv 2502.16763v1: the original entry point, kept as an alias.

``python -m permjax.experiments.ntk_permutation [...]`` is
``python -m permjax.experiments.figure1 [...]`` (same flags, same outputs);
``from permjax.experiments import ntk_permutation`` gives the same functions
as :mod:`permjax.experiments.figure1`.
"""

import sys

from permjax.experiments.figure1 import *  # pylint: disable=wildcard-import,unused-wildcard-import
from permjax.experiments.figure1.main import main

if __name__ == "__main__":
  sys.exit(main())
