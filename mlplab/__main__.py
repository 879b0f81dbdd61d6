import sys

from mlplab.cli import entry_point

sys.exit(entry_point())
