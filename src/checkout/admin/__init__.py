"""The operator's side of the order service: the admin API over the saga history, and
the ``checkout sagas`` commands that call it."""
