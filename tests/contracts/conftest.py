"""Fixtures of the contract tests: one embedded chain per module, rolled back after each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from web3 import EthereumTesterProvider, Web3

from tests.helpers.chain import Chain, deploy_chain


@pytest.fixture(scope="module")
def _module_chain() -> Chain:
    return deploy_chain()


@pytest.fixture
def chain(_module_chain: Chain) -> Iterator[Chain]:
    """The module's chain, rolled back after each test."""
    snapshot = _module_chain.tester.take_snapshot()
    yield _module_chain
    _module_chain.tester.revert_to_snapshot(snapshot)


@pytest.fixture
def fresh_w3() -> Web3:
    return Web3(EthereumTesterProvider())
