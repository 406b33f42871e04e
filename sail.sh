#!/bin/sh
# Task mode, for platforms that start a component with the app root's sail.sh (the older
# buildpack's contract). Same as the image's default command; arguments are passed on.
# `exec`: the sailor replaces this shell, so SIGTERM reaches it and its exit code is ours.
cd "$(dirname "$0")" || exit 1
exec python -m elasticio_sailor run "$@"
