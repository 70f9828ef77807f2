#!/bin/sh
# Reads the facts, asks, then dies by a signal before any verdict.
while read -r line && [ "$line" != end ]; do :; done
echo "prompt Code: "
read -r answer
kill -KILL $$
