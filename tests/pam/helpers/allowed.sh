#!/bin/sh
# The operator's on_mail_failure = "allow": let in without a code, then end cleanly.
while read -r line && [ "$line" != end ]; do :; done
echo "info Let in without a code."
echo allowed
