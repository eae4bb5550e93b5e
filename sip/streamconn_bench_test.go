package sip

import (
	"io"
	"net"
	"testing"
	"time"
)

// BenchmarkStreamConnRead measures one small read through the idle-deadline
// wrapper against the bare connection, over loopback TCP: the cost the
// wrapper adds to every SIP message received over TCP/TLS.
func BenchmarkStreamConnRead(b *testing.B) {
	for _, tc := range []struct {
		name string
		wrap func(net.Conn) net.Conn
	}{
		{"bare", func(c net.Conn) net.Conn { return c }},
		{"streamConn", func(c net.Conn) net.Conn { return newStreamConn(c, func() {}) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				msg := make([]byte, 512)
				for {
					if _, err := c.Write(msg); err != nil {
						return
					}
				}
			}()
			raw, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			c := tc.wrap(raw)
			defer c.Close()
			buf := make([]byte, 512)
			b.SetBytes(512)
			for b.Loop() {
				if _, err := io.ReadFull(c, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkArmReadDeadline is the wrapper's own work per read: reading the
// clock and moving the connection's read deadline.
func BenchmarkArmReadDeadline(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			defer c.Close()
			_, _ = io.Copy(io.Discard, c)
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	for b.Loop() {
		if err := c.SetReadDeadline(time.Now().Add(streamIdleTimeout)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRearm is what the wrapper does per read now: read the clock and,
// once an eighth of the idle period has passed, move the deadline.
func BenchmarkRearm(b *testing.B) {
	c := newStreamConn(nopConn{}, func() {})
	for b.Loop() {
		if err := c.readBy.arm(); err != nil {
			b.Fatal(err)
		}
	}
}

type nopConn struct{ net.Conn }

func (nopConn) SetReadDeadline(time.Time) error  { return nil }
func (nopConn) SetWriteDeadline(time.Time) error { return nil }
