"""A node that dies, hangs, restarts or loses an answer is named as such, within a bound, and
never makes a transaction happen twice or a nonce clash.

Every case runs against a real ganache process this test owns (or a real TCP server that never
answers), over real HTTP.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account

from onchain.clients import ConsortiumClient, deploy_contract
from onchain.connection import Chain, connect
from onchain.exceptions import ChainError, NodeUnavailable, TransactionError
from onchain.node import NODE_PATIENCE, NODE_TIMEOUT, NodeProvider, Patience
from onchain.nonces import nonce_lock_path
from onchain.transactions import Sender, TxLog, call
from tests.helpers.node import Ganache, Proxy, StalledNode, send_raw

pytestmark = pytest.mark.ganache
QUICK = Patience(timeout=2.0, attempts=3, backoff=0.2, total=5.0)  # a dead node fails fast


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Ganache]:
    """A ganache of this test's own, its chain kept in ``tmp_path/db`` across restarts."""
    g = Ganache(db=tmp_path / "db")
    g.start()
    try:
        yield g
    finally:
        g.stop()


def funder_sender(chain: Chain, name: str = "funder") -> Sender:
    return Sender(chain.w3, chain.funder, TxLog(), name)


def nonce(chain: Chain, address: str) -> int:
    return chain.w3.eth.get_transaction_count(address, "latest")


def test_a_dead_node_is_a_chain_error_naming_it_and_the_method_never_a_revert(node) -> None:
    chain = connect(node.url, patience=QUICK)
    admin = funder_sender(chain, "admin")
    consortium = ConsortiumClient(chain.w3, deploy_contract(admin, "Consortium", 0))
    node.stop()

    with pytest.raises(ChainError) as read:
        call(consortium.contract.functions.sessionManager(), consortium.abi)
    assert isinstance(read.value, NodeUnavailable)
    assert f"the node at {node.url} did not answer eth_" in str(read.value)
    assert "(reading sessionManager): connection refused" in str(read.value)
    assert "\n" not in str(read.value)

    # Today's bug: "registerAuditor by admin reverted: ('Connection aborted.' ...)".
    with pytest.raises(ChainError) as send:
        consortium.register_auditor(admin, Account.create().address)
    assert not isinstance(send.value, TransactionError)
    message = str(send.value)
    assert f"the node at {node.url} did not answer eth_" in message
    assert "registerAuditor by admin" in message and "reverted" not in message
    assert send.value.__cause__ is None and send.value.__suppress_context__


def test_the_cli_reports_a_node_gone_mid_run_in_one_line_naming_it(node) -> None:
    gone: list[bool] = []

    def hook(request: dict) -> str | None:
        if request["method"] == "eth_sendRawTransaction":
            gone.append(True)  # the node goes away as the demo funds its first account
        return "cut" if gone else None

    proxy = Proxy(node.url, hook)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "chainmpc", "demo", "--rpc", proxy.url],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        proxy.close()
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    assert f"NodeUnavailable: the node at {proxy.url} did not answer eth_" in errors[0]
    assert "(fund by funder)" in errors[0] and "reverted" not in errors[0]
    assert f"waiting: node at {proxy.url} not answering" in proc.stderr  # never silent


def test_a_stalled_node_fails_within_the_stated_bound_saying_what_it_waits_for() -> None:
    stalled = StalledNode()
    try:
        # First contact: one attempt, so a wrong URL is reported at once.
        start = time.monotonic()
        with pytest.raises(ChainError, match=f"cannot reach an Ethereum node at {stalled.url}"):
            connect(stalled.url)
        assert time.monotonic() - start < NODE_TIMEOUT + 2

        # A node that hangs mid-run: the default patience, retries announced, then one error.
        heard: list[str] = []
        provider = NodeProvider(stalled.url, progress=heard.append)
        from web3 import Web3

        w3 = Web3(provider)
        start = time.monotonic()
        with pytest.raises(NodeUnavailable) as info:
            w3.eth.get_balance(Account.create().address)
        elapsed = time.monotonic() - start
    finally:
        stalled.close()
    assert NODE_TIMEOUT < elapsed < NODE_PATIENCE + 2, elapsed
    assert f"the node at {stalled.url} did not answer eth_getBalance" in str(info.value)
    assert heard and heard[0].startswith(
        f"node at {stalled.url} not answering eth_getBalance (no answer within"
    )
    assert "retry 2/" in heard[0] and " in 1 s" in heard[0]


def test_a_node_restarted_between_two_transactions_the_second_waits_and_succeeds(
    node,
) -> None:
    heard: list[str] = []
    chain = connect(node.url, progress=heard.append)
    funder = funder_sender(chain)
    first, second = Account.create().address, Account.create().address
    funder.pay(first, 1)
    before = nonce(chain, funder.address)
    node.stop()
    restart = threading.Timer(2.0, node.start)
    restart.start()
    try:
        funder.pay(second, 2)  # sent while the node is down: retried until it is back
    finally:
        restart.join()
    assert any("not answering" in m and "retry" in m for m in heard), heard
    assert nonce(chain, funder.address) == before + 1  # one new nonce, none reused
    assert chain.w3.eth.get_balance(first) == 1  # the first survived the restart
    assert chain.w3.eth.get_balance(second) == 2


def _dropping_first_send(node: Ganache) -> Proxy:
    dropped: list[bool] = []

    def hook(request: dict) -> str | None:
        if request["method"] == "eth_sendRawTransaction" and not dropped:
            dropped.append(True)
            return "drop"
        return None

    return Proxy(node.url, hook)


@pytest.mark.parametrize("fresh", [True, False], ids=["first-tx-of-an-account", "funder"])
def test_a_transaction_whose_answer_is_lost_is_not_sent_twice(node, fresh: bool) -> None:
    chain = connect(node.url)
    sender = funder_sender(chain)
    sender.pay(Account.create().address, 1)  # the funder's nonce is past 0 from here on
    if fresh:  # ganache replays a nonce-0 transaction sent twice, so this case is the sharp one
        account = Account.create()
        sender.pay(account.address, 10**18)
        sender = Sender(chain.w3, account, TxLog(), "org1")
    proxy = _dropping_first_send(node)
    try:
        via_proxy = connect(proxy.url, patience=QUICK)
        sender = Sender(via_proxy.w3, sender.account, TxLog(), sender.name)
        recipient = Account.create().address
        before = nonce(chain, sender.address)
        sender.pay(recipient, 7)  # its answer is dropped after it reached the node
    finally:
        proxy.close()
    assert nonce(chain, sender.address) == before + 1  # exactly one transaction
    assert chain.w3.eth.get_balance(recipient) == 7  # paid once
    # The node was asked for the hash, which it had, so the bytes were not sent again.
    assert proxy.methods.count("eth_sendRawTransaction") == 1
    assert "eth_getTransactionByHash" in proxy.methods


def test_a_node_that_calls_our_own_nonce_used_is_not_sent_a_second_transaction(node) -> None:
    chain = connect(node.url)
    funder = funder_sender(chain)
    funder.pay(Account.create().address, 1)
    twice: list[bool] = []

    def hook(request: dict) -> str | None:
        if request["method"] == "eth_sendRawTransaction" and not twice:
            twice.append(True)  # mined by the first copy; the answer is "nonce too low"
            return "twice"
        return None

    proxy = Proxy(node.url, hook)
    try:
        sender = Sender(connect(proxy.url).w3, funder.account, TxLog(), "funder")
        recipient = Account.create().address
        before = nonce(chain, funder.address)
        sender.pay(recipient, 3)
    finally:
        proxy.close()
    assert nonce(chain, funder.address) == before + 1
    assert chain.w3.eth.get_balance(recipient) == 3


def test_a_nonce_taken_by_another_transaction_is_re_signed_with_the_next(node) -> None:
    chain = connect(node.url)
    funder = funder_sender(chain)
    funder.pay(Account.create().address, 1)
    other = Account.create().address
    taken: list[bool] = []

    def hook(request: dict) -> str | None:
        # Another machine with the same key sends first, with the nonce this Sender read.
        if request["method"] == "eth_sendRawTransaction" and not taken:
            taken.append(True)
            pending = chain.w3.eth.get_transaction_count(funder.address, "pending")
            fees = funder._fees()
            tx = {"to": other, "value": 5, "gas": 21000, "nonce": pending, "chainId": 1337}
            raw = funder.account.sign_transaction({**tx, **fees}).raw_transaction
            assert "result" in send_raw(node.url, raw)
        return None

    proxy = Proxy(node.url, hook)
    try:
        sender = Sender(connect(proxy.url).w3, funder.account, TxLog(), "funder")
        recipient = Account.create().address
        before = nonce(chain, funder.address)
        sender.pay(recipient, 9)
    finally:
        proxy.close()
    assert nonce(chain, funder.address) == before + 2  # the other's, then ours
    assert chain.w3.eth.get_balance(other) == 5
    assert chain.w3.eth.get_balance(recipient) == 9


_HOLD_LOCK = """
import fcntl, sys, time
with open(sys.argv[1], "a") as f:
    fcntl.flock(f, fcntl.LOCK_EX)
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_nonces_are_allocated_under_a_lock_other_processes_respect(node) -> None:
    chain = connect(node.url)
    funder = funder_sender(chain)
    path = nonce_lock_path(1337, funder.address)
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(path), "3"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        before = nonce(chain, funder.address)
        paying = threading.Thread(target=funder.pay, args=(Account.create().address, 1))
        paying.start()
        time.sleep(1.5)
        # While another process holds the account's lock, this one sends nothing.
        assert paying.is_alive() and nonce(chain, funder.address) == before
        paying.join(timeout=30)
        assert not paying.is_alive()
        assert nonce(chain, funder.address) == before + 1
    finally:
        holder.wait(timeout=10)
