"""The SPDZ engine of one org: Beaver multiplication, MAC-checked openings, checkpoints, and
the checks of dealt material (sacrifice, bit test, mask check) that gate its use."""
