#!/bin/sh
# Says verified, then exits with a failure status.
while read -r line && [ "$line" != end ]; do :; done
echo verified
exit 3
