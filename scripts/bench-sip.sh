#!/usr/bin/env bash
# SIP load test of the gateway with SIPp, on MariaDB. See docs/PERFORMANCE.md ("SIP calls").
#
#   bash scripts/bench-sip.sh                       # everything, with the defaults below
#   RATES="1000 1500" CALLS=30000 PHASES=rate bash scripts/bench-sip.sh
#   CONCURRENT="1000 2000" MEDIA_SECONDS=20 PHASES=media bash scripts/bench-sip.sh
#
# What it does: builds teamline and scripts/bench/rtpload, creates the database teamline_bench
# (dropped at the end), applies a directory of USERS agents (SIP password + personal number each)
# and LEADS leads (scripts/bench/gen-team.sh), starts `teamline serve` (SIP on 127.0.0.1:5060 UDP,
# RTP on 127.0.0.1, log level warn, a trunk whose inbound_addresses is 127.0.0.2), registers every
# agent from one SIPp process (scripts/bench/sipp/agent.xml, digest auth, answers calls with the
# out-of-call scenario agent_answer.xml), then runs the phases in PHASES:
#   rate   for each rate in RATES (ascending), the carrier (SIPp on 127.0.0.2, trunk.xml) places
#          CALLS short calls (INVITE with SDP, 180, 200, ACK, BYE at once) to the agents' personal
#          numbers; a rate passes when every call succeeds. Stops at the first failing rate
#          (STOP_ON_FAIL=0 runs them all). Gateway CPU from /proc/PID/stat over the run.
#   pdd    for each rate in PDD_RATES, PDD_CALLS calls captured with dumpcap on lo: the gateway's
#          post-dial delay is the time from the carrier's INVITE in to the gateway's INVITE out to the
#          agent (paired by caller number), p50/p99/max; plus SIPp's INVITE->180 at the carrier.
#   media  for each N in CONCURRENT, N calls set up at CONC_RATE/s and held; rtpload sends 20 ms
#          PCMU both ways on every call for MEDIA_SECONDS and counts arrivals (loss, relay delay,
#          gateway CPU and VmRSS during the window; RSS per call against VmRSS before the calls;
#          gateway CPU over the whole run, setup to the last recording finished, per call).
# RECORD=1 (default) turns the account setting recording_enabled on, so every answered call is recorded
# (stereo 16-bit WAV at 8 kHz into WORK/recordings); RECORD=0 turns it off. With RECORD=1 each media
# run also reports, once every call has ended and its recording is finished: the recordings made (rows of
# teamline_bench.recordings), their bytes on disk (du -sb), bytes per recorded call-minute, and a check of
# one file (2 channels, 8000 Hz, duration within 1 s of the hold time). Compare its gateway CPU with a
# RECORD=0 run at the same N. The directory also turns voicemail, the consent prompt and press 1 off, so a
# call an agent does not answer still fails (voicemail would answer it).
# ROUTED=1 makes every lead call the buyer role number instead of its agent's personal number, so each call
# is routed by the lead lookup (R-IN-2) rather than by the number alone (R-IN-1).
# Everything (logs, SIPp statistics and error files, captures) is kept under WORK when KEEP=1.
# PROFILE=1 (with KEEP=1) saves a 20 s CPU profile of the gateway per rate as WORK/rate_R_cpu.pprof
# (go tool pprof -top WORK/teamline WORK/rate_R_cpu.pprof).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
USERS=${USERS:-1000}
LEADS=${LEADS:-10000}
PHASES=${PHASES:-"rate pdd media"}
RATES=${RATES:-${RATE:-"200 300 350 400 450 500"}}
CALLS=${CALLS:-30000}
STOP_ON_FAIL=${STOP_ON_FAIL:-1}
PDD_RATES=${PDD_RATES:-"100 300"}
PDD_CALLS=${PDD_CALLS:-5000}
CONCURRENT=${CONCURRENT:-"500 1000 2000"}
CONC_RATE=${CONC_RATE:-250}
MEDIA_SECONDS=${MEDIA_SECONDS:-30}
RTP_MIN=${RTP_MIN:-20000}
RTP_MAX=${RTP_MAX:-40000}
QUARANTINE=${QUARANTINE:-3s}
MYSQL_DSN=${MYSQL_DSN:-"root@tcp(127.0.0.1:3306)"}   # server part; the database is teamline_bench
MYSQL_CLI=${MYSQL_CLI:-"mariadb -uroot -h127.0.0.1 -P3306"}
DB=teamline_bench
SIP_IP=127.0.0.1 SIP_PORT=${SIP_PORT:-5060}
TRUNK_IP=127.0.0.2
AGENT_PORT=${AGENT_PORT:-5070}
TRUNK_PORT=${TRUNK_PORT:-5080}
HTTP=${HTTP:-127.0.0.1:18080}
KEEP=${KEEP:-0}
RECORD=${RECORD:-1}
ROUTED=${ROUTED:-0}
[ "$RECORD" = 0 ] || [ "$RECORD" = 1 ] || { echo "bench-sip: RECORD is 1 or 0, not $RECORD" >&2; exit 2; }

for tool in sipp go curl awk; do
	command -v "$tool" >/dev/null || { echo "bench-sip: $tool not found (sipp: apt-get install sip-tester)" >&2; exit 1; }
done
if [[ " $PHASES " == *" pdd "* ]] && ! command -v dumpcap >/dev/null; then
	echo "bench-sip: dumpcap/tshark not found (apt-get install tshark), needed for PHASES=pdd" >&2
	exit 1
fi

WORK=$(mktemp -d /tmp/teamline-bench.XXXXXX)
GW_PID="" AGENT_PID="" TRUNK_PID="" CAP_PID=""
SUMMARY=$WORK/summary.txt
RECDIR=$WORK/recordings
: >"$SUMMARY"

log() { echo "bench-sip: $*" >&2; }
say() { echo "$*" | tee -a "$SUMMARY"; }

cleanup() {
	set +e
	for p in $TRUNK_PID $CAP_PID $AGENT_PID; do pkill -P "$p" 2>/dev/null; kill "$p" 2>/dev/null; done
	if [ -n "$GW_PID" ] && kill -0 "$GW_PID" 2>/dev/null; then
		kill -TERM "$GW_PID"
		for _ in $(seq 50); do kill -0 "$GW_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$GW_PID" 2>/dev/null
	fi
	wait 2>/dev/null
	$MYSQL_CLI -e "DROP DATABASE IF EXISTS $DB" 2>/dev/null
	if [ "$KEEP" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- helpers -------------------------------------------------------------------------------
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }   # utime+stime, 1/100 s
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
now() { date +%s.%N; }
DB_PID=$(pidof mariadbd mysqld 2>/dev/null | awk '{ print $1 }' || true)
db_ticks() { if [ -n "$DB_PID" ]; then cpu_ticks "$DB_PID"; else echo 0; fi; }
# db_status: "questions fsyncs" of the database server (global counters)
db_status() { $MYSQL_CLI -N -e "SHOW GLOBAL STATUS WHERE Variable_name IN ('Questions', 'Innodb_os_log_fsyncs')" |
	awk '{ v[$1] = $2 } END { print v["Questions"] + 0, v["Innodb_os_log_fsyncs"] + 0 }'; }
# metric NAME_REGEX: sum of the gateway's /metrics samples whose name{labels} matches
metric() { curl -sf "http://$HTTP/metrics" | awk -v re="$1" '$1 ~ re { s += $2 } END { printf "%d\n", s }'; }
# stat FILE COLUMN: last value of a column of a SIPp -trace_stat file
sstat() { awk -F';' -v col="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next } { v = $c } END { print v }' "$1"; }
# percentiles of the numbers on stdin: "p50 p99 max n"
pctl() { sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) { print "- - - 0"; exit }
	i50 = int(NR * 0.50); i99 = int(NR * 0.99); if (i50 < 1) i50 = 1; if (i99 < 1) i99 = 1
	print a[i50], a[i99], a[NR], NR }'; }
wait_idle() { # no call up, then the quarantine over
	for _ in $(seq 600); do [ "$(metric '^teamline_calls_active$')" = 0 ] && break; sleep 0.1; done
	sleep "$(awk -v q="${QUARANTINE%s}" 'BEGIN { print q + 1 }')"
}
# rec_max_id: the highest id in the recordings table (0 when empty)
rec_max_id() { $MYSQL_CLI -N -e "SELECT COALESCE(MAX(id), 0) FROM $DB.recordings"; }
# rec_stats ID0: "count complete size_bytes min_ms max_ms" of the call recordings with id > ID0
rec_stats() { $MYSQL_CLI -N -e "SELECT COUNT(*), COALESCE(SUM(complete), 0), COALESCE(SUM(size_bytes), 0),
	COALESCE(MIN(duration_ms), 0), COALESCE(MAX(duration_ms), 0) FROM $DB.recordings WHERE id > $1 AND kind = 'call'"; }
du_bytes() { du -sb "$1" 2>/dev/null | awk '{ print $1 + 0 }'; }
# wav_info FILE: "channels rate seconds" (sox's soxi, else the canonical 44-byte header read with od)
wav_info() {
	if command -v soxi >/dev/null; then
		echo "$(soxi -c "$1") $(soxi -r "$1") $(soxi -D "$1")"
	else
		local ch rate data
		ch=$(od -An -tu2 -j22 -N2 "$1") rate=$(od -An -tu4 -j24 -N4 "$1") data=$(od -An -tu4 -j40 -N4 "$1")
		awk -v c="$ch" -v r="$rate" -v d="$data" 'BEGIN { printf "%d %d %.3f\n", c, r, (c * r > 0 ? d / (2 * c * r) : 0) }'
	fi
}
# sample_window DELAY LEN PID OUT: after DELAY s, the CPU of the whole machine (all processes; 100 = one
# core) and of PID over LEN s, written to OUT as "machine_pct pid_pct"
sample_window() {
	sleep "$1"
	local s0 s1 p0 p1
	s0=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
	p0=$(cpu_ticks "$3" 2>/dev/null || echo 0)
	sleep "$2"
	s1=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
	p1=$(cpu_ticks "$3" 2>/dev/null || echo 0)
	awk -v a="$s0" -v b="$s1" -v p="$((p1 - p0))" -v len="$2" -v cores="$(nproc)" 'BEGIN {
		split(a, x, " "); split(b, y, " "); t = (y[2] - x[2]) / cores
		printf "%.0f %.0f\n", (t > 0 ? 100 * (y[1] - x[1]) / t : 0), p / len }' >"$4"
}
sipp_errors() { # the interesting part of a SIPp error file
	[ -f "$1" ] && grep -v -e 'Received out-of-call' -e '^The following events occurred' "$1" | head -c 3000
	true
}

# ---- build, database, directory --------------------------------------------------------------
log "work directory $WORK"
(cd "$REPO" && go build -o "$WORK/teamline" ./cmd/teamline && go build -o "$WORK/rtpload" ./scripts/bench/rtpload)
cp "$REPO"/scripts/bench/sipp/*.xml "$WORK/"   # SIPp writes -trace_rtt files next to its cwd
bash "$REPO/scripts/bench/gen-team.sh" "$WORK" "$USERS" "$LEADS" "$RECORD" "$ROUTED"

$MYSQL_CLI -e "DROP DATABASE IF EXISTS $DB; CREATE DATABASE $DB"
cat >"$WORK/teamline.yaml" <<EOF
data_dir: $WORK/data
log: {level: warn, format: text}
database:
  dsn: "$MYSQL_DSN/$DB"
http: {listen: "$HTTP", pprof: true}
sip:
  listen: [{transport: udp, address: "$SIP_IP:$SIP_PORT"}]
registrar:
  keepalive_interval: 0s     # SIPp's agents share one address; OPTIONS pings would be unexpected messages
calls:
  media_timeout: 120s
  drain_timeout: 0s
rtp: {port_min: $RTP_MIN, port_max: $RTP_MAX, bind: $SIP_IP, quarantine: $QUARANTINE}
recording: {dir: "$RECDIR"}
trunks:
  - name: carrier
    proxy: "$TRUNK_IP:$TRUNK_PORT"
    inbound_addresses: [$TRUNK_IP]
EOF
t0=$(now)
"$WORK/teamline" apply -c "$WORK/teamline.yaml" -f "$WORK/team.yaml" >"$WORK/apply.log" 2>&1 ||
	{ tail -20 "$WORK/apply.log" >&2; exit 1; }
log "applied $USERS users, $LEADS leads in $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }') s: $(tail -1 "$WORK/apply.log")"

# ---- gateway ------------------------------------------------------------------------------
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
"$WORK/teamline" serve -c "$WORK/teamline.yaml" >"$WORK/gateway.log" 2>&1 &
GW_PID=$!
for _ in $(seq 100); do curl -sf "http://$HTTP/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "http://$HTTP/healthz" >/dev/null || { cat "$WORK/gateway.log" >&2; exit 1; }
log "gateway pid $GW_PID, open files limit $(ulimit -n), VmRSS $(rss_kib "$GW_PID") KiB"

# ---- agents register ------------------------------------------------------------------------
(cd "$WORK" && exec sipp -sf agent.xml -oocsf agent_answer.xml -inf agents.csv \
	-i "$SIP_IP" -p "$AGENT_PORT" -mp 16000 -m "$USERS" -r 500 -l 15000 -buff_size 4194304 -nostdin \
	-trace_err -error_file agent_errors.log -trace_stat -stf agent_stat.csv -fd 1 \
	"$SIP_IP:$SIP_PORT" >agent.out 2>&1) &
AGENT_PID=$!
for _ in $(seq 300); do
	[ "$(metric '^teamline_sip_registrations$')" -ge "$USERS" ] && break
	kill -0 "$AGENT_PID" 2>/dev/null || { cat "$WORK/agent.out" >&2; exit 1; }
	sleep 0.1
done
regs=$(metric '^teamline_sip_registrations$')
[ "$regs" -ge "$USERS" ] || { log "only $regs of $USERS agents registered"; sipp_errors "$WORK/agent_errors.log" >&2; exit 1; }
log "$regs agents registered"

dirty=$(git -C "$REPO" status --porcelain -- '*.go' 2>/dev/null | grep -q . && echo " + uncommitted Go changes" || true)
say "teamline SIP benchmark $(date -u +%FT%TZ), commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo ?)$dirty"
say "machine: $(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); $(sipp -v 2>/dev/null | awk 'NF { print $1, $2; exit }'); $($MYSQL_CLI -N -e 'select version()' 2>/dev/null)"
say "directory: $USERS agents registered, $LEADS leads; rtp $RTP_MIN-$RTP_MAX, quarantine $QUARANTINE; recording $([ "$RECORD" = 1 ] && echo on || echo off) (RECORD=$RECORD), voicemail off"

# run_trunk NAME RATE CALLS HOLD_MS [extra sipp args]: the carrier, in the foreground
run_trunk() {
	local name=$1 rate=$2 calls=$3 hold=$4
	shift 4
	(cd "$WORK" && TIMEFORMAT='%R %U %S' && { time sipp -sf trunk.xml -inf numbers.csv \
		-i "$TRUNK_IP" -p "$TRUNK_PORT" -mp 17000 -r "$rate" -m "$calls" -d "$hold" -l 15000 \
		-recv_timeout 20000 -buff_size 4194304 -nostdin \
		-trace_err -error_file "${name}_errors.log" -trace_stat -stf "${name}_stat.csv" -fd 1 "$@" \
		"$SIP_IP:$SIP_PORT" >"${name}.out" 2>&1; } 2>"${name}.time")
}

# ---- phase: call rate ---------------------------------------------------------------------------
best_rate=""
rate_phase() {
	say ""
	say "== call rate: $CALLS calls per rate, short calls (INVITE+SDP, 180, 200, ACK, BYE)"
	say "rate/s  ok      failed  achieved/s  gw_cpu%  gw_cpu_ms/call  sipp_cpu%(trunk+agent)  db_cpu%  db_queries/call  db_fsyncs/call  retrans  invite->180_ms(sipp avg)  gw_non200  gw_rss_kib"
	local r
	for r in $RATES; do
		wait_idle
		local name="rate_$r" c0 a0 t0 c1 a1 t1 rc=0 bad0 bad1
		bad0=$(metric '^teamline_sip_requests_total[{]method="(INVITE|ACK|BYE)",response="[3-6]')
		local d0 d1 q0 q1 f0 f1
		read -r q0 f0 < <(db_status)
		d0=$(db_ticks) a0=$(cpu_ticks "$AGENT_PID") c0=$(cpu_ticks "$GW_PID") t0=$(now)
		if [ "${PROFILE:-0}" = 1 ]; then
			# A 20 s CPU profile of the gateway in the middle of the run.
			(sleep 5 && curl -sf -o "$WORK/${name}_cpu.pprof" "http://$HTTP/debug/pprof/profile?seconds=20") &
		fi
		run_trunk "$name" "$r" "$CALLS" 0 || rc=$?
		c1=$(cpu_ticks "$GW_PID") a1=$(cpu_ticks "$AGENT_PID") d1=$(db_ticks) t1=$(now)
		read -r q1 f1 < <(db_status)
		bad1=$(metric '^teamline_sip_requests_total[{]method="(INVITE|ACK|BYE)",response="[3-6]')
		local st="$WORK/${name}_stat.csv" ok failed retrans pdd wall tr
		ok=$(sstat "$st" 'SuccessfulCall(C)') failed=$(sstat "$st" 'FailedCall(C)')
		retrans=$(sstat "$st" 'Retransmissions(C)') pdd=$(sstat "$st" 'ResponseTimepdd(C)')
		read -r wall tu ts <"$WORK/${name}.time"
		awk -v r="$r" -v ok="$ok" -v f="$failed" -v w="$wall" -v c="$((c1 - c0))" -v a="$((a1 - a0))" \
			-v tu="$tu" -v ts="$ts" -v el="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
			-v re="$retrans" -v pdd="$pdd" -v bad="$((bad1 - bad0))" -v rss="$(rss_kib "$GW_PID")" \
			-v d="$((d1 - d0))" -v q="$((q1 - q0))" -v fs="$((f1 - f0))" 'BEGIN {
			n = ok + f; if (n < 1) n = 1
			printf "%-7s %-7s %-7s %-11.0f %-8.1f %-15.3f %-23s %-8.1f %-16.1f %-15.2f %-8s %-25s %-10s %s\n", r, ok, f, ok / w, c / el,
				(ok > 0 ? 10 * c / ok : 0), sprintf("%.0f+%.0f", 100 * (tu + ts) / el, a / el), d / el, q / n, fs / n,
				re, pdd, bad, rss }' |
			tee -a "$SUMMARY"
		if [ "$rc" != 0 ] || [ "$failed" != 0 ] || [ "$ok" != "$CALLS" ]; then
			say "  rate $r failed (sipp exit $rc). SIPp carrier errors ($WORK/${name}_errors.log):"
			# (head closing the pipe early must not end the script: set -e, pipefail)
			{ sipp_errors "$WORK/${name}_errors.log" | head -20 | sed 's/^/    /' | tee -a "$SUMMARY"; } || true
			say "  gateway log (last 10 lines):"
			tail -10 "$WORK/gateway.log" | sed 's/^/    /' | tee -a "$SUMMARY"
			say "  gateway responses: $(curl -sf "http://$HTTP/metrics" | grep '^teamline_sip_requests_total' | grep -v 'response="200"' | tr '\n' ' ')"
			[ "$STOP_ON_FAIL" = 1 ] && break
		else
			best_rate=$r
		fi
	done
	say "highest rate with $CALLS calls and none failed: ${best_rate:-none}/s"
	say "agent SIPp failed calls so far: $(sstat "$WORK/agent_stat.csv" 'FailedCall(C)')"
}

# ---- phase: post-dial delay -----------------------------------------------------------------------
pdd_phase() {
	say ""
	say "== post-dial delay added by the gateway (carrier INVITE in -> INVITE out to the agent, dumpcap on lo)"
	say "rate/s  calls  gw_pdd_ms p50 p99 max (n)         carrier_invite->180_ms p50 p99 max (sipp -trace_rtt)"
	local r
	for r in $PDD_RATES; do
		wait_idle
		local name="pdd_$r" pcap="$WORK/pdd_$r.pcap"
		dumpcap -q -i lo -B 64 -f "udp port $SIP_PORT" -w "$pcap" >"$WORK/dumpcap_$r.log" 2>&1 &
		CAP_PID=$!
		sleep 2
		run_trunk "$name" "$r" "$PDD_CALLS" 0 -trace_rtt -rtt_freq 1 || true
		sleep 1
		kill "$CAP_PID" 2>/dev/null; wait "$CAP_PID" 2>/dev/null || true
		CAP_PID=""
		# first INVITE of each Call-ID; in = from the carrier, out = from the gateway's SIP port
		local gw
		gw=$(tshark -r "$pcap" -Y 'sip.Method == "INVITE"' -T fields -E separator=';' \
			-e frame.time_epoch -e ip.src -e udp.srcport -e sip.from.user -e sip.Call-ID 2>/dev/null |
			awk -F';' -v trunk="$TRUNK_IP" -v sip="$SIP_IP" -v port="$SIP_PORT" '
				seen[$5]++ { next }
				$2 == trunk { tin[$4] = $1; next }
				$2 == sip && $3 == port && ($4 in tin) { printf "%.3f\n", 1000 * ($1 - tin[$4]); delete tin[$4] }' |
			pctl)
		local rtt
		rtt=$(awk -F';' '$3 == "pdd" { print $2 }' "$WORK"/trunk_*_rtt.csv 2>/dev/null | pctl)
		rm -f "$WORK"/trunk_*_rtt.csv
		set -- $gw; local g="$1 $2 $3 ($4)"
		set -- $rtt; local s="$1 $2 $3 ($4)"
		printf "%-7s %-6s %-30s %s\n" "$r" "$(sstat "$WORK/${name}_stat.csv" 'SuccessfulCall(C)')" "$g" "$s" | tee -a "$SUMMARY"
		[ "$KEEP" = 1 ] || rm -f "$pcap"
	done
}

# ---- phase: concurrent calls with RTP ------------------------------------------------------------
media_phase() {
	say ""
	say "== concurrent calls with 20 ms PCMU both ways (rtpload), ${MEDIA_SECONDS}s measured, set up at $CONC_RATE/s, recording $([ "$RECORD" = 1 ] && echo on || echo off)"
	say "calls  ok     loss%    rx/tx_pkts          sent%due  dead_streams  relay_delay_us p50/p99/max  gw_cpu%  cpu%/100calls  rss_before_kib  rss_during_kib  kib/call  gw_cpu_ms/call(run)  box_cpu%  rtpload_cpu%"
	local n
	for n in $CONCURRENT; do
		wait_idle
		local name="media_$n" rss0 hold rc=0 rid0 du0 late0 c0 c1 tend fin
		rss0=$(rss_kib "$GW_PID")
		hold=$(awk -v n="$n" -v r="$CONC_RATE" -v m="$MEDIA_SECONDS" 'BEGIN { printf "%d", 1000 * (n / r + m + 20) }')
		rid0=$(rec_max_id) du0=$(du_bytes "$RECDIR") late0=$(metric '^teamline_recording_late_samples_total$')
		c0=$(cpu_ticks "$GW_PID")
		run_trunk "$name" "$CONC_RATE" "$n" "$hold" &
		TRUNK_PID=$!
		"$WORK/rtpload" -pid "$GW_PID" -gw "$SIP_IP" -range "$RTP_MIN-$RTP_MAX" -expect $((2 * n)) \
			-wait "$(awk -v n="$n" -v r="$CONC_RATE" 'BEGIN { printf "%ds", n / r + 30 }')" \
			-warmup 3s -duration "${MEDIA_SECONDS}s" -json "$WORK/$name.json" >"$WORK/$name.rtpload" 2>&1 &
		local load_pid=$!
		# the machine's and the generator's CPU inside the measured window (it opens about n/rate + 4 s in)
		local sample_pid=""
		echo "- -" >"$WORK/$name.cpu"
		if [ "$MEDIA_SECONDS" -gt 6 ]; then
			sample_window "$(awk -v n="$n" -v r="$CONC_RATE" 'BEGIN { printf "%.1f", n / r + 6 }')" $((MEDIA_SECONDS - 4)) \
				"$load_pid" "$WORK/$name.cpu" &
			sample_pid=$!
		fi
		wait "$load_pid" || rc=$?
		[ -z "$sample_pid" ] || wait "$sample_pid" || true
		wait "$TRUNK_PID" || true
		TRUNK_PID=""
		# The carrier has hung up every call; a recording is finished (last flush, final header, fsync,
		# hash, index entry) as its call ends. Wait for all of them so the files are complete.
		tend=$(now)
		for _ in $(seq 1200); do
			[ "$(metric '^teamline_calls_active$')" = 0 ] && [ "$(metric '^teamline_recordings_active$')" = 0 ] && break
			sleep 0.1
		done
		c1=$(cpu_ticks "$GW_PID") fin=$(awk -v a="$tend" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
		cat "$WORK/$name.rtpload" >&2
		local ok
		ok=$(sstat "$WORK/${name}_stat.csv" 'SuccessfulCall(C)')
		if [ "$rc" != 0 ] || [ ! -s "$WORK/$name.json" ]; then
			say "$n: rtpload failed: $(tail -3 "$WORK/$name.rtpload")"
			continue
		fi
		awk -v n="$n" -v ok="$ok" -v rss0="$rss0" -v ticks="$((c1 - c0))" -v cpu="$(cat "$WORK/$name.cpu")" '
			{ gsub(/[",]/, ""); v[$1] = $2 }
			END { due = 2 * n * v["seconds:"] * 1000 / (v["ptime_ms:"] > 0 ? v["ptime_ms:"] : 20)
				split(cpu, m, " ")
				printf "%-6s %-6s %-8.4f %-19s %-9.1f %-13s %-26s %-8.1f %-14.2f %-15s %-15s %-9.1f %-20.1f %-9s %s\n", n, ok, v["loss_pct:"],
				v["received:"] "/" v["sent:"], (due > 0 ? 100 * v["sent:"] / due : 0), v["streams_with_nothing:"],
				v["relay_delay_p50_us:"] "/" v["relay_delay_p99_us:"] "/" v["relay_delay_max_us:"],
				v["gateway_cpu_pct:"], v["gateway_cpu_pct:"] / (n / 100), rss0, v["gateway_rss_kib:"],
				(v["gateway_rss_kib:"] - rss0) / n, (ok > 0 ? 10 * ticks / ok : 0), m[1], m[2] }' "$WORK/$name.json" | tee -a "$SUMMARY"
		local cnt complete size mn mx disk late
		read -r cnt complete size mn mx < <(rec_stats "$rid0")
		disk=$(($(du_bytes "$RECDIR") - du0)) late=$(($(metric '^teamline_recording_late_samples_total$') - late0))
		if [ "$RECORD" = 1 ]; then
			local p wav="no recording to check"
			p=$($MYSQL_CLI -N -e "SELECT path FROM $DB.recordings WHERE id > $rid0 AND kind = 'call' ORDER BY id LIMIT 1")
			if [ -n "$p" ] && [ -f "$RECDIR/$p" ]; then
				wav=$(wav_info "$RECDIR/$p" | awk -v h="$hold" -v f="$(basename "$p")" '{
					ok = ($1 == 2 && $2 == 8000 && $3 - h / 1000 <= 1 && h / 1000 - $3 <= 1)
					printf "%s: %d ch, %d Hz, %.2f s for a %.0f s hold: %s", f, $1, $2, $3, h / 1000, ok ? "ok" : "BAD" }')
			fi
			awk -v cnt="$cnt" -v com="$complete" -v size="$size" -v disk="$disk" -v h="$hold" -v mn="$mn" -v mx="$mx" \
				-v late="$late" -v fin="$fin" 'BEGIN {
				printf "  recorded: %d recordings (%d complete), %d bytes on disk (du -sb; index %d), %.0f bytes per call-minute (%d calls x %.0f s held), durations %.2f-%.2f s, %d late samples dropped, all finished %.1f s after the last BYE\n",
					cnt, com, disk, size, (cnt > 0 ? disk / (cnt * h / 1000 / 60) : 0), cnt, h / 1000, mn / 1000, mx / 1000, late, fin }' |
				tee -a "$SUMMARY"
			say "  file check (first recording of the run): $wav"
			[ "$KEEP" = 1 ] || find "$RECDIR" -name '*.wav' -delete   # the next run measures its own files
		else
			say "  recording off: $cnt recordings made, $disk bytes written to $RECDIR; all calls ended ${fin} s after the last BYE"
		fi
		local failed
		failed=$(sstat "$WORK/${name}_stat.csv" 'FailedCall(C)')
		if [ "$failed" != 0 ]; then
			say "  $failed calls failed:"
			sipp_errors "$WORK/${name}_errors.log" | head -10 | sed 's/^/    /' | tee -a "$SUMMARY"
		fi
	done
}

for phase in $PHASES; do
	case $phase in
	rate) rate_phase ;;
	pdd) pdd_phase ;;
	media) media_phase ;;
	*) log "unknown phase $phase"; exit 2 ;;
	esac
done

wait_idle
say ""
say "gateway at the end: VmRSS $(rss_kib "$GW_PID") KiB, calls active $(metric '^teamline_calls_active$'), goroutines $(metric '^go_goroutines$'), open fds $(ls /proc/"$GW_PID"/fd | wc -l)"
say "recordings: $(metric '^teamline_recordings_total[{]kind="call"') calls recorded, $(metric '^teamline_recordings_refused_total') refused (quota or error), $(metric '^teamline_recording_late_samples_total$') late samples dropped"
say "gateway log lines at warn or above: $(wc -l <"$WORK/gateway.log")"
[ -s "$WORK/gateway.log" ] && head -5 "$WORK/gateway.log" | sed 's/^/    /' | tee -a "$SUMMARY"
echo
echo "================ summary ================"
cat "$SUMMARY"
