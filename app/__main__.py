"""``python -m spark_snn.app [FILE] [--run]``."""
import sys

from .main import main

sys.exit(main())
