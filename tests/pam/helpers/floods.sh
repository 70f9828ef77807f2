#!/bin/sh
# Says far more than any journey needs.
while :; do echo "info flood"; done
