#!/bin/sh
# sender-usage.sh - recipients each sender sent in the rolling quota
# window, read with redis-cli alone from the sesgate usage keys (see
# ROLLING WINDOW in sesgate-redis(7)):
#
#   sender-usage.sh
#
# prints one line per sender that has a counter, "ID<TAB>RECIPIENTS",
# sorted by ID. The count is the one the policy service would use for the
# next recipient: buckets that left the window since the sender's last
# recipient are taken off, as the decision script does.
#
# Environment:
#   PREFIX          key prefix, [redis] prefix (default "sesgate:")
#   REDIS_CLI_ARGS  arguments for redis-cli, e.g. "-h 10.0.0.5 -p 6379"
#   WINDOW_MS       [policyd] quota_window in milliseconds (default one day)
#
# The layout of the usage keys belongs to the decision script; this
# script follows the layout sesgate-redis(7) describes (ROLLING WINDOW):
# i64 #0 is the newest bucket written, u32 #TOTAL the total as of that
# bucket, u32 #(RING + i) the count of the bucket whose number mod N is i.
set -eu

TOTAL=6
RING=7

PREFIX=${PREFIX-sesgate:}
REDIS_CLI_ARGS=${REDIS_CLI_ARGS-}
WINDOW_MS=${WINDOW_MS:-86400000}

cli() {
	# shellcheck disable=SC2086 # REDIS_CLI_ARGS is split on purpose
	redis-cli $REDIS_CLI_ARGS "$@"
}

# bucket = max(1 s, window / 1440) rounded up; N = window / bucket rounded up
bucket=$(( (WINDOW_MS + 1439) / 1440 ))
[ "$bucket" -ge 1000 ] || bucket=1000
n=$(( (WINDOW_MS + bucket - 1) / bucket ))
[ "$n" -ge 1 ] || n=1

base="${PREFIX}usage:sender:"
# Glob characters of the prefix itself must match literally.
pattern=$(printf '%s' "$base" | sed 's/[][*?\\]/\\&/g')'*'

cli --scan --pattern "$pattern" | sort | while IFS= read -r key; do
	id=${key#"$base"}
	# shellcheck disable=SC2046 # two numbers, one a line
	set -- $(cli BITFIELD_RO "$key" GET i64 '#0' GET u32 "#$TOTAL")
	last=${1:-0}
	total=${2:-0}
	cur=$(( $(date +%s%3N) / bucket ))
	if [ "$last" -eq 0 ] || [ $((cur - last)) -ge "$n" ]; then
		count=0
	elif [ "$cur" -gt "$last" ]; then
		# Subtract the buckets opened since: slots RING + b % N.
		args=""
		b=$((last + 1))
		while [ "$b" -le "$cur" ]; do
			args="$args GET u32 #$((RING + b % n))"
			b=$((b + 1))
		done
		count=$total
		# shellcheck disable=SC2086
		for old in $(cli BITFIELD_RO "$key" $args); do
			count=$((count - old))
		done
		[ "$count" -ge 0 ] || count=0
	else
		count=$total
	fi
	printf '%s\t%s\n' "$id" "$count"
done
