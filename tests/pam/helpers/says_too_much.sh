#!/bin/sh
# Five info lines of 1000 bytes of text before its prompt: under PAM_SILENT the fifth does not
# fit in the 4096 bytes a prompt may carry, so the module refuses before asking anything.
while read -r line && [ "$line" != end ]; do :; done
for _ in 1 2 3 4 5; do printf 'info %01000d\n' 0; done
echo "prompt Code: "
read -r _ || exit 1
echo verified
