"""Root conftest: the kernel's test fixtures serve the kernel's and every plugin's tests."""

pytest_plugins = ["kernel.testing"]
