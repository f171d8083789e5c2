"""Jobs: what a session computes, over which data.

A job file (TOML) names a kind, its parameters, the schema of every org's CSV and the orgs;
:mod:`chainmpc.jobs.base` is the protocol every kind implements, and the launcher, the peer and
the service depend only on it. See ``docs/jobs.md``.
"""
