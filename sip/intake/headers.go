package intake

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// kind is a header the intake reads; everything else is kindOther.
type kind uint8

const (
	kindOther kind = iota
	kindVia
	kindFrom
	kindTo
	kindCallID
	kindCSeq
	kindContact
	kindRoute
	kindRecordRoute
	kindMaxForwards
	kindContentLength
	kindContentType
	kindExpires
	kindCount
)

var kindNames = [kindCount]string{
	kindOther: "", kindVia: "Via", kindFrom: "From", kindTo: "To", kindCallID: "Call-ID", kindCSeq: "CSeq",
	kindContact: "Contact", kindRoute: "Route", kindRecordRoute: "Record-Route", kindMaxForwards: "Max-Forwards",
	kindContentLength: "Content-Length", kindContentType: "Content-Type", kindExpires: "Expires",
}

// labelOf is the metric label of a kind: its name in lower case.
func labelOf(k kind) string {
	return strings.ToLower(strings.ReplaceAll(kindNames[k], "-", "_"))
}

// isList: headers whose comma-separated values are written one per line.
func (k kind) isList() bool {
	return k == kindVia || k == kindContact || k == kindRoute || k == kindRecordRoute
}

// compact maps the compact forms of RFC 3261 7.3.3 (and later RFCs), by
// their letter, to their full names; sipgo and the logs then see one name
// per header.
var compact = func() (t [26]string) {
	for c, full := range map[byte]string{
		'v': "Via", 'f': "From", 't': "To", 'i': "Call-ID", 'm': "Contact", 'l': "Content-Length",
		'c': "Content-Type", 'e': "Content-Encoding", 'k': "Supported", 's': "Subject", 'o': "Event",
		'r': "Refer-To", 'u': "Allow-Events", 'a': "Accept-Contact", 'b': "Referred-By",
		'd': "Request-Disposition", 'x': "Session-Expires", 'y': "Identity", 'j': "Reject-Contact",
	} {
		t[c-'a'] = full
	}
	return t
}()

// kindOf returns the kind of a header name (any case, compact forms) and
// its full name. It runs for every header line, so it compares in place
// rather than lower-casing a copy.
func kindOf(name string) (kind, string) {
	if len(name) == 1 {
		if c := name[0] | 0x20; c >= 'a' && c <= 'z' && compact[c-'a'] != "" {
			name = compact[c-'a']
		}
	}
	for k := kindVia; k < kindCount; k++ {
		if len(kindNames[k]) == len(name) && strings.EqualFold(kindNames[k], name) {
			return k, kindNames[k]
		}
	}
	return kindOther, name
}

// IsToken reports whether s is an RFC 3261 25.1 token (so it can be echoed
// in a header safely, too).
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenChar(s[i]) {
			return false
		}
	}
	return true
}

func tokenChar(c byte) bool { return tokenChars[c] }

// tokenChars is the RFC 3261 25.1 token set, looked up per byte.
var tokenChars = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		t[c] = isAlnum(b) || strings.IndexByte("-.!%*_+`'~", b) >= 0
	}
	return t
}()

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

// byteSet is a set of bytes built once, for scans that run on every
// message (strings.ContainsAny and Trim build one per call).
type byteSet [256]bool

func newByteSet(chars string) *byteSet {
	var b byteSet
	for i := 0; i < len(chars); i++ {
		b[chars[i]] = true
	}
	return &b
}

// hasAny reports whether s holds a byte of set.
func hasAny(s string, set *byteSet) bool {
	for i := 0; i < len(s); i++ {
		if set[s[i]] {
			return true
		}
	}
	return false
}

// Sets of the scans below.
var (
	wsp          = newByteSet(" \t")
	notInAngle   = newByteSet(" \t<")
	notInAddrSpc = newByteSet(" \t,?>\"")
	notInSIPURI  = newByteSet(" \t<>\"")
)

// trimWSP, trimLeftWSP and trimRightWSP remove spaces and tabs.
func trimLeftWSP(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	return s
}

func trimRightWSP(s string) string {
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func trimWSP(s string) string { return trimRightWSP(trimLeftWSP(s)) }

// splitList splits a header value at the commas that separate its values
// (RFC 3261 7.3.1), not those inside quoted strings or <...>.
func splitList(v string) ([]string, error) {
	var out []string
	start, quoted, angle := 0, false, false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '<':
			angle = true
		case c == '>':
			angle = false
		case c == ',' && !angle:
			out = append(out, trimWSP(v[start:i]))
			start = i + 1
		}
	}
	if quoted {
		return nil, errors.New("unterminated quoted string")
	}
	out = append(out, trimWSP(v[start:]))
	for _, s := range out {
		if s == "" {
			return nil, errors.New("empty value in a list")
		}
	}
	return out, nil
}

// params reads ";name[=value]" pairs (RFC 3261 25.1 generic-param) with
// whitespace allowed around ";" and "=", and appends them in plain form.
// value is a token, a host (IPv6 references included) or a quoted string.
// found reports whether a parameter named want (any case) was among them.
func params(s string, dst []byte, want string) (_ []byte, found bool, _ error) {
	for {
		s = trimLeftWSP(s)
		if s == "" {
			return dst, found, nil
		}
		if s[0] != ';' {
			return nil, false, errorf("unexpected %q", truncate(s, 16))
		}
		s = trimLeftWSP(s[1:])
		n := 0
		for n < len(s) && tokenChar(s[n]) {
			n++
		}
		if n == 0 {
			return nil, false, errors.New("empty parameter name")
		}
		name := s[:n]
		s = trimLeftWSP(s[n:])
		value, has := "", false
		if s != "" && s[0] == '=' {
			has = true
			s = trimLeftWSP(s[1:])
			if s != "" && s[0] == '"' {
				end, err := quotedEnd(s)
				if err != nil {
					return nil, false, err
				}
				value, s = s[:end], s[end:]
			} else {
				n = 0
				for n < len(s) && (tokenChar(s[n]) || s[n] == '[' || s[n] == ']' || s[n] == ':') {
					n++
				}
				if n == 0 {
					return nil, false, errorf("parameter %s has no value", truncate(name, 32))
				}
				value, s = s[:n], s[n:]
			}
		}
		found = found || (want != "" && strings.EqualFold(name, want))
		dst = append(dst, ';')
		dst = append(dst, name...)
		if has {
			dst = append(dst, '=')
			dst = append(dst, value...)
		}
	}
}

// quotedEnd returns the index after the quoted string that starts s.
func quotedEnd(s string) (int, error) {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i + 1, nil
		}
	}
	return 0, errors.New("unterminated quoted string")
}

// via is what the intake needs of a Via: where an answer goes.
type via struct {
	transport string
	host      string
	port      int
	rport     bool
}

// plainVia reads one via-parm (RFC 3261 20.42, 25.1):
//
//	sent-protocol LWS sent-by *( SEMI via-params )
//	sent-protocol = protocol-name SLASH protocol-version SLASH transport
//	sent-by       = host [ COLON port ]
//
// with SWS around "/", ":", ";" and "=".
// It appends the via-parm in plain form to dst.
func plainVia(s string, dst []byte) (via, []byte, error) {
	var v via
	var parts [3]string
	for i := range 3 {
		s = trimLeftWSP(s)
		n := 0
		for n < len(s) && tokenChar(s[n]) {
			n++
		}
		if n == 0 {
			return v, nil, errors.New("no SIP/2.0/transport")
		}
		parts[i], s = s[:n], trimLeftWSP(s[n:])
		if i < 2 {
			if s == "" || s[0] != '/' {
				return v, nil, errors.New("no SIP/2.0/transport")
			}
			s = s[1:]
		}
	}
	if !strings.EqualFold(parts[0], "SIP") || parts[1] != "2.0" {
		return v, nil, errorf("protocol %s/%s is not SIP/2.0", truncate(parts[0], 16), truncate(parts[1], 16))
	}
	v.transport = strings.ToUpper(parts[2])
	// sent-by: a host, then optionally ":" port; the host of an IPv6
	// reference is in brackets (RFC 5118 4.5).
	if s == "" {
		return v, nil, errors.New("no sent-by host")
	}
	host, rest, err := readHost(s)
	if err != nil {
		return v, nil, err
	}
	v.host = host
	rest = trimLeftWSP(rest)
	if rest != "" && rest[0] == ':' {
		rest = trimLeftWSP(rest[1:])
		n := 0
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 0 || n > 5 {
			return v, nil, errors.New("bad sent-by port")
		}
		p := 0
		for _, c := range rest[:n] {
			p = p*10 + int(c-'0')
		}
		if p < 1 || p > 65535 {
			return v, nil, errors.New("sent-by port out of range")
		}
		v.port, rest = p, rest[n:]
	}
	dst = append(dst, "SIP/2.0/"...)
	dst = append(dst, v.transport...)
	dst = append(dst, ' ')
	dst = append(dst, host...)
	if v.port != 0 {
		dst = append(dst, ':')
		dst = appendInt(dst, v.port)
	}
	dst, rport, err := params(rest, dst, "rport")
	if err != nil {
		return v, nil, err
	}
	v.rport = rport
	return v, dst, nil
}

func appendInt(dst []byte, n int) []byte {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return append(dst, b[i:]...)
}

// readHost reads a host (RFC 3261 25.1: hostname, IPv4address or an
// IPv6reference in brackets) at the start of s.
func readHost(s string) (host, rest string, err error) {
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", errors.New("unterminated IPv6 reference")
		}
		if a, err := netip.ParseAddr(s[1:end]); err != nil || !a.Is6() || a.Zone() != "" {
			return "", "", errors.New("bad IPv6 reference")
		}
		return s[:end+1], s[end+1:], nil
	}
	n := 0
	for n < len(s) && (isAlnum(s[n]) || s[n] == '-' || s[n] == '.') {
		n++
	}
	if n == 0 {
		return "", "", errorf("bad host %q", truncate(s, 32))
	}
	return s[:n], s[n:], nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// plainViaList reads a Via header value (one or more via-parms) and returns
// the values in plain form joined by NUL.
func plainViaList(s string) (string, error) {
	return plainList(s, func(dst []byte, v string) ([]byte, error) {
		_, dst, err := plainVia(v, dst)
		return dst, err
	})
}

// plainList splits a list header's value (splitList), puts each value in
// plain form with appendOne and joins them by NUL.
func plainList(s string, appendOne func(dst []byte, v string) ([]byte, error)) (string, error) {
	vs, err := splitList(s)
	if err != nil {
		return "", err
	}
	dst := make([]byte, 0, len(s)+8)
	for i, v := range vs {
		if i > 0 {
			dst = append(dst, 0)
		}
		if dst, err = appendOne(dst, v); err != nil {
			return "", err
		}
	}
	return string(dst), nil
}

// plainAddress reads a From, To, Contact, Route or Record-Route value
// (RFC 3261 20.10, 25.1):
//
//	( name-addr / addr-spec ) *( SEMI param )
//	name-addr = [ display-name ] LAQUOT addr-spec RAQUOT
//	display-name = *(token LWS) / quoted-string
//
// and returns it as `display <uri>;params`. An addr-spec must not hold a
// comma, "?" or ";" (they would be ambiguous: 20.10); its parameters are
// header parameters. angleOnly: the value must be a name-addr (Route).
func plainAddress(s string, angleOnly bool) (string, error) {
	dst, err := appendAddress(make([]byte, 0, len(s)+2), s, angleOnly)
	return string(dst), err
}

func appendAddress(dst []byte, s string, angleOnly bool) ([]byte, error) {
	s = trimWSP(s)
	var display, uri, rest string
	switch lt := strings.IndexByte(s, '<'); {
	case s != "" && s[0] == '"':
		end, err := quotedEnd(s)
		if err != nil {
			return nil, errors.New("unterminated quoted display name")
		}
		display = s[:end]
		s = trimLeftWSP(s[end:])
		if s == "" || s[0] != '<' {
			return nil, errors.New("a quoted display name without <URI>")
		}
		fallthrough
	case lt >= 0:
		if display == "" {
			display = trimWSP(s[:strings.IndexByte(s, '<')])
			for w := range strings.FieldsSeq(display) {
				if !IsToken(w) {
					return nil, errorf("display name %q must be quoted", truncate(display, 32))
				}
			}
			display = strings.Join(strings.Fields(display), " ")
			s = s[strings.IndexByte(s, '<'):]
		}
		gt := strings.IndexByte(s, '>')
		if gt < 0 {
			return nil, errors.New("no > after <")
		}
		uri, rest = s[1:gt], s[gt+1:]
		if hasAny(uri, notInAngle) {
			return nil, errors.New("whitespace inside <URI>")
		}
	default:
		if angleOnly {
			return nil, errors.New("the URI must be in <>")
		}
		n := strings.IndexByte(s, ';')
		if n < 0 {
			n = len(s)
		}
		uri, rest = s[:n], s[n:]
		if hasAny(uri, notInAddrSpc) {
			return nil, errorf("URI %q must be in <> or is malformed", truncate(uri, 32))
		}
	}
	if err := checkURI(uri); err != nil {
		return nil, err
	}
	if display != "" {
		dst = append(dst, display...)
		dst = append(dst, ' ')
	}
	dst = append(dst, '<')
	dst = append(dst, uri...)
	dst = append(dst, '>')
	dst, _, err := params(rest, dst, "")
	return dst, err
}

// plainAddressList reads a list of addresses (Contact, Route,
// Record-Route) and returns them in plain form joined by NUL.
func plainAddressList(s string, angleOnly bool) (string, error) {
	return plainList(s, func(dst []byte, v string) ([]byte, error) { return appendAddress(dst, v, angleOnly) })
}

// maxCSeq: RFC 3261 8.1.1.5, the sequence number is below 2^31.
const maxCSeq = 1<<31 - 1

// plainCSeq reads `1*DIGIT LWS Method` (RFC 3261 20.16).
func plainCSeq(s string) (plain, method string, err error) {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	if n == 0 || n == len(s) || !isSpace(s[n]) {
		return "", "", errors.New("not a number and a method")
	}
	if n > 10 || checkNumber(s[:n], maxCSeq) != nil {
		return "", "", errorf("sequence number %s above 2^31-1", truncate(s[:n], 24))
	}
	method = trimLeftWSP(s[n:])
	if !IsToken(method) {
		return "", "", errorf("bad method %q", truncate(method, 32))
	}
	seq, _ := strconv.ParseUint(s[:n], 10, 32)
	return strconv.FormatUint(seq, 10) + " " + method, method, nil
}

// checkCallID: callid = word [ "@" word ] (RFC 3261 25.1): no whitespace.
func checkCallID(s string) error {
	if s == "" || hasAny(s, wsp) {
		return errors.New("must be one word without spaces")
	}
	return nil
}

// plainMediaType reads `type "/" subtype *( SEMI parameter )` (RFC 3261
// 20.15) with SWS around "/", ";" and "=".
func plainMediaType(s string) (string, error) {
	t, rest, ok := strings.Cut(s, "/")
	t, rest = trimRightWSP(t), trimLeftWSP(rest)
	n := 0
	for n < len(rest) && tokenChar(rest[n]) {
		n++
	}
	if !ok || !IsToken(t) || n == 0 {
		return "", errorf("%q is not type/subtype", truncate(s, 32))
	}
	dst := make([]byte, 0, len(s))
	dst = append(dst, strings.ToLower(t)...)
	dst = append(dst, '/')
	dst = append(dst, strings.ToLower(rest[:n])...)
	dst, _, err := params(rest[n:], dst, "")
	return string(dst), err
}
