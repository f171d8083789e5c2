"""A throwaway account returns its unspent ether: all of it, less the exact fee."""

from __future__ import annotations

import pytest
from eth_account import Account

from onchain.connection import connect
from onchain.transactions import TRANSFER_GAS, Sender, TxLog

pytestmark = pytest.mark.ganache


def test_sweep_empties_the_account_into_the_funder(ganache_url: str) -> None:
    chain = connect(ganache_url)
    w3 = chain.w3
    funder = Sender(w3, chain.funder, TxLog(), "funder")
    throwaway = Account.create()
    funder.pay(throwaway.address, 10**18)
    before = w3.eth.get_balance(funder.address)

    returned = Sender(w3, throwaway, TxLog(), "org1").sweep(funder.address)

    assert w3.eth.get_balance(throwaway.address) == 0  # nothing stranded
    assert w3.eth.get_balance(funder.address) - before == returned  # the funder got it back
    receipt = w3.eth.get_transaction_receipt(w3.eth.get_block("latest")["transactions"][0])
    assert receipt["gasUsed"] == TRANSFER_GAS
    assert returned == 10**18 - receipt["gasUsed"] * receipt["effectiveGasPrice"]


def test_sweep_of_an_account_that_cannot_pay_the_fee_sends_nothing(ganache_url: str) -> None:
    chain = connect(ganache_url)
    funder = Sender(chain.w3, chain.funder, TxLog(), "funder")
    poor = Account.create()
    funder.pay(poor.address, 1000)  # far below 21000 gas at any fee

    assert Sender(chain.w3, poor, TxLog(), "org2").sweep(funder.address) == 0
    assert chain.w3.eth.get_transaction_count(poor.address) == 0
    assert chain.w3.eth.get_balance(poor.address) == 1000
