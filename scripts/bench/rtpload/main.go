// Command rtpload puts 20 ms G.711 (PCMU) RTP through every call the
// gateway is relaying and counts what comes out the other side.
//
// It finds the gateway's RTP ports itself: the even UDP ports in -range that
// the process -pid has bound on -gw (read from /proc/PID/fd and
// /proc/PID/net/udp), two per call (the caller-facing and the callee-facing
// leg). For every such port it opens a UDP socket on -local (connected to
// that port) and sends a packet every -ptime; the gateway latches each leg
// onto the socket that sends into it (symmetric RTP), so what one socket
// sends comes out at the socket of the other leg of the same call. The
// counting needs no pairing: every packet sent into one leg must arrive at
// exactly one other socket.
//
// Packets carry their own counter and send time in the first 12 payload
// bytes (the gateway rewrites the RTP header but relays a PCMU payload
// unchanged when both legs use PCMU). After -warmup (latching), packets sent
// during -duration are counted: loss = 1 - received/sent, and the one-way
// relay delay (send to receive, same clock) is reported at p50/p99/max.
// The gateway's CPU time and VmRSS over the measured window are read from
// /proc/PID.
//
// Standard library only; Linux only.
package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const payloadLen = 160 // 20 ms of PCMU at 8 kHz

func main() {
	pid := flag.Int("pid", 0, "gateway process id (required)")
	gw := flag.String("gw", "127.0.0.1", "IP the gateway's RTP ports are bound to")
	local := flag.String("local", "127.0.0.3", "IP to send from (not the gateway's, so port numbers never clash)")
	rng := flag.String("range", "20000-40000", "the gateway's rtp port_min-port_max")
	expect := flag.Int("expect", 0, "wait (up to -wait) until at least this many RTP ports are bound (2 per call)")
	wait := flag.Duration("wait", 60*time.Second, "how long to wait for -expect ports")
	ptime := flag.Duration("ptime", 20*time.Millisecond, "packet interval per stream")
	warmup := flag.Duration("warmup", 3*time.Second, "send this long before counting (latching)")
	duration := flag.Duration("duration", 30*time.Second, "measured sending time")
	jsonOut := flag.String("json", "", "also write the result as JSON to this file")
	flag.Parse()
	if *pid == 0 {
		fatal("-pid is required")
	}
	pmin, pmax, err := parseRange(*rng)
	if err != nil {
		fatal("-range: %v", err)
	}
	gwIP := netip.MustParseAddr(*gw)

	var ports []int
	deadline := time.Now().Add(*wait)
	for {
		ports, err = gatewayRTPPorts(*pid, gwIP, pmin, pmax)
		if err != nil {
			fatal("finding the gateway's ports: %v", err)
		}
		if len(ports) >= *expect || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(ports) == 0 {
		fatal("the gateway (pid %d) has no RTP ports bound on %s in %d-%d", *pid, gwIP, pmin, pmax)
	}
	if len(ports) < *expect {
		fmt.Fprintf(os.Stderr, "rtpload: only %d of %d expected RTP ports bound after %v\n", len(ports), *expect, *wait)
	}

	streams := make([]*stream, 0, len(ports))
	for i, p := range ports {
		c, err := net.DialUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(*local), 0)),
			net.UDPAddrFromAddrPort(netip.AddrPortFrom(gwIP, uint16(p))))
		if err != nil {
			fatal("socket for gateway port %d (stream %d): %v", p, i, err)
		}
		_ = c.SetReadBuffer(1 << 20)
		streams = append(streams, &stream{conn: c, ssrc: uint32(0x7e570000 + i), gwPort: p})
	}

	r := &run{streams: streams, ptime: *ptime}
	r.countFrom.Store(math.MaxUint32)
	r.countTo.Store(math.MaxUint32)
	var rwg sync.WaitGroup
	for _, s := range streams {
		rwg.Add(1)
		go func() { defer rwg.Done(); r.receive(s) }()
	}

	stop := make(chan struct{})
	var swg sync.WaitGroup
	swg.Add(1)
	go func() { defer swg.Done(); r.send(stop) }()

	time.Sleep(*warmup)
	cpu0, _ := procCPU(*pid)
	rss0, _ := procRSS(*pid)
	t0 := time.Now()
	r.countFrom.Store(r.tick.Load() + 1)
	time.Sleep(*duration)
	r.countTo.Store(r.tick.Load() + 1)
	t1 := time.Now()
	cpu1, _ := procCPU(*pid)
	rss1, _ := procRSS(*pid)
	time.Sleep(200 * time.Millisecond) // the last counted packets go out with the next ticks
	close(stop)
	swg.Wait()
	time.Sleep(time.Second) // stragglers
	for _, s := range streams {
		_ = s.conn.Close()
	}
	rwg.Wait()

	var sent, recv, deadStreams, lateOrDup uint64
	var delays []time.Duration
	for _, s := range streams {
		sent += s.sentCounted
		recv += s.recvCounted
		if s.recvCounted == 0 {
			deadStreams++
		}
		lateOrDup += s.other
		delays = append(delays, s.delays...)
	}
	slices.Sort(delays)
	res := result{
		Calls:            len(streams) / 2,
		Streams:          len(streams),
		PtimeMs:          ptime.Milliseconds(),
		Seconds:          t1.Sub(t0).Seconds(),
		Sent:             sent,
		Received:         recv,
		StreamsNothing:   deadStreams,
		PacketsPerSecond: float64(sent) / t1.Sub(t0).Seconds(),
		GatewayCPUPct:    100 * (cpu1 - cpu0) / t1.Sub(t0).Seconds(),
		GatewayRSSKiB:    rss1,
		GatewayRSSKiB0:   rss0,
	}
	if sent > 0 {
		res.LossPct = 100 * (1 - float64(recv)/float64(sent))
	}
	if len(delays) > 0 {
		res.DelayP50Us = delays[len(delays)/2].Microseconds()
		res.DelayP99Us = delays[len(delays)*99/100].Microseconds()
		res.DelayMaxUs = delays[len(delays)-1].Microseconds()
	}
	fmt.Printf("rtpload: calls=%d streams=%d ptime=%dms window=%.1fs sent=%d received=%d loss=%.4f%% "+
		"streams_with_nothing=%d pps_in=%.0f relay_delay_us p50=%d p99=%d max=%d gateway_cpu=%.1f%% gateway_rss_kib=%d\n",
		res.Calls, res.Streams, res.PtimeMs, res.Seconds, res.Sent, res.Received, res.LossPct,
		res.StreamsNothing, res.PacketsPerSecond, res.DelayP50Us, res.DelayP99Us, res.DelayMaxUs, res.GatewayCPUPct, res.GatewayRSSKiB)
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			fatal("%v", err)
		}
	}
}

type result struct {
	Calls            int     `json:"calls"`
	Streams          int     `json:"streams"`
	PtimeMs          int64   `json:"ptime_ms"`
	Seconds          float64 `json:"seconds"`
	Sent             uint64  `json:"sent"`
	Received         uint64  `json:"received"`
	LossPct          float64 `json:"loss_pct"`
	StreamsNothing   uint64  `json:"streams_with_nothing"`
	PacketsPerSecond float64 `json:"packets_per_second_in"`
	DelayP50Us       int64   `json:"relay_delay_p50_us"`
	DelayP99Us       int64   `json:"relay_delay_p99_us"`
	DelayMaxUs       int64   `json:"relay_delay_max_us"`
	GatewayCPUPct    float64 `json:"gateway_cpu_pct"`
	GatewayRSSKiB    int64   `json:"gateway_rss_kib"`
	GatewayRSSKiB0   int64   `json:"gateway_rss_kib_window_start"`
}

type stream struct {
	conn   *net.UDPConn
	ssrc   uint32
	gwPort int
	seq    uint16
	ts     uint32
	// written by the sender only
	sentCounted uint64
	// written by this stream's receiver only
	recvCounted uint64
	other       uint64
	delays      []time.Duration // sampled: every 10th counted packet
}

type run struct {
	streams   []*stream
	ptime     time.Duration
	tick      atomic.Uint32 // ticks (ptime periods) started so far
	countFrom atomic.Uint32 // packets of ticks in [countFrom, countTo) are counted
	countTo   atomic.Uint32
	base      time.Time
}

// send sends one packet per stream every ptime, spread over the period in
// 1 ms slots so the gateway sees a steady rate rather than bursts.
func (r *run) send(stop <-chan struct{}) {
	const slots = 20
	slot := r.ptime / slots
	r.base = time.Now()
	buf := make([]byte, 12+payloadLen)
	for i := range buf[24:] {
		buf[24+i] = 0xff // PCMU silence
	}
	next := r.base
	for n := 0; ; n++ {
		tick := uint32(n / slots)
		if n%slots == 0 {
			r.tick.Store(tick)
		}
		lo, hi := len(r.streams)*(n%slots)/slots, len(r.streams)*(n%slots+1)/slots
		from, to := r.countFrom.Load(), r.countTo.Load()
		counted := tick >= from && tick < to
		for _, s := range r.streams[lo:hi] {
			buf[0], buf[1] = 0x80, 0 // V=2, PT 0
			binary.BigEndian.PutUint16(buf[2:], s.seq)
			binary.BigEndian.PutUint32(buf[4:], s.ts)
			binary.BigEndian.PutUint32(buf[8:], s.ssrc)
			binary.BigEndian.PutUint32(buf[12:], tick)
			binary.BigEndian.PutUint64(buf[16:], uint64(time.Now().UnixNano()))
			s.seq++
			s.ts += payloadLen
			if _, err := s.conn.Write(buf); err == nil && counted {
				s.sentCounted++
			}
		}
		next = next.Add(slot)
		select {
		case <-stop:
			return
		case <-time.After(time.Until(next)):
		}
	}
}

// receive counts what the gateway relays to s (sent by the other leg's
// stream).
func (r *run) receive(s *stream) {
	buf := make([]byte, 2048)
	for {
		n, err := s.conn.Read(buf)
		if err != nil {
			if strings.Contains(err.Error(), "use of closed") {
				return
			}
			continue // e.g. ECONNREFUSED from an ICMP error
		}
		now := time.Now()
		if n < 12+20 {
			s.other++
			continue
		}
		tick := binary.BigEndian.Uint32(buf[12:])
		if tick >= r.countFrom.Load() && tick < r.countTo.Load() {
			s.recvCounted++
			if s.recvCounted%10 == 0 {
				s.delays = append(s.delays, now.Sub(time.Unix(0, int64(binary.BigEndian.Uint64(buf[16:])))))
			}
		}
	}
}

// gatewayRTPPorts lists the even UDP ports in [min, max] that process pid
// has bound on ip.
func gatewayRTPPorts(pid int, ip netip.Addr, min, max int) ([]int, error) {
	inodes := map[string]bool{}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return nil, err
	}
	for _, fd := range fds {
		l, err := os.Readlink(filepath.Join(fmt.Sprintf("/proc/%d/fd", pid), fd.Name()))
		if err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	var ports []int
	for _, file := range []string{"udp", "udp6"} {
		f, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", pid, file))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) < 10 || !inodes[fs[9]] {
				continue
			}
			addr, port, ok := parseProcAddr(fs[1])
			if !ok || (addr != ip && !addr.IsUnspecified()) {
				continue
			}
			if port >= min && port <= max && port%2 == 0 {
				ports = append(ports, port)
			}
		}
		f.Close()
	}
	slices.Sort(ports)
	return slices.Compact(ports), nil
}

// parseProcAddr reads "0100007F:4E20" (IPv4, little-endian on x86) from
// /proc/net/udp; IPv6 entries are reported only when unspecified.
func parseProcAddr(s string) (netip.Addr, int, bool) {
	h, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.Addr{}, 0, false
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.Addr{}, 0, false
	}
	if len(h) == 8 {
		v, err := strconv.ParseUint(h, 16, 32)
		if err != nil {
			return netip.Addr{}, 0, false
		}
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(v))
		return netip.AddrFrom4(b), int(port), true
	}
	if strings.Trim(h, "0") == "" {
		return netip.IPv6Unspecified(), int(port), true
	}
	return netip.Addr{}, 0, false
}

// procCPU is the process's user+system CPU time in seconds.
func procCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	fs := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	// fields after the command: state is [0], utime [11], stime [12]
	ut, _ := strconv.ParseFloat(fs[11], 64)
	st, _ := strconv.ParseFloat(fs[12], 64)
	return (ut + st) / 100, nil // USER_HZ is 100 on Linux
}

// procRSS is the process's VmRSS in KiB.
func procRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			return strconv.ParseInt(strings.Fields(v)[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS")
}

func parseRange(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, fmt.Errorf("want MIN-MAX, got %q", s)
	}
	lo, err1 := strconv.Atoi(a)
	hi, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || lo > hi {
		return 0, 0, fmt.Errorf("want MIN-MAX, got %q", s)
	}
	return lo, hi, nil
}

func fatal(f string, a ...any) {
	fmt.Fprintf(os.Stderr, "rtpload: "+f+"\n", a...)
	os.Exit(1)
}
