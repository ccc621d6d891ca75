#!/usr/bin/env bash
# Drift runs over a fleet of stacks, split across runners: what each step
# of .github/workflows/drift.yml runs (and what the tests run).
#
#   scripts/drift-fleet.sh check I N DIR   check shard I of N into DIR/drift-I.json
#                                          (with DRIFT_PUBLISH_METRIC=1, each
#                                          stack's result also as CloudWatch
#                                          metrics; with DRIFT_RECORD=1, also
#                                          kept in the backend for `drift history`)
#   scripts/drift-fleet.sh merge DIR       join DIR/drift-*.json: DIR/drift.xml
#                                          (JUnit), DIR/drift.md (Markdown, also
#                                          appended to $GITHUB_STEP_SUMMARY when
#                                          set), DIR/drift.json and DIR/drift.html
#
# `check` exits 0 when its report was written (drifted or not) and 1 when
# the run failed as a whole; `merge` exits as `drift` does: 0 in sync,
# 2 drifted, 1 when a stack could not be checked. The backend and the AWS
# connection come from the environment (WEBHOOK_STACK_BACKEND, AWS_*), the
# binary from WEBHOOK_STACK (default: webhook-stack on the PATH).
set -euo pipefail
bin=${WEBHOOK_STACK:-webhook-stack}
usage() { sed -n '4,14p' "$0" >&2; exit 1; }

case "${1:-}" in
check)
    [ $# -eq 4 ] || usage
    shard=$2 count=$3 dir=$4
    mkdir -p "$dir"
    extra=()
    [ "${DRIFT_PUBLISH_METRIC:-0}" = 1 ] && extra+=(--publish-metric)
    [ "${DRIFT_RECORD:-0}" = 1 ] && extra+=(--record)
    status=0
    "$bin" drift --all --shard "$shard/$count" --json "${extra[@]}" \
        > "$dir/drift-$shard.json" || status=$?
    # 2 is "drifted": the report is written, which is this step's job.
    if [ "$status" -ne 0 ] && [ "$status" -ne 2 ]; then
        echo "drift of shard $shard/$count failed (exit $status)" >&2
        # A run that printed its report (some stacks could not be checked)
        # still goes to the merge, which reports them.
        [ -s "$dir/drift-$shard.json" ] || exit 1
    fi
    ;;
merge)
    [ $# -eq 2 ] || usage
    dir=$2
    shopt -s nullglob
    reports=("$dir"/drift-*.json)
    [ ${#reports[@]} -gt 0 ] || { echo "no drift-*.json in $dir" >&2; exit 1; }
    status=0
    "$bin" drift merge --format junit "${reports[@]}" > "$dir/drift.xml" || status=$?
    "$bin" drift merge --format markdown "${reports[@]}" > "$dir/drift.md" || true
    "$bin" drift merge --json --html "$dir/drift.html" "${reports[@]}" > "$dir/drift.json" || true
    if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
        cat "$dir/drift.md" >> "$GITHUB_STEP_SUMMARY"
    fi
    exit "$status"
    ;;
*) usage ;;
esac
