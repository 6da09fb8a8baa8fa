"""One run's identity and output: its Prefect name (names), where its folder goes (store)
and how it ends (finish: the row invariant, the run folder)."""
