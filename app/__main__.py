"""``python -m app [FILE] [--run]``."""
import sys

from .main import main

sys.exit(main())
