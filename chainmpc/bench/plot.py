"""The PNG of ``chainmpc bench mining --plot``: accuracy without and with MPC per (algorithm,
dataset), and the training time of each (log scale: plaintext counting takes microseconds, a
session seconds). Needs matplotlib (the ``bench`` extra)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from chainmpc.bench.mining import Measurement
from chainmpc.exceptions import InputError


def require_matplotlib() -> None:
    """Fail before any run, not after all of them, if the plot cannot be drawn."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise InputError(
            "--plot: needs matplotlib, which is not installed (pip install 'chainmpc[bench]')"
        ) from None


def plot(results: Sequence[Measurement], path: Path) -> None:
    """Draw ``results`` as two bar charts (accuracy, seconds) into the PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")  # no display: a file is the output
    import matplotlib.pyplot as plt

    labels = [f"{m.algorithm}\n{m.dataset}" for m in results]
    x = range(len(results))
    width = 0.38
    fig, (acc, sec) = plt.subplots(2, 1, figsize=(max(6.0, 1.3 * len(results)), 7.5))
    for ax, plain, mpc, ylabel in (
        (acc, [m.accuracy_plain for m in results], [m.accuracy_mpc for m in results],
         "test accuracy"),
        (sec, [m.seconds_plain for m in results], [m.seconds_mpc for m in results],
         "training seconds (log)"),
    ):  # fmt: skip
        ax.bar([i - width / 2 for i in x], plain, width, label="plaintext")
        ax.bar([i + width / 2 for i in x], mpc, width, label="MPC session (on-chain checks)")
        ax.set_xticks(list(x), labels, fontsize=8)
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=8)
    acc.set_ylim(0, 1.05)
    acc.set_title("chainmpc bench mining: the same split, trained without and with MPC")
    sec.set_yscale("log")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
