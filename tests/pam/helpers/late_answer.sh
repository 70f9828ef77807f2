#!/bin/sh
# Asks once and writes whether an answer ever came into the file given as --config.
while read -r line && [ "$line" != end ]; do :; done
echo "prompt Code: "
if read -r answer; then echo "an answer came" >"$2"; fi
echo denied
