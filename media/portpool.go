package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// portPool hands out RTP/RTCP port pairs from the configured range: RTP on
// an even port, RTCP on the odd port above it (RFC 3550 11). It walks the
// range round-robin so that a port just released is the last to be used
// again, and keeps released pairs in quarantine: packets of the old call that
// are still in flight must not reach the next one. Not safe for concurrent
// use; the Engine's mutex guards it.
type portPool struct {
	bindIP     netip.Addr
	first      int // first even RTP port
	pairs      int
	next       int         // index of the pair to try first
	inUse      []bool      // by pair index
	freeAt     []time.Time // by pair index: end of quarantine
	quarantine time.Duration
	raw        bool // raw non-blocking sockets for the epoll relay, not *net.UDPConn
}

func newPortPool(bindIP netip.Addr, min, max int, quarantine time.Duration) (*portPool, error) {
	if min < 1 || max > 65535 || min > max {
		return nil, fmt.Errorf("media: bad RTP port range %d-%d", min, max)
	}
	first := min + min%2
	pairs := (max - first + 1) / 2
	if pairs < 1 {
		return nil, fmt.Errorf("media: RTP port range %d-%d holds no even/odd pair", min, max)
	}
	return &portPool{
		bindIP:     bindIP,
		first:      first,
		pairs:      pairs,
		inUse:      make([]bool, pairs),
		freeAt:     make([]time.Time, pairs),
		quarantine: quarantine,
	}, nil
}

// alloc binds the next free pair. Pairs another process holds are skipped.
func (p *portPool) alloc(now time.Time) (rtp, rtcp udpConn, err error) {
	for range p.pairs {
		i := p.next
		p.next = (p.next + 1) % p.pairs
		if p.inUse[i] || now.Before(p.freeAt[i]) {
			continue
		}
		port := p.first + 2*i
		rtp, err := p.listen(port)
		if err != nil {
			continue
		}
		rtcp, err := p.listen(port + 1)
		if err != nil {
			rtp.Close()
			continue
		}
		p.inUse[i] = true
		return rtp, rtcp, nil
	}
	return nil, nil, ErrNoPorts
}

func (p *portPool) listen(port int) (udpConn, error) {
	if p.raw {
		return listenRaw(p.bindIP, port)
	}
	var c *net.UDPConn
	var err error
	if !p.bindIP.IsValid() || (p.bindIP.IsUnspecified() && p.bindIP.Is6()) {
		// All interfaces, both address families.
		c, err = net.ListenUDP("udp", &net.UDPAddr{Port: port})
	} else {
		network := "udp4"
		if p.bindIP.Is6() && !p.bindIP.Is4In6() {
			network = "udp6"
		}
		c, err = net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.bindIP.Unmap(), uint16(port))))
	}
	if err != nil {
		return nil, err
	}
	return goConn{c}, nil
}

// release puts the pair whose RTP port is port into quarantine. The caller
// has closed its sockets.
func (p *portPool) release(port int, now time.Time) error {
	i := (port - p.first) / 2
	if port < p.first || i >= p.pairs || (port-p.first)%2 != 0 || !p.inUse[i] {
		return errors.New("media: release of a port pair not in use")
	}
	p.inUse[i] = false
	p.freeAt[i] = now.Add(p.quarantine)
	return nil
}
