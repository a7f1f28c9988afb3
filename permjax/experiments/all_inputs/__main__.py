import sys

from permjax.experiments.all_inputs.main import main

sys.exit(main())
