import sys

from permjax.experiments.graphs.main import main

sys.exit(main())
