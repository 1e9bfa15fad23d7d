#!/usr/bin/env bash
# stop.sh — stop the letmepost server scripts/letmepost/start.sh started (same LMP_HOME,
# LMP_API_PORT / LMP_RUN_DIR) and delete its run folder; the installs stay.
exec "$(dirname "${BASH_SOURCE[0]}")/start.sh" stop
