#!/bin/sh
# A verdict, then more lines: only a verdict followed by the end counts.
while read -r line && [ "$line" != end ]; do :; done
echo verified
echo "info more"
