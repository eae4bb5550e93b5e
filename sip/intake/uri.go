package intake

import (
	"errors"
	"strings"
)

// uriScheme returns the scheme of an absolute URI (RFC 3986 3.1: ALPHA
// *( ALPHA / DIGIT / "+" / "-" / "." ) ":"), or "" if there is none.
func uriScheme(uri string) string {
	i := strings.IndexByte(uri, ':')
	if i <= 0 {
		return ""
	}
	s := uri[:i]
	if !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return ""
	}
	for j := 1; j < len(s); j++ {
		if c := s[j]; !isAlnum(c) && c != '+' && c != '-' && c != '.' {
			return ""
		}
	}
	return s
}

// checkURI checks a URI in a header: any scheme (RFC 3261 19: headers may
// carry other URIs, e.g. http or tel), no whitespace; sip and sips URIs are
// checked as in the Request-URI.
func checkURI(uri string) error {
	scheme := uriScheme(uri)
	if scheme == "" || len(uri) == len(scheme)+1 {
		return errorf("%q is not a URI", truncate(uri, 32))
	}
	if strings.EqualFold(scheme, "sip") || strings.EqualFold(scheme, "sips") {
		return checkSIPURI(uri[len(scheme)+1:], true)
	}
	for i := 0; i < len(scheme); i++ {
		if !isAlpha(scheme[i]) {
			// RFC 3986 allows digits, "+", "-" and "." in a scheme; the
			// SIP stack behind reads letters only, and would drop the
			// message unanswered.
			return errorf("URI scheme %q is not supported", truncate(scheme, 32))
		}
	}
	return nil
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// checkRequestURI checks the Request-URI: sip, sips or tel (RFC 3261
// 8.2.2.1: another scheme is 416), and a well-formed URI of that scheme.
func checkRequestURI(uri string) *fault {
	if uri[0] == '<' {
		return newFault(400, "Bad Request Line", "bad_request_line", "the Request-URI must not be in <>")
	}
	scheme := uriScheme(uri)
	if scheme == "" {
		return newFault(400, "Bad Request-URI", "bad_request_uri", "the Request-URI has no scheme")
	}
	var err error
	switch strings.ToLower(scheme) {
	case "sip", "sips":
		err = checkSIPURI(uri[len(scheme)+1:], false)
		if errors.Is(err, errURIHeaders) {
			// RFC 3261 19.1.5: headers in a Request-URI are for building
			// a request, never present in one received.
			return newFault(400, "Bad Request-URI", "bad_request_uri", "the Request-URI carries headers (?...)")
		}
	case "tel":
		err = checkTelURI(uri[len(scheme)+1:])
	default:
		return newFault(416, "Unsupported URI Scheme", "bad_uri_scheme", "URI scheme "+truncate(scheme, 32)+" is not supported: sip, sips or tel")
	}
	if err != nil {
		return newFault(400, "Bad Request-URI", "bad_request_uri", "Request-URI: "+err.Error())
	}
	return nil
}

// errURIHeaders: a sip URI with headers where none may be.
var errURIHeaders = errors.New("headers in the URI")

// checkSIPURI checks the part of a sip or sips URI after the scheme (RFC
// 3261 19.1.1, 25.1): [ userinfo "@" ] hostport uri-parameters [ headers ].
// The userinfo ends at the last "@": the user and password may hold ";",
// "?" and "," (user-unreserved, RFC 4475 3.1.1.2 and 3.1.1.9), but neither
// parameters nor headers hold an unescaped "@".
func checkSIPURI(s string, headersOK bool) error {
	if hasAny(s, notInSIPURI) {
		return errors.New("whitespace, quote or <> in the URI")
	}
	if at := strings.LastIndexByte(s, '@'); at >= 0 {
		if at == 0 {
			return errors.New("empty user part")
		}
		if err := checkEscapes(s[:at]); err != nil {
			return err
		}
		s = s[at+1:]
	}
	if q := strings.IndexByte(s, '?'); q >= 0 {
		if !headersOK {
			return errURIHeaders
		}
		s = s[:q]
	}
	if s == "" {
		return errors.New("no host")
	}
	// An IPv6 address without brackets (RFC 5118 4.2) fails at the port:
	// its second colon is no port.
	_, rest, err := readHost(s)
	if err != nil {
		return err
	}
	if rest != "" && rest[0] == ':' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 1 || n > 6 || checkNumber(rest[1:n], 65535) != nil {
			return errors.New("bad port")
		}
		rest = rest[n:]
	}
	if rest != "" && rest[0] != ';' {
		return errorf("unexpected %q after the host", truncate(rest, 16))
	}
	return checkEscapes(rest)
}

// checkTelURI checks a tel URI (RFC 3966): a global number starting with
// "+" or a local one, with visual separators and parameters.
func checkTelURI(s string) error {
	number, _, _ := strings.Cut(s, ";")
	if number == "" || strings.Trim(number, "+0123456789-.()*#abcdefABCDEF%") != "" {
		return errorf("%q is not a telephone number", truncate(number, 32))
	}
	return checkEscapes(s)
}

// checkEscapes checks that every "%" starts an escape of two hex digits.
func checkEscapes(s string) error {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return errors.New("a % that is not an escape")
			}
			i += 2
		}
	}
	return nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
