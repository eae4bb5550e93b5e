#!/bin/sh
# Regenerates the G.711 reference vectors with sox (Debian package sox),
# so that the tests compare against an independent implementation without
# needing sox at run time. Run from media/testdata.
set -e
# Every 16-bit sample value, -32768 to 32767, little endian.
python3 -c 'import struct,sys; sys.stdout.buffer.write(struct.pack("<65536h", *range(-32768, 32768)))' > ramp.s16
# -D: no dither, so each sample is encoded on its own.
sox -D -t raw -r 8000 -e signed -b 16 -c 1 -L ramp.s16 -t raw -e mu-law -b 8 -c 1 - | gzip -9n > ramp.ulaw.gz
sox -D -t raw -r 8000 -e signed -b 16 -c 1 -L ramp.s16 -t raw -e a-law -b 8 -c 1 - | gzip -9n > ramp.alaw.gz
rm ramp.s16
# Every code, 0 to 255, decoded to 16-bit little endian.
python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)))' > codes.bin
sox -D -t raw -r 8000 -e mu-law -b 8 -c 1 codes.bin -t raw -e signed -b 16 -c 1 -L ulaw_decoded.s16
sox -D -t raw -r 8000 -e a-law -b 8 -c 1 codes.bin -t raw -e signed -b 16 -c 1 -L alaw_decoded.s16
rm codes.bin
