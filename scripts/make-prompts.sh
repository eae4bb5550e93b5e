#!/usr/bin/env bash
# Makes the prompts the gateway ships (media/prompts/*.wav) from their text,
# with espeak-ng and sox (Debian packages espeak-ng and sox):
#
#   bash scripts/make-prompts.sh
#
# Each prompt is spoken by espeak-ng (US English, 150 words a minute instead
# of the default 175, which is easier to follow on a phone line), its leading
# and trailing silence is cut and exactly 100 ms of silence put back at both
# ends, it is resampled to 8 kHz, normalized to a -3 dBFS peak and written as
# a mono G.711 u-law WAV (8 KB a second of audio). Nothing random is involved
# (sox runs without dither), so the same text gives the same bytes with the
# same espeak-ng and sox versions; the script prints the SHA-256 of each file.
# Keep the list below and media/prompts/README.md in step.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$REPO/media/prompts

for tool in espeak-ng sox; do
	if ! command -v "$tool" >/dev/null; then
		echo "make-prompts: $tool not found; install it with: apt-get install -y espeak-ng sox" >&2
		exit 1
	fi
done

# name|text
PROMPTS=(
	"consent|This call may be recorded for quality and training purposes."
	"whisper|Incoming Teamline call. Press 1 to accept."
	"whisper_buyer|Call for the buyer line. Press 1 to accept."
	"whisper_seller|Call for the seller line. Press 1 to accept."
	"whisper_lender|Call for the lender line. Press 1 to accept."
	"voicemail_greeting|The person you are calling is not available. Please leave a message after the tone."
	"cannot_complete|Sorry, this call cannot be completed. Please try again later."
	"not_recorded|This call is not being recorded."
	"goodbye|Goodbye."
)

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export LC_ALL=C

for entry in "${PROMPTS[@]}"; do
	name=${entry%%|*}
	text=${entry#*|}
	espeak-ng -v en-us -s 150 -w "$TMP/$name.raw.wav" -- "$text"
	# silence 1 0.01 -50d: drop audio up to the first 10 ms above -50 dBFS;
	# done on the reversed audio too, that trims the tail. Then 8 kHz, the
	# peak at -3 dBFS, and 100 ms of silence on each side (after norm, so
	# it is digital silence). -D: no dither, for repeatable output.
	sox -D "$TMP/$name.raw.wav" -r 8000 -c 1 -e u-law -b 8 "$TMP/$name.wav" \
		silence 1 0.01 -50d reverse silence 1 0.01 -50d reverse \
		rate -v 8000 norm -3 pad 0.1 0.1
	mv "$TMP/$name.wav" "$OUT/$name.wav"
done

cd "$OUT"
for entry in "${PROMPTS[@]}"; do
	name=${entry%%|*}
	printf '%-24s %6d bytes  %s\n' "$name.wav" "$(stat -c %s "$name.wav")" "$(sha256sum "$name.wav" | cut -d' ' -f1)"
done
