// Package sipcorpus is Teamline's own corpus of valid, tortuous and invalid
// SIP messages, written after the categories of RFC 4475 (SIP torture
// tests) and RFC 5118 (IPv6), plus the defects of issue 12, each with the
// exact answer docs/SIP-EDGE.md and the rest of the gateway promise.
// corpus_test.go sends every message over UDP and TCP to a real
// `teamline serve` and checks the answer; Load and Case.Render are here so
// that other tests (the intake's unit and fuzz tests) can reuse the files.
//
// # File format
//
// Each message is one file under testdata/ (valid/, invalid/, transaction/,
// application/, ipv6/, issue12/). It starts with a block of "# key: value"
// lines, then the message itself, written with LF line ends (Render turns
// every LF into CRLF):
//
//	# expect: 400            a status code; "drop" (nothing may come back) or
//	                         "pong" (a CRLF answers a CRLFCRLF keepalive)
//	# reason: Bad CSeq       the reason phrase (case-insensitive); optional
//	# warning: yes           the answer must carry a Warning (399 teamline)
//	# transport: both        udp, tcp or both (default both)
//	# source: trunk          trunk (the trunk's inbound address) or unknown
//	# answer-at: local       local (the sending socket) or alt (${ALT}), UDP
//	# auth: yes              ${AUTH} is a digest answer for bob (see below)
//	# quiet: yes             nothing but the answer may arrive afterwards
//	# why: ...               what the message tests and why this answer;
//	                         may be given on several lines
//
// The keys with two values (warning, auth, quiet: yes or no; source;
// answer-at) refuse any other, so that a typo cannot turn a check off.
//
// In the message, Render replaces:
//
//	${GW} ${GWHOST} ${GWPORT}        the gateway's listener of the transport
//	${LOCAL} ${LOCALHOST} ${LOCALPORT}  the sending socket
//	${ALT} ${ALTPORT}                a second UDP socket of the sender
//	${TRANSPORT}                     UDP or TCP, for the Via
//	${BRANCH} ${CALLID} ${TAG}       fresh per message
//	${CL}                            the length of the body (everything after
//	                                 the first empty line), computed last
//	${AUTH}                          an Authorization value (Digest, MD5) for
//	                                 the method and Request-URI of the message
//	${REPEAT:N:TEXT}                 TEXT N times (TEXT without "}")
//
// and these escapes: \xHH one byte, \r \n \t, \\ a backslash; a backslash
// at the end of a line joins it with the next (for long lines). Trailing
// spaces that matter are written \x20 so that editors keep them.
package sipcorpus

import (
	"bytes"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Case is one corpus file.
type Case struct {
	// Name is the file's path below testdata, without ".sip"
	// (e.g. "invalid/badvers").
	Name string
	// Expect is a status code, "drop" or "pong".
	Expect string
	// Reason, when not empty, is the reason phrase the answer must have.
	Reason string
	// Warning says the answer must carry a Warning header.
	Warning bool
	// UDP and TCP say which transports the message is sent over.
	UDP, TCP bool
	// Unknown says the message comes from an address that is no trunk's.
	Unknown bool
	// AnswerAtAlt says the answer must reach ${ALT}, not the sender.
	AnswerAtAlt bool
	// Auth says the message carries ${AUTH}.
	Auth bool
	// Quiet says nothing but the answer may come back.
	Quiet bool
	// Why explains the message and its answer.
	Why string
	// Template is the message as written, header block removed.
	Template string
}

// Code returns the expected status code, or 0 for "drop" and "pong".
func (c *Case) Code() int {
	n, _ := strconv.Atoi(c.Expect)
	return n
}

// Load reads every .sip file below dir, sorted by name.
func Load(dir string) ([]*Case, error) {
	var cases []*Case
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".sip") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		c, err := Parse(filepath.ToSlash(strings.TrimSuffix(rel, ".sip")), string(b))
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		cases = append(cases, c)
		return nil
	})
	sort.Slice(cases, func(i, j int) bool { return cases[i].Name < cases[j].Name })
	return cases, err
}

// Parse reads one corpus file.
func Parse(name, text string) (*Case, error) {
	c := &Case{Name: name, UDP: true, TCP: true}
	var why []string
	for strings.HasPrefix(text, "# ") {
		line, rest, _ := strings.Cut(text, "\n")
		text = rest
		key, val, ok := strings.Cut(strings.TrimPrefix(line, "# "), ":")
		if !ok {
			return nil, fmt.Errorf("header line %q: no key", line)
		}
		val = strings.TrimSpace(val)
		var err error
		switch key = strings.TrimSpace(key); key {
		case "expect":
			if _, e := strconv.Atoi(val); e != nil && val != "drop" && val != "pong" {
				err = fmt.Errorf("expect %q: a status code, drop or pong", val)
			}
			c.Expect = val
		case "reason":
			c.Reason = val
		case "warning":
			c.Warning, err = either(key, val, "no", "yes")
		case "transport":
			switch val {
			case "udp":
				c.TCP = false
			case "tcp":
				c.UDP = false
			case "both":
			default:
				err = fmt.Errorf("transport %q: udp, tcp or both", val)
			}
		case "source":
			c.Unknown, err = either(key, val, "trunk", "unknown")
		case "answer-at":
			c.AnswerAtAlt, err = either(key, val, "local", "alt")
		case "auth":
			c.Auth, err = either(key, val, "no", "yes")
		case "quiet":
			c.Quiet, err = either(key, val, "no", "yes")
		case "why":
			why = append(why, val)
		default:
			err = fmt.Errorf("unknown header key %q", key)
		}
		if err != nil {
			return nil, err
		}
	}
	if c.Expect == "" {
		return nil, fmt.Errorf("no expect")
	}
	if len(why) == 0 {
		return nil, fmt.Errorf("no why")
	}
	if c.AnswerAtAlt && c.TCP {
		return nil, fmt.Errorf("answer-at alt needs transport udp")
	}
	c.Why = strings.Join(why, " ")
	c.Template = text
	return c, nil
}

// either reads a key with two values: false for off, true for on.
func either(key, val, off, on string) (bool, error) {
	switch val {
	case off:
		return false, nil
	case on:
		return true, nil
	}
	return false, fmt.Errorf("%s %q: %s or %s", key, val, off, on)
}

// Vars are the values Render puts in for the placeholders.
type Vars struct {
	GW, Local, Alt string // host:port
	Transport      string // UDP or TCP
	Branch, CallID string
	Tag            string
	// Auth computes ${AUTH} from the rendered message's method and
	// Request-URI; nil leaves the placeholder empty.
	Auth func(method, uri string) string
}

var (
	reRepeat = regexp.MustCompile(`\$\{REPEAT:(\d+):([^}]*)\}`)
	reVar    = regexp.MustCompile(`\$\{([A-Z0-9]+)\}`)
)

// Render turns the template into the bytes to send.
func (c *Case) Render(v Vars) ([]byte, error) {
	// Continuation lines first, then the CRLF line ends, so that \x0a
	// written in a file stays a bare LF.
	lines := strings.Split(c.Template, "\n")
	var b strings.Builder
	for i, l := range lines {
		if strings.HasSuffix(l, `\`) && !strings.HasSuffix(l, `\\`) {
			b.WriteString(strings.TrimSuffix(l, `\`))
			continue
		}
		b.WriteString(l)
		if i < len(lines)-1 {
			b.WriteString("\r\n")
		}
	}
	text := reRepeat.ReplaceAllStringFunc(b.String(), func(m string) string {
		p := reRepeat.FindStringSubmatch(m)
		n, _ := strconv.Atoi(p[1])
		return strings.Repeat(p[2], n)
	})
	host := func(hp string) string {
		h, _, err := net.SplitHostPort(hp)
		if err != nil {
			return hp
		}
		if strings.Contains(h, ":") {
			return "[" + h + "]" // an IPv6 host as URIs and Via write it
		}
		return h
	}
	port := func(hp string) string { _, p, _ := net.SplitHostPort(hp); return p }
	var unknown []string
	text = reVar.ReplaceAllStringFunc(text, func(m string) string {
		switch name := m[2 : len(m)-1]; name {
		case "GW":
			return v.GW
		case "GWHOST":
			return host(v.GW)
		case "GWPORT":
			return port(v.GW)
		case "LOCAL":
			return v.Local
		case "LOCALHOST":
			return host(v.Local)
		case "LOCALPORT":
			return port(v.Local)
		case "ALT":
			return v.Alt
		case "ALTPORT":
			return port(v.Alt)
		case "TRANSPORT":
			return v.Transport
		case "BRANCH":
			return v.Branch
		case "CALLID":
			return v.CallID
		case "TAG":
			return v.Tag
		case "CL", "AUTH":
			return m // filled in below, on the final bytes
		default:
			unknown = append(unknown, name)
			return m
		}
	})
	if len(unknown) > 0 {
		return nil, fmt.Errorf("unknown placeholders %v", unknown)
	}
	msg, err := unescape(text)
	if err != nil {
		return nil, err
	}
	if c.Auth {
		method, uri := "", ""
		if f := strings.Fields(string(firstLine(msg))); len(f) >= 2 {
			method, uri = f[0], f[1]
		}
		a := ""
		if v.Auth != nil {
			a = v.Auth(method, uri)
		}
		msg = bytes.ReplaceAll(msg, []byte("${AUTH}"), []byte(a))
	}
	if i := bytes.Index(msg, []byte("${CL}")); i >= 0 {
		// The body is what follows the first empty line after the
		// placeholder (a file holding two messages gives the second
		// its Content-Length by hand).
		rest := msg[i:]
		body := 0
		if j := bytes.Index(rest, []byte("\r\n\r\n")); j >= 0 {
			body = len(rest) - j - 4
		}
		msg = bytes.ReplaceAll(msg, []byte("${CL}"), []byte(strconv.Itoa(body)))
	}
	return msg, nil
}

// firstLine returns msg up to its first CRLF, after any leading CRLFs.
func firstLine(msg []byte) []byte {
	msg = bytes.TrimLeft(msg, "\r\n")
	if i := bytes.Index(msg, []byte("\r\n")); i >= 0 {
		return msg[:i]
	}
	return msg
}

// unescape resolves \xHH, \r, \n, \t and \\.
func unescape(s string) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			out = append(out, s[i])
			continue
		}
		i++
		switch s[i] {
		case 'x':
			if i+3 > len(s) {
				return nil, fmt.Errorf("short \\x escape at the end")
			}
			n, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return nil, fmt.Errorf("bad escape \\x%s", s[i+1:i+3])
			}
			out = append(out, byte(n))
			i += 2
		case 'r':
			out = append(out, '\r')
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case '\\':
			out = append(out, '\\')
		default:
			// Not an escape: a backslash as SIP text may carry one
			// (quoted-pair in a display name).
			out = append(out, '\\', s[i])
		}
	}
	return out, nil
}
