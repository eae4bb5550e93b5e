package intake

import (
	"bytes"
	"net/netip"
	"strconv"
	"strings"
)

// Stream cuts the messages of one TCP or TLS connection apart (RFC 3261
// 18.3: by Content-Length) and checks each. Feed it what the connection
// reads; Next returns what to do, one frame at a time. Not safe for
// concurrent use: one per connection, used by its reader.
type Stream struct {
	c   *Checker
	src netip.AddrPort
	in  []byte
}

// NewStream returns the framer of one connection from src (its answers
// stamp it on their top Via; invalid: unknown).
func (c *Checker) NewStream(src netip.AddrPort) *Stream { return &Stream{c: c, src: src} }

// Frame is one thing found in a stream.
type Frame struct {
	// Msg is a message that passed, in plain form, to hand on.
	Msg []byte
	// Rejected is a message that did not; its Reply (if any) goes back on
	// the connection, and with Close set the connection is closed after it.
	Rejected *Rejection
	// Pong: a CRLFCRLF keepalive (RFC 5626 3.5.1), answered with CRLF.
	Pong bool
}

// Feed adds bytes read from the connection.
func (s *Stream) Feed(p []byte) { s.in = append(s.in, p...) }

// Next returns the next frame, appending a passed message to dst; ok is
// false when more bytes are needed first.
func (s *Stream) Next(dst []byte) (f Frame, ok bool) {
	// Keepalives and the CRLFs that may precede a message (RFC 3261 7.5).
	lead := 0
	for lead < len(s.in) && (s.in[lead] == '\r' || s.in[lead] == '\n') {
		lead++
	}
	if lead > 0 {
		if bytes.HasPrefix(s.in, []byte("\r\n\r\n")) {
			s.consume(4)
			return Frame{Pong: true}, true
		}
		if lead == len(s.in) && lead < 4 {
			return Frame{}, false // perhaps the start of a ping
		}
		s.consume(lead)
	}
	if len(s.in) == 0 {
		return Frame{}, false
	}
	max := s.c.limits.MaxMessage
	end := headEnd(s.in)
	if end < 0 {
		if len(s.in) <= max {
			return Frame{}, false
		}
		// Headers longer than a whole message may be: answer if the
		// start and Via are there, and give up on the connection.
		f := &fault{code: 513, reason: "Message Too Large", label: "too_large", detail: "the headers are longer than the " + strconv.Itoa(max) + " bytes a message may have", close: true}
		return Frame{Rejected: s.c.checkHead(s.in, s.src, f)}, true
	}
	length, bad := s.c.contentLength(s.in[:end])
	if bad != "" {
		// Without a length there is no next message to find.
		f := &fault{code: 400, reason: "Bad Content-Length", label: "bad_content_length", detail: bad, close: true}
		if bad == twoLengths {
			f.reason, f.label = "Duplicate Content-Length", "duplicate_header"
		}
		return Frame{Rejected: s.c.checkHead(s.in[:end], s.src, f)}, true
	}
	if end+length > max {
		f := &fault{code: 513, reason: "Message Too Large", label: "too_large", detail: "the message is " + strconv.Itoa(end+length) + " bytes, more than the " + strconv.Itoa(max) + " accepted", close: true}
		return Frame{Rejected: s.c.checkHead(s.in[:end], s.src, f)}, true
	}
	if len(s.in) < end+length {
		return Frame{}, false
	}
	msg, rej := s.c.Check(s.in[:end+length], s.src, false, dst)
	s.consume(end + length)
	if rej != nil {
		return Frame{Rejected: rej}, true
	}
	return Frame{Msg: msg}, true
}

func (s *Stream) consume(n int) {
	rest := copy(s.in, s.in[n:])
	s.in = s.in[:rest]
	if cap(s.in) > 1<<17 && rest < 1<<12 {
		// Do not keep a large buffer of one big message for ever.
		s.in = append([]byte(nil), s.in...)
	}
}

// headEnd returns the index after the empty line that ends the headers
// (CRLF CRLF, or bare LFs), or -1.
func headEnd(b []byte) int {
	_, body, complete := splitHead(b)
	if !complete {
		return -1
	}
	return len(b) - len(body)
}

const twoLengths = "two different Content-Length values"

// contentLength finds the Content-Length of a header section for framing;
// bad says why it cannot be used (not a number, two different values).
// Missing is 0: Check then refuses a request without it.
func (c *Checker) contentLength(head []byte) (n int, bad string) {
	n = -1
	lines, _ := c.lines(head) // folded lines joined, as Check reads them
	for _, line := range lines[1:] {
		name, value, ok := strings.Cut(line, ":")
		if k, _ := kindOf(trimRightWSP(name)); !ok || k != kindContentLength {
			continue
		}
		value = trimWSP(value)
		if !isDigits(value) || len(value) > 9 {
			return 0, "Content-Length " + strconv.Quote(truncate(value, 16)) + " is not a number"
		}
		v, _ := strconv.Atoi(value)
		if n >= 0 && v != n {
			return 0, twoLengths
		}
		n = v
	}
	return max(n, 0), ""
}

// checkHead reads what it can of a message's headers for the answer to f.
func (c *Checker) checkHead(head []byte, src netip.AddrPort, f *fault) *Rejection {
	m := newMessage(src)
	lines, _ := c.lines(head)
	if len(lines) > 0 {
		_ = m.startLine(lines[0], c.limits.MaxURI)
		_ = c.readHeaders(&m, lines[1:])
		m.readTopVia()
	}
	return c.reject(&m, f)
}

// TooLarge is the refusal of a message that passed but cannot be handed on
// whole (its plain form outgrew the reader's buffer): 513, as any message
// over the limit.
func (c *Checker) TooLarge(data []byte, src netip.AddrPort) *Rejection {
	data = bytes.TrimLeft(data, "\r\n")
	_, body, _ := splitHead(data)
	f := &fault{code: 513, reason: "Message Too Large", label: "too_large", detail: "the message is too large to be handled"}
	return c.checkHead(data[:len(data)-len(body)], src, f)
}
