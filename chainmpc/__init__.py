"""chainmpc's application layer: the CLI, the demo job and the local launcher that wires the
off-chain engine (:mod:`offchain`) to the contracts (:mod:`onchain`)."""
