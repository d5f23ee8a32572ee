#!/bin/sh
# The do-it-yourself peer of pam_jit: pam_exec runs this in sudo's account
# phase and it asks an HTTP endpoint whether PAM_USER may use PAM_SERVICE now.
# Usage (PAM): account required pam_exec.so quiet /path/httpcheck.sh PORT
out=$(curl -fsS --max-time 2 "http://127.0.0.1:$1/check?user=${PAM_USER:-}&service=${PAM_SERVICE:-}") || exit 1
[ "$out" = allow ]
