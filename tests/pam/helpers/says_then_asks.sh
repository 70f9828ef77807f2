#!/bin/sh
# Says things before its prompts and after the last one, as the journey does: two lines (an
# info, then an error with an escape sequence in it) before the first prompt, none before the
# second, one before the last, and one after it. Verified for the right first answer (the
# file given as --config), denied otherwise.
while read -r line && [ "$line" != end ]; do :; done
echo "info Sent to a***@example.com."
printf 'error Wrong: \033[31m1 left.\n'
echo "prompt Code: "
read -r answer || exit 1
echo "prompt-echo Again: "
read -r _ || exit 1
echo "error Locked until 10:00."
echo "prompt-echo Press Enter to end. > "
read -r _ || exit 1
echo "info After the last prompt."
if [ "$answer" = "answer $(cat "$2")" ]; then echo verified; else echo denied; fi
