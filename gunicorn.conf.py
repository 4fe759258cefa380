"""Gunicorn settings, read from the environment.

WEB_CONCURRENCY  worker processes (default 2: this app's machines have 2 cores)
PORT             port to listen on (default 5000)

The address defaults to 127.0.0.1: a server reachable from other hosts is asked for on the
command line (the Dockerfile passes --bind 0.0.0.0:$PORT). Gunicorn's own default would be
0.0.0.0 whenever PORT is set, so the bind is spelled out here.
"""

import os

bind = [f"127.0.0.1:{int(os.environ.get('PORT', '5000'))}"]
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
timeout = 30
accesslog = "-"  # stdout
errorlog = "-"  # stderr
