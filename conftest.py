"""Root conftest: the shared fixtures live in the kernel (one place for database and broker)."""

pytest_plugins = ["devtools.testing"]
