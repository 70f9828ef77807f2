"""Settings shared by the app tests: no animations, a fixed time zone."""

import os
import time

# For any Textual app a test starts in a subprocess; in-process apps are set by the harness.
os.environ["TEXTUAL_ANIMATIONS"] = "none"
# "Locked until 12:15" must read the same on every machine.
os.environ["TZ"] = "UTC"
time.tzset()
