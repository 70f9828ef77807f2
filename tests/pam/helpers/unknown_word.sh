#!/bin/sh
# A word outside the protocol.
while read -r line && [ "$line" != end ]; do :; done
echo "grant everything"
