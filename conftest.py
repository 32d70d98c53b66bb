"""Root conftest: the kernel's test fixtures serve the kernel's and every plugin's tests."""

import sys
from pathlib import Path

# Test-only plugin modules (tests/fake_plugins) are imported by entry-point value.
sys.path.insert(0, str(Path(__file__).parent / "tests"))

pytest_plugins = ["kernel.testing"]
