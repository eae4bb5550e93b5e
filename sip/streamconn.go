package sip

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/teamline/teamline/sip/intake"
)

// Limits on accepted TCP and TLS connections. sipgo v1.7 reads an accepted
// connection without any deadline and accepts without limit, so a peer that
// connects and goes quiet (or sends half a message, slowloris) holds a file
// descriptor and two goroutines for ever, enough of them exhaust the
// process's descriptors (the HTTP API and the database need them too), and a
// peer that stops reading blocks our response write, and with it the handler
// and shutdown (which waits for handlers), for ever. Variables for tests.
var (
	// streamIdleTimeout closes a connection that sends nothing for this
	// long (at least 7/8 of it, see rearm). Even that is above the 95-120 s
	// between the CRLF keepalives of RFC 5626 4.4.1 and the usual 30-60 s
	// OPTIONS pings of trunks.
	streamIdleTimeout = 3 * time.Minute
	// streamWriteTimeout closes a connection whose peer does not take a
	// response within this long: it has stopped reading.
	streamWriteTimeout = 10 * time.Second
	// maxStreamConns bounds the open accepted connections per listener;
	// past it new connections are closed at once.
	maxStreamConns = 1024
)

// servingListener calls signal when sipgo starts accepting, and applies the
// limits above to what it accepts.
type servingListener struct {
	net.Listener
	signal    func()
	open      *atomic.Int64 // connections accepted and not yet closed
	edge      *edge
	transport string
}

func newServingListener(ln net.Listener, signal func(), e *edge, transport string) servingListener {
	return servingListener{Listener: ln, signal: signal, open: new(atomic.Int64), edge: e, transport: transport}
}

func (l servingListener) Accept() (net.Conn, error) {
	l.signal()
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.open.Add(1) > int64(maxStreamConns) {
			l.open.Add(-1)
			_ = c.Close()
			continue
		}
		sc := newStreamConn(c, func() { l.open.Add(-1) })
		sc.edge, sc.transport = l.edge, l.transport
		if l.edge != nil {
			sc.stream = l.edge.check.NewStream(addrPort(c.RemoteAddr()))
		}
		return sc, nil
	}
}

// streamConn is an accepted connection with an idle read deadline and a
// write deadline. Either running out ends the connection: a read reports
// io.EOF (sipgo then closes and forgets the connection quietly; a peer going
// quiet is routine), a write closes the connection, since a partly written
// message leaves the stream unusable.
//
// Reads go through the intake check (edge.go): the connection's bytes are
// cut into messages by Content-Length (RFC 3261 18.3), each is checked, and
// sipgo reads only the messages that passed, whole and in plain form.
// Refused ones are answered on the connection; keepalive pings (CRLFCRLF,
// RFC 5626 3.5.1) are answered with CRLF here.
type streamConn struct {
	net.Conn
	release   func()
	closeOnce sync.Once
	readBy    rearm
	writeBy   rearm

	edge      *edge
	transport string
	stream    *intake.Stream // nil: no intake (tests of the limits alone)
	raw       []byte         // what one read of the socket brings
	out       []byte         // the plain form of the message being handed on
	pending   []byte         // the part of out sipgo has not read yet
	last      bool           // the stream cannot go on: EOF once pending is read
}

func newStreamConn(c net.Conn, release func()) *streamConn {
	return &streamConn{Conn: c, release: release,
		readBy:  rearm{period: streamIdleTimeout, set: c.SetReadDeadline},
		writeBy: rearm{period: streamWriteTimeout, set: c.SetWriteDeadline}}
}

func (c *streamConn) Read(b []byte) (int, error) {
	if c.stream == nil {
		return c.read(b)
	}
	for {
		if len(c.pending) > 0 {
			n := copy(b, c.pending)
			c.pending = c.pending[n:]
			return n, nil
		}
		if c.last {
			return 0, io.EOF
		}
		f, ok := c.stream.Next(c.out[:0])
		switch {
		case !ok:
			if c.raw == nil {
				c.raw = make([]byte, 16<<10)
			}
			n, err := c.read(c.raw)
			if n > 0 {
				c.stream.Feed(c.raw[:n])
			}
			if err != nil {
				return 0, err
			}
		case f.Pong:
			if _, err := c.Write([]byte("\r\n")); err != nil {
				return 0, io.EOF
			}
		case f.Rejected != nil:
			c.edge.refused(f.Rejected, c.transport, c.RemoteAddr())
			if f.Rejected.Reply != nil {
				if _, err := c.Write(f.Rejected.Reply); err != nil {
					return 0, io.EOF
				}
			}
			c.last = f.Rejected.Close
		default:
			c.out = f.Msg
			c.pending = f.Msg
		}
	}
}

// read reads the socket, with the idle deadline.
func (c *streamConn) read(b []byte) (int, error) {
	if err := c.readBy.arm(); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(b)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		return n, io.EOF
	}
	return n, err
}

func (c *streamConn) Write(b []byte) (int, error) {
	if err := c.writeBy.arm(); err != nil {
		return 0, err
	}
	n, err := c.Conn.Write(b)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		_ = c.Close()
	}
	return n, err
}

func (c *streamConn) Close() error {
	err := c.Conn.Close()
	c.closeOnce.Do(c.release)
	return err
}

// rearm keeps a connection deadline about period ahead. Moving a deadline
// is a runtime timer update (140 ns, BenchmarkArmReadDeadline), and doing it
// on every message costs more than the rest of the wrapper; so the deadline
// moves only once an eighth of the period has gone by. A connection
// therefore gets between 7/8 of the period and the whole period. Safe for
// concurrent writers.
type rearm struct {
	period time.Duration
	set    func(time.Time) error
	until  atomic.Int64 // unix nanoseconds of the deadline last set
}

func (r *rearm) arm() error {
	now := time.Now()
	if time.Duration(r.until.Load()-now.UnixNano()) > r.period-r.period/8 {
		return nil
	}
	t := now.Add(r.period)
	r.until.Store(t.UnixNano())
	return r.set(t)
}
