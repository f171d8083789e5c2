"""What a job is to the launcher, the peer and the service: the :class:`Job` protocol.

A job is one kind (``sum-product``, ``stats``, ...) with its parameters and schema, for a fixed
list of orgs. Everything that runs a session depends on this protocol, never on a kind:

* ``description()`` is the canonical document behind the on-chain ``jobHash``
  (``docs/jobs.md``, "Job hash"); every peer, the service and the auditor recompute it;
* ``needs(field)`` is exactly the preprocessing one session consumes, counted by a dry run of
  ``program`` (:func:`offchain.preprocessing.counting.count_needs`);
* ``program(engine, own)`` is the MPC itself: every org runs it, ``own`` being its private
  input (from :meth:`Job.load_input`) and ``None`` in the counting dry run;
* ``output_length`` is fixed when the session opens; ``result(opened)`` turns the opened,
  MAC-checked outputs into the kind's documented result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

from chainmpc.exceptions import InputError
from chainmpc.jobs.schema import Schema, Table
from offchain.engine.core import Engine
from offchain.hazmat.field import Field
from offchain.preprocessing.material import Needs
from offchain.sectypes.array import SecretArray


class Job(Protocol):
    """One job: a kind, its parameters and schema, for ``orgs`` orgs."""

    kind: ClassVar[str]
    summary: ClassVar[str]  # one line, for `chainmpc jobs`
    #: Each parameter of the kind: name -> description (saying its default).
    parameters: ClassVar[dict[str, str]]

    @property
    def spec(self) -> JobSpec:
        """The job file this job was built from (its org names name the orgs on-chain)."""
        ...

    @property
    def orgs(self) -> int:
        """How many orgs take part (the session's participants, in this order)."""
        ...

    @property
    def output_length(self) -> int:
        """How many field elements the session reveals (a parameter fixed at open)."""
        ...

    def description(self) -> dict[str, Any]:
        """The canonical document the on-chain job hash is the hash of."""
        ...

    def load_input(self, org: int) -> Any:
        """Read and validate org ``org``'s private input; raises :class:`~chainmpc.exceptions.
        InputError` naming file, line and column (or the job file's key) before any
        transaction."""
        ...

    def program(self, engine: Engine, own: Any | None) -> list[SecretArray]:
        """Input every org's private data (``own`` at this org) and compute the outputs."""
        ...

    def needs(self, field: Field) -> Needs:
        """Exactly the preprocessing one session consumes, counted by a dry run."""
        ...

    def result(self, opened: list[int]) -> dict[str, Any]:
        """The kind's result (``result.json``'s ``result``) from the opened signed outputs."""
        ...

    def expected(self, inputs: list[Any], opened: Sequence[int] | None = None) -> list[int] | None:
        """The plaintext outputs on every org's input, for runs that hold them all (the
        demo, ``chainmpc run`` on one machine, tests) to check the MPC against. A kind that
        draws public randomness in the session (``random-forest``'s seed) takes it from
        ``opened``, the session's outputs, and is ``None`` without them; the others ignore it."""
        ...


def input_values(own: Any) -> list[int]:
    """The signed integers of one org's input, as its on-chain input commitment covers them:
    an ``int``; a sequence of ints; or a :class:`~chainmpc.jobs.schema.Table`, column by
    column in schema order (each column's encoded values in row order)."""
    if isinstance(own, Table):
        return [v for name in own.schema.names for v in own.columns[name]]
    if isinstance(own, int):
        return [own]
    return [int(v) for v in own]


def param_error(spec: JobSpec, key: str, kind: type) -> InputError:
    """The error for an unknown parameter ``key`` of ``kind`` (naming ``params.KEY`` and the
    kind's parameters)."""
    known = ", ".join(getattr(kind, "parameters", {})) or "none"
    return InputError(
        f"{spec.source or 'job'}: params.{key}: unknown parameter of {kind.kind!r} "
        f"(its parameters: {known})"
    )


@dataclass(frozen=True)
class JobSpec:
    """A parsed job file: what the job hash covers (``name``, ``kind``, ``params``, ``schema``,
    ``orgs``) and what it does not (``data``: each org's CSV, on this machine only)."""

    name: str
    kind: str
    params: Mapping[str, Any]
    schema: Schema
    orgs: tuple[str, ...]
    data: tuple[Path | None, ...] = ()
    source: Path | None = None  # the job file, named in error messages
