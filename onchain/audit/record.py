"""A session's public record: its events, fetched from the deployment block and decoded by
signature. One request serves one session or, for ``audit --all``, every session."""

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

    def all(self) -> list[Any]:
        """Every event of the session, in chain order."""
        return sorted((e for evs in self.events.values() for e in evs), key=order)

    @classmethod
    def fetch(
        cls, w3: Web3, sessions: SessionClient, session: int, from_block: int = 0
    ) -> SessionRecord:
        """All logs of ``sessions`` whose first indexed topic is ``session``, from
        ``from_block`` (the deployment's block: no session event is older)."""
        records = cls.fetch_all(w3, sessions, from_block, session)
        return records.get(session, cls(w3.eth.chain_id, sessions.contract.address, {}))

    @classmethod
    def fetch_all(
        cls, w3: Web3, sessions: SessionClient, from_block: int = 0, session: int | None = None
    ) -> dict[int, SessionRecord]:
        """Every session's record (or only ``session``'s), from ``from_block``."""
        contract = sessions.contract
        by_topic = {}
        for item in contract.abi:
            if item.get("type") == "event":
                types = ",".join(i["type"] for i in item["inputs"])
                by_topic[keccak(text=f"{item['name']}({types})")] = item["name"]
        query: dict[str, Any] = {
            "address": contract.address,
            "fromBlock": from_block,
            "toBlock": "latest",
        }
        if session is not None:
            query["topics"] = [None, "0x" + session.to_bytes(32, "big").hex()]
        logs = w3.eth.get_logs(query)  # type: ignore[arg-type]
        grouped: dict[int, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
        for log in sorted(logs, key=order):
            name = by_topic.get(bytes(log["topics"][0]))
            if name is not None and len(log["topics"]) > 1:
                sid = int.from_bytes(bytes(log["topics"][1]), "big")
                grouped[sid][name].append(getattr(contract.events, name)().process_log(log))
        chain_id, address = w3.eth.chain_id, contract.address
        return {sid: cls(chain_id, address, dict(evs)) for sid, evs in sorted(grouped.items())}
