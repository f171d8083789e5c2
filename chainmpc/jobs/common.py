"""What every kind over the orgs' CSV tables does the same way: :class:`TableKind` (the org
count, the canonical description, the dry-run count of its preprocessing) and
:func:`read_org_table`. A kind adds its parameters, its program and its result."""

from __future__ import annotations

from typing import Any

from chainmpc.exceptions import InputError
from chainmpc.jobs.base import JobSpec
from chainmpc.jobs.csvdata import read_table
from chainmpc.jobs.schema import Table
from chainmpc.jobs.spec import canonical
from offchain.engine.core import Engine
from offchain.exceptions import OffchainError
from offchain.hazmat.field import Field, Mersenne127
from offchain.preprocessing.counting import count_needs
from offchain.preprocessing.material import Needs

#: The most one session reveals (contracts/SessionManager.sol, MAX_OUTPUTS).
MAX_OUTPUTS = 64


class TableKind:
    """The parts of the :class:`~chainmpc.jobs.base.Job` protocol that depend only on the job
    file: a kind (a frozen dataclass with a ``spec``) inherits them."""

    spec: JobSpec

    def program(self, engine: Engine, own: Any | None) -> Any:  # the kind's own
        raise NotImplementedError

    @property
    def orgs(self) -> int:
        """How many orgs take part."""
        return len(self.spec.orgs)

    def description(self) -> dict[str, Any]:
        """The canonical form of the job file, what the on-chain job hash is the hash of."""
        return canonical(self.spec)

    def needs(self, field: Field) -> Needs:
        """Exactly the preprocessing one session consumes: a dry run of the program."""
        return count_needs(lambda e: self.program(e, None), self.orgs, field)

    def refuse_too_wide(self) -> None:
        """Count the needs once on the smaller field, where the declared bounds must fit; an
        :class:`InputError` naming the schema if they do not (before anything on-chain)."""
        try:
            self.needs(Mersenne127())
        except (ValueError, OffchainError) as exc:
            raise InputError(f"schema: the declared bounds are too wide ({exc})") from None


def read_org_table(spec: JobSpec, org: int, kind: str, cap: int | None = None) -> Table:
    """Org ``org``'s CSV read and validated against the schema; with ``cap``, more rows than
    that is refused, naming the file. The job file must name the org's data."""
    name = spec.orgs[org]
    path = spec.data[org] if org < len(spec.data) else None
    if path is None:
        raise InputError(f"orgs.{name}.data: no data file for org {name}")
    table = read_table(path, spec.schema)
    if cap is not None and table.rows > cap:
        raise InputError(f"{path}: {table.rows} rows; {kind} takes at most {cap} per org")
    return table
