#!/bin/sh
# Escape sequences, a bell and U+009B (a one-byte CSI to some terminals) in every kind of line.
while read -r line && [ "$line" != end ]; do :; done
printf 'info \033[2J\033]0;pwned-title\007clear-screen\n'
printf 'error \302\233'"31mred-alert\033[0m\n"
printf 'prompt \033[8mCode\033[0m:\007 \n'
read -r answer
echo denied
