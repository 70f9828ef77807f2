#!/bin/sh
# Asks, then never answers again (a stalled relay, a stuck ledger).
while read -r line && [ "$line" != end ]; do :; done
echo "info Hanging now."
exec sleep 1000
