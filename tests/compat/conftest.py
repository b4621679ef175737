"""The reliability tests' tiny archive, for the archive-loading tests."""

from tests.reliability.conftest import archive_file  # noqa: F401
