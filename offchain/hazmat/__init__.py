"""The hazardous layer: field arithmetic, its compiled kernels and raw additive shares.

Nothing here checks a MAC or keeps a transcript. A raw :class:`~offchain.hazmat.shares.Shared`
opened or combined by hand can leak a secret or accept a forged value: use the secure types
(:mod:`offchain.sectypes`) and the engine (:mod:`offchain.engine`) instead, which enforce the
checks of ``docs/protocols.md``.
"""
