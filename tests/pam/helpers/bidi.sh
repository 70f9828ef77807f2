#!/bin/sh
# Text with a right-to-left override, a zero-width space and an isolate: it could read as
# something other than what it is. Then the other invisible or direction-changing format
# characters (an Arabic letter mark, a soft hyphen, a word joiner, an interlinear annotation
# anchor, a Mongolian vowel separator, a tag), next to characters that must stay (an Arabic
# semicolon, the neighbour of the mark, and a four-byte emoji).
while read -r line && [ "$line" != end ]; do :; done
printf 'info plain\342\200\256reversed\342\200\213hidden\342\201\246isolated\n'
printf 'info arabic\330\234mark\302\255soft\342\201\240joiner\357\277\271annotation\341\240\216mongolian\363\240\200\201tag \330\233 \360\237\230\200\n'
echo denied
