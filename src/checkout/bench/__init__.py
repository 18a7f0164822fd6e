"""The benchmark: the checkout through our engine, through DBOS, and the raw calls."""
