import sys
from pathlib import Path

# The example client modules (tests/clients/) import each other by name.
sys.path.insert(0, str(Path(__file__).parent / "clients"))

pytest_plugins = ["pytester"]
