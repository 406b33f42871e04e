#!/bin/sh
# Service mode, for platforms that run the app root's serve.sh: `serve.sh <method> [args]`
# with <method> verifyCredentials, getMetaModel or selectModel (the older buildpack's
# contract; the Node sailor's runService.js). Arguments are passed on.
# `exec`: the sailor replaces this shell, so signals reach it and its exit code is ours.
if [ "$#" -eq 0 ]; then
    echo "usage: serve.sh {verifyCredentials,getMetaModel,selectModel} [ARG ...]" >&2
    echo "serve.sh: name the service method (the platform passes it)" >&2
    exit 2
fi
cd "$(dirname "$0")" || exit 1
exec python -m elasticio_sailor service "$@"
