"""Clock times read the same on every machine: the runs word them in local time."""

import os
import time

os.environ["TZ"] = "UTC"
time.tzset()
