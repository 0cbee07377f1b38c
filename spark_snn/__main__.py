"""``python -m spark_snn ARGS`` is the ``spark`` command."""
import sys

from spark_snn.engine.cli import main

sys.exit(main())
