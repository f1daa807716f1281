#!/bin/sh
# The image's HEALTHCHECK: healthy when turnpiked answers "status" on its control
# socket (its main loop and every worker thread reply) and a STUN Binding request
# over UDP. The Binding goes to 127.0.0.1 and the listening port the entrypoint
# found; TURNPIKE_HEALTHCHECK_TARGET=HOST:PORT names another, "none" skips it.
set -eu

RUN_DIR=${TURNPIKE_RUN_DIR:-/run/turnpike}

turnpikectl --control-socket "$RUN_DIR/control.sock" status >/dev/null
target=${TURNPIKE_HEALTHCHECK_TARGET:-$(cat "$RUN_DIR/health-target" 2>/dev/null || echo 127.0.0.1:3478)}
[ "$target" = none ] || turnpike-bench probe --timeout 1000 --max-sends 3 --count 1 "$target" >/dev/null
