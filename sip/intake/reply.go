package intake

import (
	"crypto/rand"
	"encoding/hex"
	"net/netip"
	"strconv"
	"strings"
)

// maxWarning bounds the Warning text: it must fit a datagram with the rest
// of the response, and nobody reads a novel in a SIP trace.
const maxWarning = 200

// reply builds the answer to a refused request (RFC 3261 8.2.6): the
// request's Via headers (the top one stamped, stampVia), From, To (with a tag of ours when it has none),
// Call-ID and CSeq copied, so the sender's transaction matches it (17.1.3:
// by the top Via's branch and the CSeq method). A header that cannot be
// copied safely (a control character, not one line) is left out; the Via
// headers are copied as received, so the answer travels back the way the
// request came.
func (c *Checker) reply(m *message, f *fault) []byte {
	b := make([]byte, 0, 512)
	b = append(b, "SIP/2.0 "...)
	b = strconv.AppendInt(b, int64(f.code), 10)
	b = append(b, ' ')
	b = append(b, f.reason...)
	b = append(b, "\r\n"...)
	for i, h := range m.headers {
		if h.kind != kindVia {
			continue
		}
		v := h.value
		switch {
		case i == m.first[kindVia]:
			// The top Via as read, stamped, then the rest of its line.
			v = strings.Join(append([]string{stampVia(m.topPlain, m.topVia, m.src)}, m.topRest...), ", ")
		case h.plain:
			v = rawValue(v)
		}
		if safeValue(v) {
			b = appendHeader(b, "Via", v)
		}
	}
	for _, k := range []kind{kindFrom, kindTo, kindCallID, kindCSeq} {
		i := m.first[k]
		if i < 0 || !safeValue(m.headers[i].value) {
			continue
		}
		v := m.headers[i].value
		if k == kindTo && !strings.Contains(strings.ToLower(v), "tag=") {
			v += ";tag=" + newTag()
		}
		b = appendHeader(b, kindNames[k], v)
	}
	b = appendHeader(b, "Server", c.server)
	b = appendHeader(b, "Warning", Warning(f.detail))
	return append(b, "Content-Length: 0\r\n\r\n"...)
}

// rawValue undoes the NUL-joined form of a list already made plain.
func rawValue(v string) string { return strings.ReplaceAll(v, "\x00", ", ") }

// safeValue: a value that holds no control character and is not absurdly
// long can be echoed.
func safeValue(v string) bool {
	return v != "" && len(v) <= 8192 && controlByte(v) < 0
}

// newTag returns a random To tag (RFC 3261 19.3: at least 32 bits).
func newTag() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Warning formats a 399 Warning header value (RFC 3261 20.43):
//
//	warning-value = warn-code SP warn-agent SP warn-text
//	warn-text     = quoted-string
//
// 399 is "miscellaneous warning", free text for humans. The text is quoted
// and escaped (RFC 3261 25.1 quoted-pair), control characters are replaced,
// so a reason from elsewhere can neither break the quoting nor inject a
// header line, and it is bounded.
func Warning(text string) string {
	var b strings.Builder
	b.WriteString(`399 teamline "`)
	n := 0
	for _, r := range text {
		if n >= maxWarning {
			b.WriteString("...")
			break
		}
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || r == 0xfffd:
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
		n++
	}
	b.WriteByte('"')
	return b.String()
}

// stampVia adds to the plain top Via what a server adds there (RFC 3261
// 18.2.1, RFC 3581 4): received= with the address the request came from
// when the sent-by names another, and the source port as the value of an
// empty rport. Clients behind NAT learn their public address from them.
func stampVia(top string, v via, src netip.AddrPort) string {
	if !src.IsValid() {
		return top
	}
	ip := src.Addr().Unmap()
	parts := strings.Split(top, ";")
	out := parts[:1]
	for _, p := range parts[1:] {
		name, _, _ := strings.Cut(p, "=")
		switch {
		case strings.EqualFold(name, "received"):
			continue // ours replaces it
		case strings.EqualFold(p, "rport"):
			p = "rport=" + strconv.Itoa(int(src.Port()))
		}
		out = append(out, p)
	}
	if strings.Trim(v.host, "[]") != ip.String() {
		out = append(out, "received="+ip.String())
	}
	return strings.Join(out, ";")
}
