"""``checkout bench --soak``: one configuration for a long time, retention on."""
