"""One module per verb; each exposes `run(argv, env, *, track) -> int`."""
