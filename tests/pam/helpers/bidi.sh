#!/bin/sh
# Text with a right-to-left override, a zero-width space and an isolate: it could read as
# something other than what it is.
while read -r line && [ "$line" != end ]; do :; done
printf 'info plain\342\200\256reversed\342\200\213hidden\342\201\246isolated\n'
echo denied
