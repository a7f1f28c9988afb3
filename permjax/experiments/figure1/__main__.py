"""``python -m permjax.experiments.figure1``."""

import sys

from permjax.experiments.figure1.main import main

sys.exit(main())
