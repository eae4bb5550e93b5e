package media

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// benchWindow is how many packets may be in flight: enough to keep both
// cores busy, few enough that no socket buffer overflows.
const benchWindow = 64

// BenchmarkRelay pushes 172-byte RTP packets (20 ms of G.711) from A to B
// through one bridge, 100 bridges and 500 bridges. ns/op is wall time per
// relayed packet; cpu-ns/pkt is the whole process's CPU time per packet,
// which includes the harness's own send and receive (see
// BenchmarkLoopbackBaseline for that part alone); allocs/op counts every
// goroutine, the relay's included.
//
// relay=epoll is the default relay on Linux, relay=goroutines the one with a
// goroutine per socket (Config.GoroutineRelay).
func BenchmarkRelay(b *testing.B) {
	for _, relay := range []string{"epoll", "goroutines"} {
		for _, tc := range []struct {
			name      string
			bridges   int
			transcode bool
		}{
			{"bridges=1", 1, false},
			{"bridges=100", 100, false},
			{"bridges=100/transcode", 100, true},
			{"bridges=500", 500, false},
		} {
			b.Run("relay="+relay+"/"+tc.name, func(b *testing.B) {
				benchRelay(b, tc.bridges, tc.transcode, relay == "goroutines")
			})
		}
	}
}

func benchRelay(b *testing.B, bridges int, transcode, goroutines bool) {
	// Slack for ports of the range that the peers' ephemeral sockets
	// happen to hold.
	e := newTestEngine(b, 3*bridges+8, Config{GoroutineRelay: goroutines})
	var src, dst []*net.UDPConn
	var to []netip.AddrPort
	for range bridges {
		a, p := newPeer(b), newPeer(b)
		bAnswer := pcmu
		if transcode {
			bAnswer = pcma
		}
		br := call(b, e, a, p, pcmu, bAnswer)
		src, dst, to = append(src, a.rtp), append(dst, p.rtp), append(to, br.Local(SideA))
	}
	runPump(b, src, dst, to)
}

// BenchmarkLoopbackBaseline is the harness without a bridge: A's socket
// sends straight to B's. The kernel's share of a relayed packet is about
// this again (the bridge receives and sends once more).
func BenchmarkLoopbackBaseline(b *testing.B) {
	a, p := newPeer(b), newPeer(b)
	runPump(b, []*net.UDPConn{a.rtp}, []*net.UDPConn{p.rtp}, []netip.AddrPort{p.rtp.LocalAddr().(*net.UDPAddr).AddrPort()})
}

func runPump(b *testing.B, src, dst []*net.UDPConn, to []netip.AddrPort) {
	rx := startReceivers(dst)
	defer rx.stop()
	received := &rx.received
	credit := rx.credit

	pkt := pumpPacket()
	send := func(i int) {
		k := stampPumpPacket(pkt, i, len(src))
		if _, err := src[k].WriteToUDPAddrPort(pkt, to[k]); err != nil {
			b.Fatal(err)
		}
	}
	// Warm up: every bridge latches and has sent once.
	for i := range len(src) {
		send(i)
	}
	for received.Load() < int64(len(src)) {
		time.Sleep(time.Millisecond)
	}
	base := received.Load()

	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := range b.N {
		for int64(i)-(received.Load()-base) >= benchWindow {
			select {
			case <-credit:
			case <-time.After(time.Millisecond):
			}
		}
		send(len(src) + i)
	}
	deadline := time.Now().Add(5 * time.Second)
	for received.Load()-base < int64(b.N) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Microsecond)
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	got := received.Load() - base
	if got < int64(b.N) {
		b.Logf("lost %d of %d packets", int64(b.N)-got, b.N)
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/pkt")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pumpReceivers count what arrives on the benchmark's receiving sockets and
// give the sender credit every 16 packets, so it keeps at most benchWindow
// packets in flight.
type pumpReceivers struct {
	received atomic.Int64
	credit   chan struct{}
	conns    []*net.UDPConn
	wg       sync.WaitGroup
}

func startReceivers(dst []*net.UDPConn) *pumpReceivers {
	rx := &pumpReceivers{credit: make(chan struct{}, 1), conns: dst}
	for _, c := range dst {
		rx.wg.Go(func() {
			buf := make([]byte, 2048)
			for {
				if _, _, err := c.ReadFromUDPAddrPort(buf); err != nil {
					if errors.Is(err, net.ErrClosed) {
						return
					}
					continue
				}
				if rx.received.Add(1)%16 == 0 {
					select {
					case rx.credit <- struct{}{}:
					default:
					}
				}
			}
		})
	}
	return rx
}

// stop closes the receiving sockets and waits for their readers.
func (rx *pumpReceivers) stop() {
	for _, c := range rx.conns {
		c.Close()
	}
	rx.wg.Wait()
}

// pumpPacket is the benchmark's 172-byte PCMU packet.
func pumpPacket() []byte {
	pkt := make([]byte, 172)
	pkt[0], pkt[1] = 0x80, 0
	binary.BigEndian.PutUint32(pkt[8:], 0xdeadbeef)
	for i := 12; i < len(pkt); i++ {
		pkt[i] = byte(i)
	}
	return pkt
}

// stampPumpPacket numbers packet i of a round robin over n sources and
// returns the source it goes from.
func stampPumpPacket(pkt []byte, i, n int) int {
	binary.BigEndian.PutUint16(pkt[2:], uint16(i/n))
	binary.BigEndian.PutUint32(pkt[4:], uint32(i/n)*160)
	return i % n
}
