"""The operator's command line: ``checkout sagas`` calls the order service's admin API
(:mod:`checkout.orders.operators`), with the tokens kept in ``data/tokens.env``."""
