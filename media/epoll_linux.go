//go:build linux

package media

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// epollRelay says whether this platform has the epoll relay.
const epollRelay = true

// recvBatch is how many datagrams one recvmmsg call takes off a socket.
const recvBatch = 8

// The epoll relay: a few worker goroutines (GOMAXPROCS by default), each
// with an epoll instance of its own, instead of a goroutine per socket. All
// four sockets of a bridge belong to one worker, so a relayed packet is
// received and sent on the same goroutine without waking another, and the
// Go scheduler and netpoller are not involved per packet: the sockets are
// raw non-blocking file descriptors the runtime never sees. A ready socket
// is drained with recvmmsg; packets are sent with sendto.
//
// Only the worker changes its epoll set and its token table: NewBridge and
// Close queue a request and poke the worker's eventfd. The worker handles
// requests between two epoll_wait rounds, when no event of the round is
// still pending, so after it has acknowledged a removal it never touches
// those descriptors again and Close may close them.

// poller is the set of workers of an Engine.
type poller struct {
	log     *slog.Logger
	workers []*pollWorker
	next    int // round-robin, guarded by the Engine's mutex
	wg      sync.WaitGroup
}

// pollBridge is a bridge's registration with its worker.
type pollBridge struct {
	w     *pollWorker
	socks [4]pollSock
}

// pollSock is one socket in a worker's epoll set.
type pollSock struct {
	b       *Bridge
	in, out *leg
	rtcp    bool
	fd      int
	tok     int32 // index in the worker's socks, 0 = not registered
}

type pollReq struct {
	pb   *pollBridge
	add  bool
	stop bool
	done chan struct{} // closed once handled (removal, stop)
}

type pollWorker struct {
	log        *slog.Logger
	epfd, evfd int

	mu      sync.Mutex
	reqs    []pollReq
	stopped bool

	// Owned by the worker goroutine.
	socks []*pollSock // by epoll token; 0 is the eventfd
	free  []int32
	hdrs  [recvBatch]unix.Mmsghdr
	iovs  [recvBatch]unix.Iovec
	names [recvBatch]unix.RawSockaddrInet6
	bufs  [recvBatch][readBufSize]byte
}

func newPoller(log *slog.Logger, workers int) (*poller, error) {
	p := &poller{log: log}
	for range workers {
		w, err := newPollWorker(log)
		if err != nil {
			p.close()
			return nil, err
		}
		p.workers = append(p.workers, w)
		p.wg.Add(1)
		go w.run(&p.wg)
	}
	return p, nil
}

func newPollWorker(log *slog.Logger) (*pollWorker, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	evfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("eventfd", err)
	}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLET, Fd: 0}); err != nil {
		unix.Close(evfd)
		unix.Close(epfd)
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	w := &pollWorker{log: log, epfd: epfd, evfd: evfd, socks: []*pollSock{nil}}
	for i := range w.hdrs {
		w.iovs[i].Base = &w.bufs[i][0]
		w.iovs[i].SetLen(readBufSize)
		w.hdrs[i].Hdr.Name = (*byte)(unsafe.Pointer(&w.names[i]))
		w.hdrs[i].Hdr.Iov = &w.iovs[i]
		w.hdrs[i].Hdr.SetIovlen(1)
	}
	return w, nil
}

// add registers b's sockets with the next worker. It does not wait: the
// worker picks them up (and what already waits in them) within a round.
// Called with the Engine's mutex held, after b's legs and routes are set.
func (p *poller) add(b *Bridge) {
	w := p.workers[p.next%len(p.workers)]
	p.next++
	pb := &pollBridge{w: w}
	i := 0
	for _, l := range b.legs {
		out := b.legs[l.side.Other()]
		pb.socks[i] = pollSock{b: b, in: l, out: out, fd: l.rtp.(*rawConn).fd}
		pb.socks[i+1] = pollSock{b: b, in: l, out: out, rtcp: true, fd: l.rtcp.(*rawConn).fd}
		i += 2
	}
	b.poll = pb
	w.enqueue(pollReq{pb: pb, add: true})
}

// remove takes b's sockets out of their worker's epoll set and returns once
// the worker will not use them again (one epoll round at most).
func (p *poller) remove(b *Bridge) {
	pb := b.poll
	if pb == nil {
		return
	}
	done := make(chan struct{})
	if pb.w.enqueue(pollReq{pb: pb, done: done}) {
		<-done
	}
}

// close stops the workers. Every bridge has been removed.
func (p *poller) close() {
	for _, w := range p.workers {
		w.enqueue(pollReq{stop: true})
	}
	p.wg.Wait()
}

// enqueue queues r for the worker; false when the worker has stopped.
func (w *pollWorker) enqueue(r pollReq) bool {
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return false
	}
	wake := len(w.reqs) == 0
	w.reqs = append(w.reqs, r)
	w.mu.Unlock()
	if wake {
		one := [8]byte{1}
		if _, err := unix.Write(w.evfd, one[:]); err != nil && err != unix.EAGAIN {
			w.log.Error("media: waking relay worker", "err", err)
		}
	}
	return true
}

// run is the worker's loop. The worker's epoll descriptor is itself
// registered with the Go runtime's netpoller, so a worker with nothing to do
// parks like any goroutine blocked on a socket, and one wake-up serves every
// socket that became ready meanwhile. Everything else is non-blocking system
// calls made without entering the scheduler (RawSyscall).
func (w *pollWorker) run(wg *sync.WaitGroup) {
	defer wg.Done()
	defer w.shutdown()
	defer unix.Close(w.evfd)
	f := os.NewFile(uintptr(w.epfd), "epoll") // non-blocking: the netpoller takes it
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		panic(err) // an *os.File always has one
	}
	events := make([]unix.EpollEvent, 128)
	stop := false
	var werr error
	poll := func(fd uintptr) bool {
		for {
			r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_WAIT, fd, uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
			if e == unix.EINTR {
				continue
			}
			if e != 0 {
				werr = e
				return true
			}
			n := int(r)
			ctl := false
			for i := range n {
				if tok := events[i].Fd; tok != 0 {
					w.drain(w.socks[tok])
				} else {
					ctl = true
				}
			}
			if ctl && w.control() {
				stop = true
				return true
			}
			// The sockets are edge-triggered: what arrives from now on
			// makes the epoll descriptor readable again.
			if n < len(events) {
				return false
			}
		}
	}
	for !stop {
		if err := rc.Read(poll); err != nil {
			w.log.Error("media: relay worker stopped", "err", err)
			return
		}
		if werr != nil { // not seen; do not spin on it
			w.log.Error("media: epoll_wait", "err", werr)
			werr = nil
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// shutdown marks the worker stopped and releases whoever waits on a request
// it will not handle.
func (w *pollWorker) shutdown() {
	w.mu.Lock()
	w.stopped = true
	reqs := w.reqs
	w.reqs = nil
	w.mu.Unlock()
	for _, r := range reqs {
		if r.done != nil {
			close(r.done)
		}
	}
}

// drain relays what waits in s's socket, a batch at a time. A short batch
// means recvmmsg found the queue empty, so what arrives after it raises a
// new edge; the same holds for an error (say, a queued ICMP error).
func (w *pollWorker) drain(s *pollSock) {
	for errs := 0; ; {
		for i := range w.hdrs {
			w.hdrs[i].Hdr.Namelen = unix.SizeofSockaddrInet6
		}
		r, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&w.hdrs[0])), recvBatch, unix.MSG_DONTWAIT, 0, 0)
		if e != 0 {
			if e == unix.EAGAIN || errs == 3 {
				return
			}
			errs++ // a pending socket error, reported once: read on
			continue
		}
		n := int(r)
		for i := range n {
			src := fromRawSockaddr(&w.names[i])
			pkt := w.bufs[i][:w.hdrs[i].Len]
			if s.rtcp {
				s.b.onRTCP(s.in, s.out, pkt, src)
			} else {
				s.b.onRTP(s.in, s.out, pkt, src)
			}
		}
		if n < recvBatch {
			return
		}
	}
}

// control handles the queued requests. It reports whether the worker is to
// stop.
func (w *pollWorker) control() (stop bool) {
	var v [8]byte
	_, _ = unix.Read(w.evfd, v[:])
	w.mu.Lock()
	reqs := w.reqs
	w.reqs = nil
	for _, r := range reqs {
		stop = stop || r.stop
	}
	w.stopped = stop
	w.mu.Unlock()
	for _, r := range reqs {
		switch {
		case r.stop:
		case r.add:
			for i := range r.pb.socks {
				s := &r.pb.socks[i]
				s.tok = w.token(s)
				if err := unix.EpollCtl(w.epfd, unix.EPOLL_CTL_ADD, s.fd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLET, Fd: s.tok}); err != nil {
					w.log.Error("media: epoll_ctl add", "err", err)
				}
			}
		default:
			for i := range r.pb.socks {
				s := &r.pb.socks[i]
				if s.tok == 0 {
					continue
				}
				_ = unix.EpollCtl(w.epfd, unix.EPOLL_CTL_DEL, s.fd, nil)
				w.socks[s.tok] = nil
				w.free = append(w.free, s.tok)
				s.tok = 0
			}
		}
		if r.done != nil {
			close(r.done)
		}
	}
	return stop
}

// token returns a free epoll token for s.
func (w *pollWorker) token(s *pollSock) int32 {
	if n := len(w.free); n > 0 {
		t := w.free[n-1]
		w.free = w.free[:n-1]
		w.socks[t] = s
		return t
	}
	w.socks = append(w.socks, s)
	return int32(len(w.socks) - 1)
}

// rawConn is a non-blocking UDP socket of the epoll relay.
type rawConn struct {
	mu     sync.RWMutex // held for reading while sending, for writing by Close
	fd     int          // -1 once closed
	family int
	local  netip.AddrPort
}

// listenRaw binds a UDP socket the way portPool.listen does with package
// net: all interfaces of both families for an unspecified (or invalid)
// IPv6 bind address, else the given address's family only.
func listenRaw(bindIP netip.Addr, port int) (udpConn, error) {
	family, v6only, addr := unix.AF_INET6, false, netip.IPv6Unspecified()
	switch {
	case !bindIP.IsValid() || (bindIP.IsUnspecified() && bindIP.Is6()):
	case bindIP.Is6() && !bindIP.Is4In6():
		v6only, addr = true, bindIP
	default:
		family, addr = unix.AF_INET, bindIP.Unmap()
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err == unix.EAFNOSUPPORT && family == unix.AF_INET6 && !v6only {
		family, addr = unix.AF_INET, netip.IPv4Unspecified() // no IPv6 on this host
		fd, err = unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	}
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	var sa unix.Sockaddr
	if family == unix.AF_INET {
		sa = &unix.SockaddrInet4{Port: port, Addr: addr.As4()}
	} else {
		v := 0
		if v6only {
			v = 1
		}
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v); err != nil {
			unix.Close(fd)
			return nil, os.NewSyscallError("setsockopt", err)
		}
		sa6 := &unix.SockaddrInet6{Port: port, Addr: addr.As16()}
		if z := addr.Zone(); z != "" {
			if sa6.ZoneId = scopeID(z); sa6.ZoneId == 0 {
				unix.Close(fd)
				return nil, fmt.Errorf("media: bind address %v: unknown zone", addr)
			}
		}
		sa = sa6
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("bind", err)
	}
	return &rawConn{fd: fd, family: family, local: netip.AddrPortFrom(addr, uint16(port))}, nil
}

func (c *rawConn) localAddrPort() netip.AddrPort { return c.local }

// Close closes the socket. With the epoll relay the caller has removed it
// from its worker first.
func (c *rawConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fd < 0 {
		return net.ErrClosed
	}
	err := unix.Close(c.fd)
	c.fd = -1
	return err
}

// WriteToUDPAddrPort sends b to addr. IPv4 addresses go out mapped on an
// IPv6 socket, mapped addresses unmapped on an IPv4 one.
func (c *rawConn) WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	var sa unix.RawSockaddrInet6 // large enough for either family
	var salen uintptr
	ip := addr.Addr()
	port := addr.Port()
	pp := (*[2]byte)(unsafe.Pointer(&sa.Port)) // network byte order
	pp[0], pp[1] = byte(port>>8), byte(port)
	if c.family == unix.AF_INET {
		ip = ip.Unmap()
		if !ip.Is4() {
			return 0, &net.OpError{Op: "write", Net: "udp4", Addr: net.UDPAddrFromAddrPort(addr), Err: unix.EAFNOSUPPORT}
		}
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(&sa))
		sa4.Family = unix.AF_INET
		sa4.Addr = ip.As4()
		salen = unix.SizeofSockaddrInet4
	} else {
		if !ip.IsValid() {
			return 0, &net.OpError{Op: "write", Net: "udp", Err: unix.EINVAL}
		}
		sa.Family = unix.AF_INET6
		sa.Addr = ip.As16()
		if z := ip.Zone(); z != "" {
			sa.Scope_id = scopeID(z)
		}
		salen = unix.SizeofSockaddrInet6
	}
	if len(b) == 0 {
		return 0, nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.fd < 0 {
		return 0, net.ErrClosed
	}
	r, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(c.fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), 0, uintptr(unsafe.Pointer(&sa)), salen)
	if e != 0 {
		return 0, &net.OpError{Op: "write", Net: "udp", Addr: net.UDPAddrFromAddrPort(addr), Err: os.NewSyscallError("sendto", e)}
	}
	return int(r), nil
}

// fromRawSockaddr is the source address recvmmsg wrote, as package net
// reports it (an IPv4 peer of a dual-stack socket comes mapped).
func fromRawSockaddr(sa *unix.RawSockaddrInet6) netip.AddrPort {
	pp := (*[2]byte)(unsafe.Pointer(&sa.Port))
	port := uint16(pp[0])<<8 | uint16(pp[1])
	if sa.Family == unix.AF_INET {
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), port)
	}
	ip := netip.AddrFrom16(sa.Addr)
	if sa.Scope_id != 0 { // link-local: keep the interface (rare, so the allocation is fine)
		ip = ip.WithZone(strconv.FormatUint(uint64(sa.Scope_id), 10))
	}
	return netip.AddrPortFrom(ip, port)
}

// scopeID is the interface index of an IPv6 zone (a number or a name).
func scopeID(zone string) uint32 {
	if n, err := strconv.ParseUint(zone, 10, 32); err == nil {
		return uint32(n)
	}
	if ifi, err := net.InterfaceByName(zone); err == nil {
		return uint32(ifi.Index)
	}
	return 0
}
