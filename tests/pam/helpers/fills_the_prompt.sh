#!/bin/sh
# Four info lines of 1000 bytes of text, then a prompt of as many bytes as the number in the
# file given as --config, then "verified" whatever the answer: under PAM_SILENT the prompt
# carries 4 x 1001 bytes (each line and its LF) and its own text.
while read -r line && [ "$line" != end ]; do :; done
for _ in 1 2 3 4; do printf 'info %01000d\n' 0; done
printf "prompt %0$(cat "$2")d\\n" 0
read -r _ || exit 1
echo verified
