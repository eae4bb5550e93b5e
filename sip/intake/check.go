package intake

import (
	"bytes"
	"net/netip"
	"strconv"
	"strings"
)

// Limits bound what Check accepts (config sip.limits).
type Limits struct {
	MaxMessage     int // start line, headers and body together
	MaxHeaders     int // header lines
	MaxHeaderBytes int // one header line after unfolding
	MaxBody        int
	MaxURI         int // the Request-URI
}

// DefaultLimits are the shipped defaults: the largest UDP payload, and
// room for a request that crossed many proxies.
func DefaultLimits() Limits {
	return Limits{MaxMessage: 65507, MaxHeaders: 512, MaxHeaderBytes: 16384, MaxBody: 32768, MaxURI: 1024}
}

// Rejection is a message Check refused.
type Rejection struct {
	// Code, Reason and Detail are the answer: status, reason phrase and
	// the Warning text. Code is 0 when the message is dropped.
	Code   int
	Reason string
	Detail string
	// Label names the fault for metrics and logs, from a fixed set.
	Label string
	// Reply is the response to send, nil when nothing can or may be
	// answered (responses, ACKs, no readable Via).
	Reply []byte
	// RPort and ViaPort say where a UDP reply goes (RFC 3261 18.2.2, RFC
	// 3581): the source address, at the source port when RPort, else at
	// ViaPort.
	RPort   bool
	ViaPort int
	// Close: a stream cannot be framed past this message.
	Close bool
}

// Action is "answered" or "dropped", for the metric.
func (r *Rejection) Action() string {
	if r.Reply != nil {
		return "answered"
	}
	return "dropped"
}

// Checker checks messages; it is safe for concurrent use.
type Checker struct {
	limits Limits
	server string // Server header of replies
}

// NewChecker returns a Checker with limits l (zero fields take the
// defaults) whose replies carry server as their Server header.
func NewChecker(l Limits, server string) *Checker {
	d := DefaultLimits()
	if l.MaxMessage <= 0 {
		l.MaxMessage = d.MaxMessage
	}
	if l.MaxHeaders <= 0 {
		l.MaxHeaders = d.MaxHeaders
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = d.MaxHeaderBytes
	}
	if l.MaxBody <= 0 {
		l.MaxBody = d.MaxBody
	}
	if l.MaxURI <= 0 {
		l.MaxURI = d.MaxURI
	}
	if server == "" {
		server = "Teamline"
	}
	return &Checker{limits: l, server: server}
}

// header is one header line of a message, unfolded.
type header struct {
	kind  kind
	name  string // as written when kind is other, else the full name
	value string // trimmed; lists in plain form are NUL-joined
	plain bool   // value has been made plain
}

// message is what Check learns of one message.
type message struct {
	request  bool
	method   string // request method
	uri      string // Request-URI
	version  string
	code     int // response status
	reason   string
	headers  []header
	count    [kindCount]int
	first    [kindCount]int // index in headers of the first of each kind, -1 none
	body     []byte
	topVia   via
	topViaOK bool
	topPlain string         // the top via-parm in plain form
	topRest  []string       // the other values of the top Via line, as they came
	src      netip.AddrPort // where the message came from; invalid: unknown
}

func newMessage(src netip.AddrPort) message {
	m := message{src: src}
	for i := range m.first {
		m.first[i] = -1
	}
	return m
}

// fault is a refusal before it has a reply.
type fault struct {
	code   int
	reason string
	detail string
	label  string
	close  bool
}

func newFault(code int, reason, label, detail string) *fault {
	return &fault{code: code, reason: reason, label: label, detail: detail}
}

// Check checks one message. datagram is true for UDP, where the body is
// the rest of the datagram unless Content-Length says less; for streams
// data must be exactly one framed message (Framer). On success it returns
// the message in plain form, appended to dst; a nil result with a nil
// Rejection means there was nothing but blank lines (a keepalive). src, the
// address the message came from, is stamped on the answer's top Via.
func (c *Checker) Check(data []byte, src netip.AddrPort, datagram bool, dst []byte) ([]byte, *Rejection) {
	size := len(data)
	// RFC 3261 7.5: CRLFs before the start line are ignored (over UDP as
	// over streams: some stacks send a keepalive and a request together).
	data = bytes.TrimLeft(data, "\r\n")
	if len(data) == 0 {
		return nil, nil
	}
	m := newMessage(src)
	f := c.parse(&m, data, datagram)
	if f == nil && size > c.limits.MaxMessage {
		f = newFault(513, "Message Too Large", "too_large", "the message is "+strconv.Itoa(size)+" bytes, more than the "+strconv.Itoa(c.limits.MaxMessage)+" accepted")
	}
	if f == nil {
		return c.write(&m, dst), nil
	}
	return nil, c.reject(&m, f)
}

// reject turns f into a Rejection, with a reply when one may be sent: to a
// request other than ACK whose top Via can be read.
func (c *Checker) reject(m *message, f *fault) *Rejection {
	r := &Rejection{Code: f.code, Reason: f.reason, Detail: f.detail, Label: f.label, Close: f.close}
	switch {
	case !m.request:
		r.Code = 0
		r.Label = "response_" + r.Label
	case m.method == "ACK":
		r.Code = 0
	case !m.topViaOK:
		r.Code = 0
		if r.Label != "no_via" {
			r.Label = "no_via"
			r.Detail = "no Via to answer to (" + f.detail + ")"
		}
	default:
		r.Reply = c.reply(m, f)
		r.RPort, r.ViaPort = m.topVia.rport, m.topVia.port
		if r.ViaPort == 0 {
			r.ViaPort = 5060
		}
	}
	return r
}

// parse fills m from data and returns the first fault, in the order RFC
// 3261 8.2 and 16.3 look at a request: the start line, then the headers
// every request needs, then the values.
func (c *Checker) parse(m *message, data []byte, datagram bool) *fault {
	head, body, complete := splitHead(data)
	if !complete && !datagram {
		return &fault{code: 400, reason: "Bad Request", label: "truncated", detail: "no empty line after the headers", close: true}
	}
	lines, lineFault := c.lines(head)
	if len(lines) == 0 {
		return newFault(400, "Bad Request", "empty", "no start line")
	}
	startFault := m.startLine(lines[0], c.limits.MaxURI)
	if startFault != nil && startFault.label == "not_sip" {
		// No SIP start line: answered if a Via says where to (a broken
		// request), else dropped (another protocol); a stream that
		// carries it is closed either way.
		startFault.close = !datagram
	}
	hf := c.readHeaders(m, lines[1:])
	// The top Via is read first of all: without it nothing can be answered.
	m.readTopVia()
	switch {
	case startFault != nil:
		return startFault
	case lineFault != nil:
		return lineFault
	case hf != nil:
		return hf
	}
	if f := m.required(); f != nil {
		return f
	}
	if f := m.values(); f != nil {
		return f
	}
	return m.readBody(body, complete, datagram, c.limits.MaxBody)
}

// splitHead splits data at the empty line that ends the headers; a bare LF
// ends a line as CRLF does. complete is false when there is no empty line.
func splitHead(data []byte) (head, body []byte, complete bool) {
	for i := 0; i < len(data); i++ {
		if data[i] != '\n' {
			continue
		}
		j := i + 1
		if j < len(data) && data[j] == '\r' {
			j++
		}
		if j < len(data) && data[j] == '\n' {
			return data[:i+1], data[j+1:], true
		}
	}
	// A datagram whose headers end at its end, without the empty line:
	// taken as a message without body.
	return data, nil, false
}

// lines splits the header section into lines, joining folded ones (RFC 3261
// 7.3.1). The first fault of any line (a control character, an overlong or
// missing name) is returned beside the lines, so that the start line and
// Via can still be read for the answer.
func (c *Checker) lines(head []byte) ([]string, *fault) {
	text := string(head)
	out := make([]string, 0, 16)
	var f *fault
	for len(text) > 0 {
		i := strings.IndexByte(text, '\n')
		var line string
		if i < 0 {
			line, text = text, ""
		} else {
			line, text = text[:i], text[i+1:]
		}
		line = strings.TrimSuffix(line, "\r")
		if len(out) > 0 && line != "" && (line[0] == ' ' || line[0] == '\t') {
			// A continuation: LWS, which is one SP to the value.
			prev := trimRightWSP(out[len(out)-1])
			out[len(out)-1] = prev + " " + trimLeftWSP(line)
		} else {
			out = append(out, line)
		}
	}
	if len(out)-1 > c.limits.MaxHeaders {
		return out, newFault(400, "Too Many Headers", "too_many_headers",
			strconv.Itoa(len(out)-1)+" header lines, more than the "+strconv.Itoa(c.limits.MaxHeaders)+" accepted")
	}
	for n, line := range out {
		if i := controlByte(line); i >= 0 {
			where := "the start line"
			if n > 0 {
				where = "header " + quoteName(line)
			}
			f = newFault(400, "Control Character", "control_character", "control character 0x"+strconv.FormatUint(uint64(line[i]), 16)+" in "+where)
			break
		}
		if n > 0 && len(line) > c.limits.MaxHeaderBytes && f == nil {
			f = newFault(400, "Header Too Long", "header_too_long", "header "+quoteName(line)+" is "+strconv.Itoa(len(line))+" bytes, more than the "+strconv.Itoa(c.limits.MaxHeaderBytes)+" accepted")
		}
	}
	return out, f
}

// controlByte returns the index of the first control character of s other
// than HTAB (RFC 3261 25.1: no CTL outside quoted text, and not even there
// but HTAB), or -1.
func controlByte(s string) int {
	for i := 0; i < len(s); i++ {
		if b := s[i]; (b < 0x20 && b != '\t') || b == 0x7f {
			return i
		}
	}
	return -1
}

// quoteName is the header name of line for a Warning, shortened and safe.
func quoteName(line string) string {
	name, _, _ := strings.Cut(line, ":")
	name = strings.TrimSpace(name)
	if len(name) > 32 {
		name = name[:32]
	}
	if !IsToken(name) {
		return "(unnamed)"
	}
	return name
}

// containsSIPSlash reports whether line holds "SIP/" in any case.
func containsSIPSlash(line string) bool {
	for i := 0; i+4 <= len(line); i++ {
		if line[i]|0x20 == 's' && line[i+1]|0x20 == 'i' && line[i+2]|0x20 == 'p' && line[i+3] == '/' {
			return true
		}
	}
	return false
}

// startLine reads the request or status line (RFC 3261 7.1, 7.2).
func (m *message) startLine(line string, maxURI int) *fault {
	if len(line) >= 4 && strings.EqualFold(line[:4], "SIP/") {
		return m.statusLine(line)
	}
	m.request = true
	if !containsSIPSlash(line) {
		return newFault(400, "Bad Request", "not_sip", "not a SIP message")
	}
	method, rest, ok := strings.Cut(line, " ")
	if !ok || !IsToken(method) {
		m.method = method
		return newFault(400, "Bad Request Line", "bad_request_line", "the request line is not METHOD SP Request-URI SP SIP/2.0")
	}
	m.method = method
	if f := checkMethodCase(method); f != nil {
		return f
	}
	uri, version, ok := strings.Cut(rest, " ")
	if !ok || hasAny(version, wsp) || uri == "" || hasAny(uri, wsp) {
		return newFault(400, "Bad Request Line", "bad_request_line", "the request line is not METHOD SP Request-URI SP SIP/2.0 (one space apart, none at the end)")
	}
	m.uri = uri
	if f := checkVersion(version); f != nil {
		return f
	}
	m.version = "SIP/2.0"
	if len(uri) > maxURI {
		return newFault(414, "Request-URI Too Long", "uri_too_long", "the Request-URI is "+strconv.Itoa(len(uri))+" bytes, more than the "+strconv.Itoa(maxURI)+" accepted")
	}
	return checkRequestURI(uri)
}

// standardMethods are the methods of RFC 3261 and its extensions.
var standardMethods = []string{"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "INFO", "MESSAGE",
	"SUBSCRIBE", "NOTIFY", "PRACK", "UPDATE", "REFER", "PUBLISH"}

// checkMethodCase refuses a method that is a standard one in another case
// ("options"): method names are case-sensitive (RFC 3261 7.1), so it is an
// unknown method (501, RFC 3261 21.5.2), and the SIP stack behind, which
// upper-cases methods, would take it for the standard one.
func checkMethodCase(method string) *fault {
	for _, std := range standardMethods {
		if len(method) == len(std) && method != std && strings.EqualFold(method, std) {
			return newFault(501, "Not Implemented", "unknown_method", "method names are case-sensitive: "+method+" is not "+std)
		}
	}
	return nil
}

// checkVersion accepts SIP/2.0 in any case (RFC 3261 7.1: the version is
// case-insensitive); another version is 505, anything else 400.
func checkVersion(v string) *fault {
	if strings.EqualFold(v, "SIP/2.0") {
		return nil
	}
	if len(v) > 4 && strings.EqualFold(v[:4], "SIP/") {
		major, minor, ok := strings.Cut(v[4:], ".")
		if ok && isDigits(major) && isDigits(minor) {
			return newFault(505, "Version Not Supported", "bad_version", "SIP version "+v[4:]+" is not supported: only 2.0")
		}
	}
	return newFault(400, "Bad Request Line", "bad_request_line", "no SIP version at the end of the request line")
}

// statusLine reads a response's status line; a bad one is dropped anyway.
func (m *message) statusLine(line string) *fault {
	version, rest, ok := strings.Cut(line, " ")
	if !ok {
		return newFault(400, "Bad Status Line", "bad_status_line", "no status code")
	}
	if !strings.EqualFold(version, "SIP/2.0") {
		return newFault(505, "Version Not Supported", "bad_version", "response in "+version)
	}
	code, reason, _ := strings.Cut(rest, " ")
	n, err := strconv.Atoi(code)
	if len(code) != 3 || err != nil || n < 100 || n > 699 {
		return newFault(400, "Bad Status Line", "bad_status_line", "status code "+code)
	}
	m.version, m.code, m.reason = "SIP/2.0", n, reason
	return nil
}

// readHeaders sorts the header lines by kind. A line without a name and
// colon is a fault; the rest is still read (for the answer's Via).
func (c *Checker) readHeaders(m *message, lines []string) *fault {
	var f *fault
	m.headers = make([]header, 0, len(lines))
	for _, line := range lines {
		name, value, ok := strings.Cut(line, ":")
		name = trimRightWSP(name)
		if !ok || !IsToken(name) {
			if f == nil {
				f = newFault(400, "Bad Header", "bad_header", "a header line without a name and colon: "+quoteName(line))
			}
			continue
		}
		k, full := kindOf(name)
		if k == kindOther {
			full = name
		}
		i := len(m.headers)
		m.headers = append(m.headers, header{kind: k, name: full, value: trimWSP(value)})
		if m.first[k] < 0 {
			m.first[k] = i
		}
		m.count[k]++
	}
	return f
}

// readTopVia reads the first Via, where an answer goes.
func (m *message) readTopVia() {
	i := m.first[kindVia]
	if i < 0 {
		return
	}
	vs, err := splitList(m.headers[i].value)
	if err != nil || len(vs) == 0 {
		return
	}
	v, plain, err := plainVia(vs[0], nil)
	if err != nil {
		return
	}
	m.topVia, m.topViaOK = v, true
	m.topPlain, m.topRest = string(plain), vs[1:]
}

// required checks the headers every message needs exactly once (RFC 3261
// 8.1.1, 20), and the headers that may appear only once.
func (m *message) required() *fault {
	if m.count[kindVia] == 0 {
		return newFault(400, "Missing Via", "no_via", "no Via header")
	}
	if !m.topViaOK {
		return newFault(400, "Bad Via", "no_via", "the top Via cannot be read")
	}
	for _, k := range []kind{kindCallID, kindCSeq, kindFrom, kindTo} {
		switch m.count[k] {
		case 0:
			return newFault(400, "Missing "+kindNames[k], "missing_header", "no "+kindNames[k]+" header")
		case 1:
		default:
			return newFault(400, "Duplicate "+kindNames[k], "duplicate_header", kindNames[k]+" given "+strconv.Itoa(m.count[k])+" times")
		}
	}
	for _, k := range []kind{kindMaxForwards, kindContentLength, kindContentType} {
		if m.count[k] > 1 {
			return newFault(400, "Duplicate "+kindNames[k], "duplicate_header", kindNames[k]+" given "+strconv.Itoa(m.count[k])+" times")
		}
	}
	return nil
}

// values checks the values of the headers the gateway reads, and rewrites
// them in plain form (in place, in m.headers).
func (m *message) values() *fault {
	for i := range m.headers {
		h := &m.headers[i]
		plain, err := h.value, error(nil)
		switch h.kind {
		case kindCSeq:
			var method string
			plain, method, err = plainCSeq(h.value)
			if err == nil && m.request && method != m.method {
				return newFault(400, "CSeq Method Mismatch", "cseq_mismatch", "CSeq method "+truncate(method, 32)+" is not the request's "+truncate(m.method, 32))
			}
		case kindCallID:
			err = checkCallID(h.value)
		case kindFrom, kindTo:
			plain, err = plainAddress(h.value, false)
		case kindContact:
			if h.value != "*" {
				plain, err = plainAddressList(h.value, false)
			}
		case kindRoute, kindRecordRoute:
			plain, err = plainAddressList(h.value, true)
		case kindVia:
			if i == m.first[kindVia] && len(m.topRest) == 0 {
				plain = m.topPlain // read already (readTopVia)
				break
			}
			plain, err = plainViaList(h.value)
		case kindMaxForwards:
			err = checkNumber(h.value, 255)
		case kindContentLength:
			err = checkNumber(h.value, 1<<30)
		case kindContentType:
			plain, err = plainMediaType(h.value)
		case kindExpires:
			if m.request && isDigits(h.value) {
				err = checkNumber(h.value, 1<<32-1)
			}
		}
		if err != nil {
			name := kindNames[h.kind]
			return newFault(400, "Bad "+name, "bad_"+labelOf(h.kind), name+": "+err.Error())
		}
		h.value, h.plain = plain, true
	}
	if m.request && m.method == "INVITE" && !hasTag(m.headers[m.first[kindFrom]].value) {
		// RFC 3261 8.1.1.3 requires the tag; without it (RFC 2543) no
		// dialog can be told apart from the next one.
		return newFault(400, "Missing From Tag", "missing_header", "an INVITE without a From tag (RFC 2543 style) cannot start a dialog")
	}
	return nil
}

// readBody finds the body (RFC 3261 18.3) and checks it against
// Content-Length, Content-Type and the limits.
func (m *message) readBody(body []byte, complete, datagram bool, maxBody int) *fault {
	length := -1
	if i := m.first[kindContentLength]; i >= 0 {
		length, _ = strconv.Atoi(m.headers[i].value)
	}
	switch {
	case !complete:
		body = nil
	case length < 0 && !datagram:
		if m.request {
			return newFault(400, "Missing Content-Length", "missing_header", "no Content-Length on a stream")
		}
	case length >= 0 && len(body) < length:
		return newFault(400, "Body Shorter Than Content-Length", "short_body",
			"Content-Length is "+strconv.Itoa(length)+" but the body has "+strconv.Itoa(len(body))+" bytes")
	case length >= 0:
		// UDP: octets after the body are discarded (RFC 3261 18.3).
		body = body[:length]
	}
	if len(body) > maxBody {
		return newFault(513, "Message Too Large", "too_large", "the body is "+strconv.Itoa(len(body))+" bytes, more than the "+strconv.Itoa(maxBody)+" accepted")
	}
	if len(body) > 0 && m.first[kindContentType] < 0 {
		return newFault(400, "Missing Content-Type", "missing_header", "a body without Content-Type")
	}
	m.body = body
	return nil
}

// write appends the message in plain form to dst.
func (c *Checker) write(m *message, dst []byte) []byte {
	if m.request {
		dst = append(dst, m.method...)
		dst = append(dst, ' ')
		dst = append(dst, m.uri...)
		dst = append(dst, " SIP/2.0\r\n"...)
	} else {
		dst = append(dst, "SIP/2.0 "...)
		dst = strconv.AppendInt(dst, int64(m.code), 10)
		dst = append(dst, ' ')
		dst = append(dst, m.reason...)
		dst = append(dst, "\r\n"...)
	}
	for _, h := range m.headers {
		if h.kind == kindContentLength {
			continue // written below, from the body read
		}
		if h.kind.isList() {
			// One header per value, already plain and split by "\x00".
			for v := range strings.SplitSeq(h.value, "\x00") {
				dst = appendHeader(dst, h.name, v)
			}
			continue
		}
		dst = appendHeader(dst, h.name, h.value)
	}
	dst = append(dst, "Content-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(m.body)), 10)
	dst = append(dst, "\r\n\r\n"...)
	return append(dst, m.body...)
}

// hasTag reports whether an address in plain form carries a tag parameter.
func hasTag(plain string) bool {
	gt := strings.LastIndexByte(plain, '>')
	return gt >= 0 && strings.Contains(strings.ToLower(plain[gt:]), ";tag=")
}

func appendHeader(dst []byte, name, value string) []byte {
	dst = append(dst, name...)
	dst = append(dst, ": "...)
	dst = append(dst, value...)
	return append(dst, "\r\n"...)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// checkNumber accepts 1*DIGIT up to max.
func checkNumber(s string, max uint64) error {
	if !isDigits(s) {
		return errorf("%q is not a number", truncate(s, 32))
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > max {
		return errorf("%s is more than %d", truncate(s, 32), max)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
