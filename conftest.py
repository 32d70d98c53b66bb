"""Root conftest: the kernel's test fixtures serve the kernel's and every plugin's tests."""

import sys
from pathlib import Path

# Test-only plugin modules (tests/fake_plugins) are imported by entry-point value, and test helper
# modules as `tests.<package>.<module>`; pytest's importlib mode does not touch sys.path itself.
sys.path.insert(0, str(Path(__file__).parent / "tests"))
sys.path.insert(0, str(Path(__file__).parent))

pytest_plugins = ["kernel.testing"]
