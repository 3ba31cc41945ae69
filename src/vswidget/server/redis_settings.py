"""How vswidget talks to any Redis: its timeouts, and how often an outage is logged.

Apart from the modules that use Redis, so a server without one never imports redis.
"""

# A Redis that stops answering must not hold a request thread for long.
REDIS_TIMEOUTS = {"socket_timeout": 1.0, "socket_connect_timeout": 1.0}
WARN_EVERY = 60.0  # seconds between two log lines about the same unreachable Redis
