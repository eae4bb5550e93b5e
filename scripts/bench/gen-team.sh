#!/usr/bin/env bash
# Writes the benchmark directory file (teamline apply -f) and the SIPp CSV files.
#   gen-team.sh OUTDIR USERS LEADS [RECORD] [ROUTED]
# OUTDIR/team.yaml     the settings (recording_enabled = RECORD 1|0, default 1; no consent prompt, no
#                      press 1, no voicemail: a call the agent does not answer fails as before instead
#                      of being answered by voicemail, which SIPp would count as a success), a
#                      primary manager, USERS agents agent0001.. with a SIP password and a
#                      personal number +1512600NNNN (NNNN = index-1), the buyer role number
#                      +15125550100, LEADS leads +1737700NNNN spread over the agents as buyer agent
# OUTDIR/agents.csv    SEQUENTIAL: username;password (SIPp -inf of the registering agent)
# OUTDIR/numbers.csv   SEQUENTIAL: personal number;its owner;a lead of that owner (SIPp -inf of
#                      the trunk: lead NNNN calls its buyer agent's personal number, or with
#                      ROUTED=1 the buyer role number, routed to that agent by the lead), LEADS lines
set -euo pipefail
out=${1:?OUTDIR} users=${2:-1000} leads=${3:-10000} record=${4:-1} routed=${5:-0}
case $record in 1) record=true ;; 0) record=false ;; *) echo "gen-team.sh: RECORD is 1 or 0, not $record" >&2; exit 2 ;; esac
mkdir -p "$out"
awk -v users="$users" -v leads="$leads" -v out="$out" -v record="$record" -v routed="$routed" 'BEGIN {
  y = out "/team.yaml"; a = out "/agents.csv"; n = out "/numbers.csv"
  print "SEQUENTIAL" > a; print "SEQUENTIAL" > n
  print "settings:\n  time_zone: America/Chicago\n  ring_timeout_seconds: 25\n  default_number: \"+15125550100\"" > y
  print "  recording_enabled: " record "\n  consent_prompt: \"off\"\n  press_one_to_claim: false\n  voicemail: false" > y
  print "users:\n  - {username: benchadmin, name: Bench Admin, role: primary_manager}" > y
  for (i = 1; i <= users; i++) {
    u = sprintf("agent%04d", i)
    printf "  - {username: %s, name: Agent %04d, role: agent, sip_password: pw-%s-secret, dialer_access: true}\n", u, i, u > y
    printf "%s;pw-%s-secret\n", u, u > a
  }
  print "numbers:\n  - {number: \"+15125550100\", kind: role, role: buyer}" > y
  for (i = 1; i <= users; i++)
    printf "  - {number: \"+1512600%04d\", kind: personal, owner: agent%04d}\n", i - 1, i > y
  print "leads:" > y
  for (i = 0; i < leads; i++)
    if (routed == 1) printf "+15125550100;agent%04d;+1737%07d\n", i % users + 1, 7000000 + i > n
    else printf "+1512600%04d;agent%04d;+1737%07d\n", i % users, i % users + 1, 7000000 + i > n
  for (i = 0; i < leads; i++)
    printf "  - {phones: [\"+1737%07d\"], name: Lead %d, source: bench, type: buyer, city: Austin, agents: {buyer: agent%04d}}\n", 7000000 + i, i, i % users + 1 > y
}'
