"""``python -m permjax.experiments.template_execution``."""

import sys

from permjax.experiments.template_execution.main import main

sys.exit(main())
