"""A session's public record: its events, fetched in one request and decoded by signature."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from eth_utils import keccak
from web3 import Web3

from onchain.clients import SessionClient


def order(ev: Any) -> tuple[int, int]:
    """Where an event stands in the chain's total order."""
    return (ev["blockNumber"], ev["logIndex"])


@dataclass(frozen=True)
class SessionRecord:
    """Every event of one session, in chain order, by event name."""

    chain_id: int
    manager: str
    events: dict[str, list[Any]]

    def __call__(self, name: str) -> list[Any]:
        """The events called ``name``, in chain order."""
        return self.events.get(name, [])

    @classmethod
    def fetch(cls, w3: Web3, sessions: SessionClient, session: int) -> SessionRecord:
        """All logs of ``sessions`` whose first indexed topic is ``session``."""
        contract = sessions.contract
        by_topic = {}
        for item in contract.abi:
            if item.get("type") == "event":
                types = ",".join(i["type"] for i in item["inputs"])
                by_topic[keccak(text=f"{item['name']}({types})")] = item["name"]
        logs = w3.eth.get_logs(
            {
                "address": contract.address,
                "fromBlock": 0,
                "toBlock": "latest",
                "topics": [None, "0x" + session.to_bytes(32, "big").hex()],
            }
        )
        events: dict[str, list[Any]] = defaultdict(list)
        for log in sorted(logs, key=order):
            name = by_topic.get(bytes(log["topics"][0]))
            if name is not None:
                events[name].append(getattr(contract.events, name)().process_log(log))
        return cls(w3.eth.chain_id, contract.address, dict(events))
