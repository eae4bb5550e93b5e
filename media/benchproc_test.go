package media

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkRelayCPU is BenchmarkRelay with the senders and receivers in a
// child process, so that relay-cpu-ns/pkt is the CPU time of the relay
// alone (all of this process's CPU time, divided by the packets relayed):
// what a gateway spends per packet, as the load test measures it.
func BenchmarkRelayCPU(b *testing.B) {
	for _, relay := range []string{"epoll", "goroutines"} {
		for _, n := range []int{1, 100, 500} {
			b.Run(fmt.Sprintf("relay=%s/bridges=%d", relay, n), func(b *testing.B) {
				benchRelayCPU(b, n, relay == "goroutines")
			})
		}
	}
}

func benchRelayCPU(b *testing.B, bridges int, goroutines bool) {
	e := newTestEngine(b, 3*bridges+8, Config{GoroutineRelay: goroutines})
	var files []*os.File
	var src, dst []*os.File
	var to []string
	dup := func(c *net.UDPConn) *os.File {
		f, err := c.File()
		if err != nil {
			b.Fatal(err)
		}
		c.Close() // the child's copy keeps the socket; this process must not poll it
		files = append(files, f)
		return f
	}
	for range bridges {
		a, p := newPeer(b), newPeer(b)
		br := call(b, e, a, p, pcmu, pcmu)
		src, dst, to = append(src, dup(a.rtp)), append(dst, dup(p.rtp)), append(to, br.Local(SideA).String())
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "MEDIA_PUMP="+strconv.Itoa(b.N), "MEDIA_PUMP_TO="+strings.Join(to, ","))
	cmd.ExtraFiles = append(src, dst...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if err := cmd.Wait(); err != nil {
		b.Fatalf("pump: %v", err)
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	got, _ := strconv.Atoi(strings.TrimSpace(line))
	if got < b.N {
		b.Logf("lost %d of %d packets", b.N-got, b.N)
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "relay-cpu-ns/pkt")
}

// pumpMain is the child of BenchmarkRelayCPU: it sends MEDIA_PUMP packets
// from the sockets it inherited as fds 3.. to MEDIA_PUMP_TO, receives them on
// the sockets after those, and prints how many arrived.
func pumpMain() int {
	n, err := strconv.Atoi(os.Getenv("MEDIA_PUMP"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var to []netip.AddrPort
	for _, s := range strings.Split(os.Getenv("MEDIA_PUMP_TO"), ",") {
		to = append(to, netip.MustParseAddrPort(s))
	}
	conn := func(fd int) *net.UDPConn {
		f := os.NewFile(uintptr(fd), "udp")
		c, err := net.FilePacketConn(f)
		if err != nil {
			panic(err)
		}
		f.Close()
		return c.(*net.UDPConn)
	}
	var src, dst []*net.UDPConn
	for i := range to {
		src = append(src, conn(3+i))
		dst = append(dst, conn(3+len(to)+i))
	}
	rx := startReceivers(dst)
	pkt := pumpPacket()
	for i := range n {
		for int64(i)-rx.received.Load() >= benchWindow {
			select {
			case <-rx.credit:
			case <-time.After(time.Millisecond):
			}
		}
		k := stampPumpPacket(pkt, i, len(src))
		if _, err := src[k].WriteToUDPAddrPort(pkt, to[k]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	for deadline := time.Now().Add(5 * time.Second); rx.received.Load() < int64(n) && time.Now().Before(deadline); {
		time.Sleep(100 * time.Microsecond)
	}
	rx.stop()
	fmt.Println(rx.received.Load())
	return 0
}
