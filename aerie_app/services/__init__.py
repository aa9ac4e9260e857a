"""Use-cases shared by the UI and the REST API. Framework-free: each takes a session and commits."""
