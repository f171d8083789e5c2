"""Shared fixtures: each field the engine runs over, and a real ganache node, started on a free
127.0.0.1 port and stopped after."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from offchain.hazmat.field import Field
from tests.helpers.harness import FIELDS
from tests.helpers.node import Ganache


@pytest.fixture(params=sorted(FIELDS))
def field(request: pytest.FixtureRequest) -> Field:
    """Each supported field in turn: BN254's scalar field and 2^127 - 1."""
    return FIELDS[request.param]


@pytest.fixture(scope="session")
def ganache_url() -> Iterator[str]:
    """URL of a ganache 7.9 node (deterministic wallet, chain id 1337) for this test session."""
    node = Ganache()
    try:
        node.start()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        yield node.url
    finally:
        node.stop()
