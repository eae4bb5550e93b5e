package media

import (
	"net"
	"net/netip"
)

// udpConn is one bound RTP or RTCP socket of a bridge. With the goroutine
// relay it is a goConn; with the epoll relay (Linux) a raw non-blocking
// socket that the Go runtime's netpoller never sees.
type udpConn interface {
	// WriteToUDPAddrPort sends one datagram. It is safe to call from any
	// goroutine until Close, and returns net.ErrClosed after.
	WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error)
	localAddrPort() netip.AddrPort
	Close() error
}

// goConn is a socket read by a goroutine of its own (Config.GoroutineRelay).
type goConn struct{ *net.UDPConn }

func (c goConn) localAddrPort() netip.AddrPort {
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}
