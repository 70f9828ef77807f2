"""Settings shared by the app tests: no animations, a fixed time zone."""

import os
import time

# Before Textual is imported anywhere: snapshots must not depend on animation frames.
os.environ["TEXTUAL_ANIMATIONS"] = "none"
# "Locked until 12:15" must read the same on every machine.
os.environ["TZ"] = "UTC"
time.tzset()
