#!/bin/sh
# Asks first, then tells: the right answer (the file given as --config) gets a message and
# "verified", anything else a message and "denied". Nothing is said before the prompt.
while read -r line && [ "$line" != end ]; do :; done
echo "prompt Code: "
read -r answer || exit 1
if [ "$answer" = "answer $(cat "$2")" ]; then
    echo "info Verified."
    echo verified
else
    echo "error Wrong code."
    echo denied
fi
