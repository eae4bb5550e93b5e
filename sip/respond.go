package sip

import (
	"errors"
	"strings"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/teamline/teamline/sip/intake"
)

// Decisions. A handler returns one of these (or nil for 200 OK); statusFor
// turns it into the SIP status line, and response adds the headers the RFC
// requires with it. This is the one place where errors become SIP codes.
var (
	errTelephonyDisabled = errors.New("sip: telephony disabled")
	errNoRoute           = errors.New("sip: no route")
	errNoDialog          = errors.New("sip: call or transaction does not exist")
	errRegistrarDisabled = errors.New("sip: registrar not enabled")
	errMethodNotAllowed  = errors.New("sip: method not allowed")
	errBadExtension      = errors.New("sip: required extension not supported")
	errShuttingDown      = errors.New("sip: server shutting down")
	errInternal          = errors.New("sip: internal error")
)

// telephonyDisabledError carries the operator-facing reason to the Warning
// header.
type telephonyDisabledError struct{ reason string }

func (e *telephonyDisabledError) Error() string {
	if e.reason == "" {
		return errTelephonyDisabled.Error()
	}
	return errTelephonyDisabled.Error() + ": " + e.reason
}

func (e *telephonyDisabledError) Unwrap() error { return errTelephonyDisabled }

// badExtensionError carries the option tags we do not support to the
// Unsupported header (RFC 3261 8.2.2.3).
type badExtensionError struct{ tags []string }

func (e *badExtensionError) Error() string {
	return errBadExtension.Error() + ": " + strings.Join(e.tags, ", ")
}

func (e *badExtensionError) Unwrap() error { return errBadExtension }

// reply is a decision that carries its own status and headers: the
// registrar's 200 with the bindings, digest challenges, 423 with
// Min-Expires, and the B2BUA's final answers. drop means no response at all
// (a blocked address, a scanner when unknown sources are dropped).
type reply struct {
	code    int
	reason  string
	headers []gosip.Header
	body    []byte
	drop    bool
	// why is logged, never sent.
	why string
}

func (r *reply) Error() string {
	if r.why != "" {
		return r.reason + ": " + r.why
	}
	return r.reason
}

// errDrop: send nothing.
var errDrop = &reply{drop: true, reason: "dropped"}

// statusFor maps a handler's decision to a status code and reason phrase.
func statusFor(err error) (int, string) {
	var r *reply
	switch {
	case err == nil:
		return 200, "OK"
	case errors.As(err, &r):
		return r.code, r.reason
	case errors.Is(err, errTelephonyDisabled):
		// RFC 3261 21.4.18: callee's end system reached but not available
		// now; a trunk may try another gateway, and nothing is wrong with
		// the request itself. The Warning header says why.
		return 480, "Temporarily Unavailable"
	case errors.Is(err, errNoRoute):
		// RFC 3261 21.4.4: the user does not exist at this domain. The
		// reason phrase may differ from the RFC's (21): it tells the
		// operator it is a routing gap, not a bad number.
		return 404, "No Route"
	case errors.Is(err, errNoDialog):
		// RFC 3261 12.2.2 and 15.1.2: in-dialog request (BYE, re-INVITE,
		// CANCEL) for a dialog or transaction we do not know.
		return 481, "Call/Transaction Does Not Exist"
	case errors.Is(err, errRegistrarDisabled):
		// RFC 3261 21.4.3: understood but refused, and "authorization will
		// not help": retrying with credentials is pointless until an
		// operator enables the registrar. Chosen over 501 (which says the
		// method is unknown to us; meant for unrecognised methods) and 405
		// (which phones show as a protocol error). Phones show "403
		// Forbidden", the answer a PBX without that account gives.
		return 403, "Registrar Not Enabled"
	case errors.Is(err, errMethodNotAllowed):
		// RFC 3261 21.4.6; the response carries Allow.
		return 405, "Method Not Allowed"
	case errors.Is(err, errBadExtension):
		// RFC 3261 8.2.2.3; the response carries Unsupported.
		return 420, "Bad Extension"
	case errors.Is(err, errShuttingDown):
		// RFC 3261 21.5.4; without Retry-After the peer treats it as a 500
		// and fails over to another gateway, which is what we want.
		return 503, "Service Unavailable"
	default: // errInternal and anything unforeseen
		return 500, "Server Internal Error"
	}
}

// allowedMethods is the Allow header value (RFC 3261 20.5): the methods this
// server answers with something other than 405. REGISTER is left out until
// the registrar exists.
const allowedMethods = "INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, REGISTER, INFO"

// acceptedTypes is the Accept header value (RFC 3261 20.1): bodies we
// understand. text/plain joins when MESSAGE is routed.
const acceptedTypes = "application/sdp"

// response builds the final response for req given the handler's decision.
func (s *Server) response(req *gosip.Request, err error) *gosip.Response {
	code, reason := statusFor(err)
	var body []byte
	if r := (*reply)(nil); errors.As(err, &r) {
		body = r.body
	}
	res := gosip.NewResponseFromRequest(req, code, reason, body)
	res.AppendHeader(gosip.NewHeader("Server", s.opts.userAgent))

	var disabled *telephonyDisabledError
	var badExt *badExtensionError
	var rep *reply
	switch {
	case errors.As(err, &rep):
		for _, h := range rep.headers {
			res.AppendHeader(h)
		}
	case err == nil && req.Method == gosip.OPTIONS:
		// RFC 3261 11.2: a 200 to OPTIONS SHOULD list what we support.
		res.AppendHeader(gosip.NewHeader("Allow", allowedMethods))
		res.AppendHeader(gosip.NewHeader("Accept", acceptedTypes))
		res.AppendHeader(gosip.NewHeader("Accept-Encoding", "identity"))
		res.AppendHeader(gosip.NewHeader("Accept-Language", "en"))
	case errors.As(err, &disabled):
		text := "telephony disabled"
		if disabled.reason != "" {
			text += ": " + disabled.reason
		}
		res.AppendHeader(gosip.NewHeader("Warning", warning(text)))
	case errors.Is(err, errMethodNotAllowed):
		// RFC 3261 21.4.6: a 405 MUST carry Allow.
		res.AppendHeader(gosip.NewHeader("Allow", allowedMethods))
	case errors.As(err, &badExt):
		// RFC 3261 8.2.2.3: list the option tags we do not understand.
		res.AppendHeader(gosip.NewHeader("Unsupported", strings.Join(badExt.tags, ", ")))
	}
	return res
}

// warning formats a 399 Warning header value (RFC 3261 20.43), the same for
// the intake's refusals and the gateway's own: intake.Warning.
func warning(text string) string { return intake.Warning(text) }
