package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
)

// Default ports (RFC 3261 19.1.2).
const (
	DefaultPort    = 5060
	DefaultTLSPort = 5061
)

// Listener is one socket the gateway listens on.
type Listener struct {
	// Transport is "udp", "tcp" or "tls".
	Transport string
	// Address is host:port to bind, e.g. "0.0.0.0:5060" or "[::]:5060". A
	// missing port means 5060 (5061 for tls); port 0 picks a free one (tests;
	// Server.Addrs tells which).
	Address string
}

func (l Listener) String() string { return l.Transport + " " + l.Address }

// ErrTransportNotSupported is returned by NewServer for a transport the
// gateway knows about but does not serve yet (ws, wss).
var ErrTransportNotSupported = errors.New("sip: transport not supported yet")

// normalize checks l and fills in defaults.
func (l Listener) normalize() (Listener, error) {
	l.Transport = strings.ToLower(strings.TrimSpace(l.Transport))
	switch l.Transport {
	case "udp", "tcp", "tls":
	case "ws", "wss":
		return l, fmt.Errorf("%w: %s (listener %s)", ErrTransportNotSupported, l.Transport, l.Address)
	default:
		return l, fmt.Errorf("sip: listener %q: unknown transport %q (want udp, tcp or tls)", l.Address, l.Transport)
	}
	host, port, err := net.SplitHostPort(l.Address)
	if err != nil {
		// No port: the whole address is the host.
		host = strings.TrimSuffix(strings.TrimPrefix(l.Address, "["), "]")
		port = strconv.Itoa(DefaultPort)
		if l.Transport == "tls" {
			port = strconv.Itoa(DefaultTLSPort)
		}
	}
	if host != "" && net.ParseIP(host) == nil {
		// A name would resolve once at bind time; an IP is what operators
		// mean and what Via/Contact need.
		return l, fmt.Errorf("sip: %s listener %q: host must be an IP address", l.Transport, l.Address)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return l, fmt.Errorf("sip: %s listener %q: bad port", l.Transport, l.Address)
	}
	l.Address = net.JoinHostPort(host, port)
	return l, nil
}

// boundListener is a bound socket waiting to be served.
type boundListener struct {
	Listener // Address is the real bound address (port 0 resolved)

	packet net.PacketConn // udp
	stream net.Listener   // tcp, tls (already wrapped in TLS)

	// serving is closed when sipgo first reads or accepts on the socket.
	// By then its UDP transport has put the socket in its connection pool,
	// which outgoing requests need (clientOptions); before, a request bound
	// to the listen address would try to bind it a second time.
	serving chan struct{}
}

// bind opens the socket for l. Errors name the transport and address, and
// wrap the system error (errors.Is(err, syscall.EADDRINUSE) works).
func bind(ctx context.Context, l Listener, tlsConf *tls.Config, e *edge) (*boundListener, error) {
	var lc net.ListenConfig
	b := &boundListener{Listener: l, serving: make(chan struct{})}
	signal := sync.OnceFunc(func() { close(b.serving) })
	var err error
	switch l.Transport {
	case "udp":
		var pc net.PacketConn
		pc, err = lc.ListenPacket(ctx, "udp", l.Address)
		if err == nil {
			b.Address = pc.LocalAddr().String()
			b.packet = &servingPacketConn{PacketConn: pc, signal: signal, edge: e, buf: make([]byte, maxDatagram)}
		}
	case "tcp", "tls":
		var ln net.Listener
		ln, err = lc.Listen(ctx, "tcp", l.Address)
		if err == nil {
			b.Address = ln.Addr().String()
			if l.Transport == "tls" {
				ln = tls.NewListener(ln, tlsConf)
			}
			b.stream = newServingListener(ln, signal, e, l.Transport)
		}
	default:
		err = fmt.Errorf("%w: %s", ErrTransportNotSupported, l.Transport)
	}
	if err != nil {
		// net.OpError would say "listen tcp" for a tls listener; name ours.
		var op *net.OpError
		if errors.As(err, &op) && op.Err != nil {
			err = op.Err
		}
		return nil, fmt.Errorf("sip: cannot listen on %s %s: %w", l.Transport, l.Address, err)
	}
	return b, nil
}

// serve hands the socket to sipgo's transport layer and blocks until the
// socket is closed. The socket must be created by us (not by
// sipgo.ListenAndServe) so that port 0 is known and Run owns its lifetime.
func (b *boundListener) serve(srv *sipgo.Server) error {
	switch b.Transport {
	case "udp":
		return srv.ServeUDP(b.packet)
	case "tls":
		return srv.ServeTLS(b.stream)
	default:
		return srv.ServeTCP(b.stream)
	}
}

// servingPacketConn (and servingListener, streamconn.go) call signal when
// sipgo starts reading from them, and put what is read through the intake
// check (edge.go): sipgo reads only messages that passed. One reader (sipgo's
// loop) calls ReadFrom, so buf needs no lock.
type servingPacketConn struct {
	net.PacketConn
	signal func()
	edge   *edge
	buf    []byte
}

// maxDatagram holds any UDP payload (65,507 bytes over IPv4) and one more
// byte, so nothing is cut short unseen.
const maxDatagram = 65536

func (c *servingPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	c.signal()
	for {
		n, addr, err := c.PacketConn.ReadFrom(c.buf)
		if err != nil {
			return n, addr, err
		}
		if out, ok := c.edge.datagram(c.PacketConn, c.buf[:n], addr, p[:0]); ok {
			return len(out), addr, nil
		}
	}
}

func (b *boundListener) close() error {
	if b.packet != nil {
		return b.packet.Close()
	}
	return b.stream.Close()
}

// clientOptions returns the options of the sipgo client that sends requests
// out of this listener.
//
// UDP: requests must leave from the listening socket (sipgo
// WithClientConnectionAddr), else they leave from an ephemeral port and the
// trunk's answers and in-dialog requests go to a port nobody reads; many
// trunks also allow-list the source port.
//
// TCP/TLS: no connection address. An outgoing TCP connection cannot bind the
// port a listener holds, and sipgo v1.7 looks a forced local address up in the
// pool of accepted connections, which would send the request down whichever
// trunk connected last. Connections are reused by remote address instead, and
// Via sent-by (host and port below) tells the peer where to connect back.
func (b *boundListener) clientOptions(advertise string) ([]sipgo.ClientOption, error) {
	host, portStr, err := net.SplitHostPort(b.Address)
	if err != nil {
		return nil, err
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, err
	}
	if advertise != "" {
		host = advertise
	}
	opts := []sipgo.ClientOption{sipgo.WithClientHostname(host), sipgo.WithClientPort(port)}
	if b.Transport == "udp" {
		opts = append(opts, sipgo.WithClientConnectionAddr(b.Address))
	}
	return opts, nil
}

// sipgo refuses to send a UDP message larger than its UDPMTUSize less 200
// bytes (1,300 by default). RFC 3261 18.1.1 would move such a request to
// TCP; a phone registered over UDP cannot be reached that way, so the
// gateway sends larger datagrams (IP fragments them) rather than fail a
// call whose SDP or route set is long, and answers requests as large as it
// accepts (a request that crossed many proxies has as many Via headers in
// its responses, RFC 3261 18.2.2): up to the largest UDP payload. sipgo reads
// into buffers of TransportBufferReadSize, which must hold any datagram the
// intake passes on.
func init() {
	gosip.UDPMTUSize = 65507 + 200
	gosip.TransportBufferReadSize = 65535
}
