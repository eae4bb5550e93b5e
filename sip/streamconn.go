package sip

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
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
	signal func()
	open   *atomic.Int64 // connections accepted and not yet closed
}

func newServingListener(ln net.Listener, signal func()) servingListener {
	return servingListener{Listener: ln, signal: signal, open: new(atomic.Int64)}
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
		return newStreamConn(c, func() { l.open.Add(-1) }), nil
	}
}

// streamConn is an accepted connection with an idle read deadline and a
// write deadline. Either running out ends the connection: a read reports
// io.EOF (sipgo then closes and forgets the connection quietly; a peer going
// quiet is routine), a write closes the connection, since a partly written
// message leaves the stream unusable.
type streamConn struct {
	net.Conn
	release   func()
	closeOnce sync.Once
	readBy    rearm
	writeBy   rearm
}

func newStreamConn(c net.Conn, release func()) *streamConn {
	return &streamConn{Conn: c, release: release,
		readBy:  rearm{period: streamIdleTimeout, set: c.SetReadDeadline},
		writeBy: rearm{period: streamWriteTimeout, set: c.SetWriteDeadline}}
}

func (c *streamConn) Read(b []byte) (int, error) {
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
