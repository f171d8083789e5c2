"""The roles of a session: each org's peer, the preprocessing service, the admin's deployment,
and the launcher that plays them all on one machine (docs/design.md, "Roles")."""
