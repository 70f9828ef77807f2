#!/bin/sh
# Says verified and exits 0, but leaves a child holding the socket open.
while read -r line && [ "$line" != end ]; do :; done
sleep 1000 &
echo verified
exit 0
